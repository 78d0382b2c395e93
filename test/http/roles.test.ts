import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app/services.js';
import { buildHttpApp } from '../../src/http/app.js';
import { ROLES, roleAllows, type Role } from '../../src/http/roles.js';
import { accessOf, ROUTE_ROLES } from '../../src/http/route-roles.js';
import { createTokensFile } from '../../src/http/tokens-file.js';
import { createLogger } from '../../src/shared/logger.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';
import { tokensFixture, type TokensFixture } from '../helpers/tokens.js';

const API_TOKEN = 'roles-test-api-token-0123456789';
const config = testConfig(uniquePrefix('http-roles'), { AUTOMOD_API_TOKEN: API_TOKEN });
/** One token per role, named after it. */
const ONE_PER_ROLE = Object.fromEntries(ROLES.map((role) => [role, role])) as Record<Role, Role>;

let services: Services;
let app: FastifyInstance;
let fixture: TokensFixture;
let tokens: ReturnType<typeof createTokensFile>;
const routes: { method: string; url: string }[] = [];

beforeAll(async () => {
  fixture = await tokensFixture(ONE_PER_ROLE);
  tokens = createTokensFile({ path: fixture.path, logger: createLogger(config) });
  await tokens.load();
  services = createServices(config, createLogger(config));
  app = await buildHttpApp({
    ...services,
    apiToken: API_TOKEN,
    tokens,
    webhookPublicKey: undefined,
    onRoute: (route) => {
      for (const method of [route.method].flat()) routes.push({ method, url: route.url });
    },
  });
  await app.ready();
});
afterAll(async () => {
  await app?.close();
  await services?.close();
  await testRedis(config).cleanup();
  await fixture?.cleanup();
});

type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
/** A concrete URL for a route pattern: parameters and wildcards filled in. */
const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, 'x').replace(/\*$/, 'x');
const call = (method: string, url: string, headers: Record<string, string>) =>
  app.inject({
    method: method as Method,
    url: concrete(url),
    headers,
    ...(method === 'POST' || method === 'PUT' || method === 'PATCH' ? { payload: {} } : {}),
  });

describe('the role table', () => {
  it('has a row for every route the server has, and no row for a route it does not have', () => {
    expect(routes.length).toBeGreaterThan(100);
    expect(routes.filter((r) => accessOf(r.method, r.url) === undefined)).toEqual([]);
    const served = new Set(routes.map((r) => `${r.method} ${r.url}`));
    for (const [route] of ROUTE_ROLES) {
      if (route.startsWith('* ')) {
        const prefix = route.slice(2, -'/**'.length);
        expect(
          routes.some((r) => r.url.startsWith(`${prefix}/`)),
          route,
        ).toBe(true);
      } else expect(served.has(route), route).toBe(true);
    }
  });

  it('refuses a route that has no row, when it is registered', async () => {
    const other = await buildHttpApp({ ...services, apiToken: API_TOKEN, webhookPublicKey: undefined });
    try {
      expect(() => other.get('/v1/everything', async () => ({ removed: 'everyone' }))).toThrow(
        'GET /v1/everything has no row in ROUTE_ROLES (src/http/route-roles.ts): say which role may call it',
      );
    } finally {
      await other.close();
    }
  });

  it('is what docs/reference.md lists under "Who may call what"', async () => {
    const reference = await readFile(new URL('../../docs/reference.md', import.meta.url), 'utf8');
    const section = reference.slice(reference.indexOf('\n### Who may call what\n'));
    const table = section.slice(section.indexOf('\n| route | role |\n'), section.indexOf('\n## ', 1));
    const rows = [...table.matchAll(/^\| `([^`]+)` \| (\w+) \|/gm)].map((m) => [m[1], m[2]]);
    expect(rows).toEqual(ROUTE_ROLES.map(([route, access]) => [route, access]));
  });
});

describe('every route, called with every role', () => {
  it('answers 403 ERR_FORBIDDEN naming the role needed where the role does not reach, and goes on to the route where it does', async () => {
    const guarded = routes.filter((r) => !['open', 'webhook'].includes(accessOf(r.method, r.url)!));
    expect(guarded.length).toBeGreaterThan(90);
    const outcomes: string[] = [];
    for (const route of guarded) {
      const access = accessOf(route.method, route.url)!;
      for (const role of ROLES) {
        const res = await call(route.method, route.url, fixture.bearer(role));
        const what = `${role} on ${route.method} ${route.url} (needs ${access})`;
        if (roleAllows(role, access)) {
          expect(res.statusCode, what).not.toBe(401);
          expect(res.statusCode, what).not.toBe(403);
        } else {
          expect(res.statusCode, what).toBe(403);
          if (route.method !== 'HEAD')
            expect(res.json(), what).toEqual({
              error: `token "${role}" has role ${role}: ${route.method} ${route.url} needs role ${access} (or one that includes it)`,
              code: 'ERR_FORBIDDEN',
              role: access,
            });
        }
        outcomes.push(`${role} ${route.method} ${route.url} ${res.statusCode === 403 ? 403 : 'in'}`);
      }
      // AUTOMOD_API_TOKEN is admin: everything.
      const admin = await call(route.method, route.url, { authorization: `Bearer ${API_TOKEN}` });
      expect([401, 403], `api on ${route.method} ${route.url}`).not.toContain(admin.statusCode);
    }
    // What the table means, spelled out for a few routes a leaked token would be tried on.
    expect(outcomes).toEqual(
      expect.arrayContaining([
        'gate GET /v1/gate in',
        'gate GET /v1/bans/check in',
        'gate POST /v1/removals 403',
        'gate GET /v1/audit 403',
        'gate POST /v1/events 403',
        'gate GET /metrics 403',
        'ingest POST /v1/events in',
        'ingest GET /v1/gate 403',
        'metrics GET /metrics in',
        'metrics GET /v1/audit 403',
        'moderator POST /v1/reviews/:id/approve in',
        'moderator POST /v1/bans in',
        'moderator POST /v1/lockdowns in',
        'moderator GET /v1/gate in',
        'moderator POST /v1/replay 403',
        'moderator POST /v1/removals 403',
        'moderator POST /v1/pause 403',
        'moderator GET /metrics 403',
        'moderator GET /admin/queues 403',
        'operator POST /v1/removals in',
        'operator POST /v1/replay in',
        'operator POST /v1/undo in',
        'operator GET /metrics in',
        'operator GET /admin/queues in',
        'operator POST /v1/events 403',
        'admin POST /v1/events in',
        'admin PUT /admin/queues/api/queues/:queueName/obliterate in',
      ]),
    );
  });

  it('answers 401, as before, for a token it does not know, on every guarded route and on unknown paths', async () => {
    for (const route of routes.filter((r) => !['open', 'webhook'].includes(accessOf(r.method, r.url)!))) {
      const res = await call(route.method, route.url, { authorization: `Bearer ${fixture.tokens.operator}x` });
      expect(res.statusCode, `${route.method} ${route.url}`).toBe(401);
    }
    expect((await app.inject({ url: '/v1/nothing-here', headers: fixture.bearer('gate') })).statusCode).toBe(404);
    expect((await app.inject({ url: '/v1/nothing-here' })).statusCode).toBe(401);
  });

  it('leaves the probes and the console files open', async () => {
    for (const url of ['/healthz', '/console', '/console/app.js']) expect((await app.inject({ url })).statusCode, url).toBe(200);
    expect([200, 503]).toContain((await app.inject({ url: '/readyz' })).statusCode);
  });
});

describe('GET /v1/whoami', () => {
  it('names the token and its role, and lists the routes the role may call', async () => {
    const moderator = (await app.inject({ url: '/v1/whoami', headers: fixture.bearer('moderator') })).json() as {
      name: string;
      role: string;
      allows: string[];
    };
    expect(moderator).toMatchObject({ name: 'moderator', role: 'moderator' });
    expect(moderator.allows).toEqual(expect.arrayContaining(['GET /v1/gate', 'POST /v1/reviews/:id/approve', 'GET /v1/whoami']));
    expect(moderator.allows).not.toContain('POST /v1/replay');
    expect(moderator.allows).not.toContain('GET /metrics');
    const gate = (await app.inject({ url: '/v1/whoami', headers: fixture.bearer('gate') })).json() as { allows: string[] };
    expect(gate.allows.sort()).toEqual(['GET /v1/bans/check', 'GET /v1/gate', 'GET /v1/whoami']);
    expect((await app.inject({ url: '/v1/whoami', headers: { authorization: `Bearer ${API_TOKEN}` } })).json()).toMatchObject({
      name: 'api',
      role: 'admin',
    });
    expect((await app.inject({ url: '/v1/whoami' })).statusCode).toBe(401);
  });
});

describe('Bull Board', () => {
  const basic = (password: string) => ({ authorization: `Basic ${Buffer.from(`anyone:${password}`).toString('base64')}` });

  it('takes a named token as the Basic password, and needs operator', async () => {
    expect((await app.inject({ url: '/admin/queues', headers: basic(fixture.tokens.operator!) })).statusCode).toBe(200);
    expect((await app.inject({ url: '/admin/queues/api/queues', headers: basic(fixture.tokens.admin!) })).statusCode).toBe(200);
    const moderator = await app.inject({ url: '/admin/queues/api/queues', headers: basic(fixture.tokens.moderator!) });
    expect(moderator.statusCode).toBe(403);
    expect(moderator.json()).toMatchObject({ code: 'ERR_FORBIDDEN', role: 'operator' });
    expect((await app.inject({ url: '/admin/queues', headers: basic('not-a-token') })).statusCode).toBe(401);
    // Basic is for the board only.
    expect((await app.inject({ url: '/v1/audit', headers: basic(fixture.tokens.operator!) })).statusCode).toBe(401);
  });
});

describe('the webhook', () => {
  const body = { webhookType: 'participant-joined', data: { meetingId: 'm', sessionId: 's-roles', participantId: 'p' } };
  const post = (query: string, headers: Record<string, string> = {}) =>
    app.inject({ method: 'POST', url: `/v1/webhooks/videosdk${query}`, payload: body, headers });

  it('takes a token that puts events in (ingest, admin) and no other, as bearer or ?token=', async () => {
    expect((await post(`?token=${fixture.tokens.ingest}`)).statusCode).toBe(202);
    expect((await post('', fixture.bearer('admin'))).statusCode).toBe(202);
    expect((await post(`?token=${API_TOKEN}`)).statusCode).toBe(202);
    for (const role of ['gate', 'metrics', 'moderator', 'operator'] as const) {
      expect((await post(`?token=${fixture.tokens[role]}`)).statusCode, role).toBe(401);
      expect((await post('', fixture.bearer(role))).statusCode, role).toBe(401);
    }
  });

  it('takes only AUTOMOD_WEBHOOK_TOKEN when it is set', async () => {
    const webhookToken = 'roles-test-webhook-token-0123';
    const own = await buildHttpApp({ ...services, apiToken: API_TOKEN, tokens, webhookToken, webhookPublicKey: undefined });
    try {
      const res = (query: string) => own.inject({ method: 'POST', url: `/v1/webhooks/videosdk${query}`, payload: body });
      expect((await res(`?token=${webhookToken}`)).statusCode).toBe(202);
      expect((await res(`?token=${API_TOKEN}`)).statusCode).toBe(401);
      expect((await res(`?token=${fixture.tokens.ingest}`)).statusCode).toBe(401);
    } finally {
      await own.close();
    }
  });
});
