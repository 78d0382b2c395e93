import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutomod } from '../../src/app/automod.js';
import { createServices, type Services } from '../../src/app/services.js';
import { buildHttpApp } from '../../src/http/app.js';
import { createLogger } from '../../src/shared/logger.js';
import type { AuditStore } from '../../src/store/audit.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const TOKEN = 'test-token-0123456789abcdef';
const config = testConfig(uniquePrefix('http-sec'), { AUTOMOD_API_TOKEN: TOKEN });
let services: Services;
let app: FastifyInstance;
const routes: { method: string; url: string }[] = [];
// The console's page and files hold no data (its data calls need the token, checked in test/console/).
const OPEN = new Set(['/healthz', '/readyz', '/console', '/console/:file']);

beforeAll(async () => {
  services = createServices(config, createLogger(config));
  app = await buildHttpApp({
    ...services,
    apiToken: TOKEN,
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
});

const bearer = { authorization: `Bearer ${TOKEN}` };
const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });
/** A concrete URL for a route pattern: parameters and wildcards filled in. */
const concrete = (url: string) => url.replace(/:[A-Za-z]+/g, 'x').replace(/\*$/, 'x');
type Method = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE' | 'OPTIONS';

describe('API token', () => {
  it('is required by every route except /healthz and /readyz (the webhook takes it as ?token= too)', async () => {
    expect(routes.length).toBeGreaterThan(20);
    expect(routes.map((r) => r.url)).toEqual(
      expect.arrayContaining(['/metrics', '/v1/removals', '/v1/replay', '/v1/audit', '/admin/queues', '/admin/queues/api/queues']),
    );
    for (const route of routes.filter((r) => !OPEN.has(r.url))) {
      const url = concrete(route.url);
      for (const headers of [
        {},
        { authorization: `Bearer ${TOKEN}x` },
        { authorization: `Bearer ${TOKEN.slice(0, -1)}` },
        { authorization: TOKEN },
        { authorization: 'Bearer ' },
      ]) {
        const res = await app.inject({
          method: route.method as Method,
          url,
          headers,
          ...(route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH' ? { payload: {} } : {}),
        });
        expect(res.statusCode, `${route.method} ${url} with ${JSON.stringify(headers)}`).toBe(401);
        if (route.method !== 'HEAD') expect(res.json(), `${route.method} ${url}`).toEqual({ error: expect.stringMatching(/API token/) });
      }
    }
  });

  it('serves the console page and files without it, but none of its data', async () => {
    expect((await app.inject({ url: '/console' })).statusCode).toBe(200);
    expect((await app.inject({ url: '/console/app.js' })).headers['content-security-policy']).toMatch(/script-src 'self'/);
    expect((await app.inject({ url: '/console/..%2Fpackage.json' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/v1/console/overview' })).statusCode).toBe(401);
    expect((await app.inject({ url: '/v1/reviews' })).statusCode).toBe(401);
  });

  it('lets /healthz and /readyz through without it, and answers 401 (not 404) for unknown paths', async () => {
    expect((await app.inject({ url: '/healthz' })).statusCode).toBe(200);
    expect([200, 503]).toContain((await app.inject({ url: '/readyz' })).statusCode);
    expect((await app.inject({ url: '/healthz?x=1' })).statusCode).toBe(200);
    const unknown = await app.inject({ url: '/v1/secret-things' });
    expect(unknown.statusCode).toBe(401);
    const known = await app.inject({ url: '/v1/secret-things', headers: bearer });
    expect(known.statusCode).toBe(404);
    expect(known.json()).toEqual({ error: 'no route GET /v1/secret-things' });
    // A spelling of an open path that routes elsewhere is not open.
    expect((await app.inject({ url: '/healthz/../metrics' })).statusCode).toBe(401);
  });

  it('opens the API with the right bearer token', async () => {
    expect((await app.inject({ url: '/v1/audit', headers: bearer })).statusCode).toBe(200);
    expect((await app.inject({ url: '/metrics', headers: { authorization: `bearer ${TOKEN}` } })).statusCode).toBe(200);
    // HTTP Basic is for the dashboard only.
    expect((await app.inject({ url: '/v1/audit', headers: basic('ops', TOKEN) })).statusCode).toBe(401);
  });

  it('accepts the webhook with ?token= or the bearer token, and refuses it without', async () => {
    const body = {
      webhookType: 'participant-joined',
      data: { meetingId: 'm', sessionId: 's-wh', participantId: 'p', participantName: 'P' },
    };
    expect((await app.inject({ method: 'POST', url: '/v1/webhooks/videosdk', payload: body })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: '/v1/webhooks/videosdk?token=nope', payload: body })).statusCode).toBe(401);
    expect((await app.inject({ method: 'POST', url: `/v1/webhooks/videosdk?token=${TOKEN}`, payload: body })).statusCode).toBe(202);
    expect(
      (
        await app.inject({
          method: 'POST',
          url: '/v1/webhooks/videosdk',
          payload: { ...body, data: { ...body.data, participantId: 'p2' } },
          headers: bearer,
        })
      ).statusCode,
    ).toBe(202);
  });
});

describe('dashboard (Bull Board at /admin/queues)', () => {
  it('asks a browser for the token with HTTP Basic, then serves the page, its assets and its API', async () => {
    const refused = await app.inject({ url: '/admin/queues' });
    expect(refused.statusCode).toBe(401);
    expect(refused.headers['www-authenticate']).toMatch(/^Basic realm=/);
    expect((await app.inject({ url: '/admin/queues', headers: basic('ops', 'wrong') })).statusCode).toBe(401);

    const page = await app.inject({ url: '/admin/queues', headers: basic('ops', TOKEN) });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toMatch(/text\/html/);
    expect(page.body).toContain('<title>meeting-automod</title>');
    // Everything the page loads is served here: an offline deployment shows it styled.
    expect([...page.body.matchAll(/(?:src|href)="(https?:[^"]+)"/g)].map((m) => m[1])).toEqual([]);
    const withBearer = await app.inject({ url: '/admin/queues', headers: bearer });
    expect(withBearer.statusCode).toBe(200);

    // The page's own scripts and styles sit behind the token as well.
    const assets = [...page.body.matchAll(/(?:src|href)="(static\/[^"]+)"/g)].map((m) => `/admin/queues/${m[1]}`);
    expect(assets.length).toBeGreaterThan(2);
    for (const asset of assets) {
      expect((await app.inject({ url: asset })).statusCode, asset).toBe(401);
      expect((await app.inject({ url: asset, headers: basic('', TOKEN) })).statusCode, asset).toBe(200);
    }

    const api = await app.inject({ url: '/admin/queues/api/queues', headers: basic('ops', TOKEN) });
    expect(api.statusCode).toBe(200);
    const queues = (api.json() as { queues: { name: string; isPaused: boolean }[] }).queues;
    expect(queues.map((q) => q.name).sort()).toEqual(['events', 'notifications', 'removals']);
  });
});

describe('requests and errors', () => {
  it('refuses a body over 1 MB with 413 and a JSON message', async () => {
    const big = JSON.stringify({ type: 'custom', sessionId: 's', data: { blob: 'x'.repeat(1024 * 1024) } });
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      payload: big,
      headers: { ...bearer, 'content-type': 'application/json' },
    });
    expect(res.statusCode).toBe(413);
    expect(res.json()).toMatchObject({ error: 'request body is larger than the limit (1 MB)' });
  });

  it('answers malformed requests with 400/415 JSON, never a stack trace', async () => {
    const cases: { payload: string; type: string; status: number; error: RegExp }[] = [
      { payload: '{"type": "chat-message",', type: 'application/json', status: 400, error: /^bad request: / },
      {
        payload: '{"type":"custom","sessionId":"s","__proto__":{"x":1}}',
        type: 'application/json',
        status: 400,
        error: /^key __proto__ at \$ is not allowed \(prototype pollution guard\)$/,
      },
      {
        payload: '{"type":"custom","sessionId":"s","data":{"\\u005f_proto__":{"x":1}}}',
        type: 'application/json',
        status: 400,
        error: /^key __proto__ at \$\.data is not allowed/,
      },
      {
        payload: '[{"type":"custom","sessionId":"s","constructor":{"prototype":{"x":1}}}]',
        type: 'application/json',
        status: 400,
        error: /^key constructor\.prototype at \$\[0\] is not allowed/,
      },
      { payload: '', type: 'application/json', status: 400, error: /^bad request: body is not valid JSON \(the body is empty\)/ },
      { payload: 'type=custom', type: 'text/plain', status: 400, error: /^invalid event: \$: must be a JSON object/ },
      { payload: '<event/>', type: 'application/xml', status: 415, error: /^unsupported content type/ },
    ];
    for (const c of cases) {
      const res = await app.inject({
        method: 'POST',
        url: '/v1/events',
        payload: c.payload,
        headers: { ...bearer, 'content-type': c.type },
      });
      expect(res.statusCode, c.payload).toBe(c.status);
      const body = res.json() as Record<string, unknown>;
      expect(body.error).toMatch(c.error);
      expect(res.body).not.toMatch(/ at .*\.(js|ts):\d+/);
      expect(body).not.toHaveProperty('stack');
    }
  });

  it('answers an invalid event with 400, details naming each path, and counts it', async () => {
    const before = await invalidCount();
    const queuedBefore = await services.queues.events.getJobCountByTypes('waiting', 'prioritized');
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: bearer,
      payload: [
        { type: 'chat-message', sessionId: 's', participantId: 'p', data: { text: 'hi' } },
        { type: 'chat-message', participantId: 'p' },
        { type: 'participant-joined', sessionId: 's' },
      ],
    });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { error: string; details: { path: string; message: string }[] };
    expect(body.error).toMatch(/invalid event/);
    expect(body.details).toEqual(
      expect.arrayContaining([
        { path: '$[1].sessionId', message: expect.any(String) },
        { path: '$[2].participantId', message: expect.stringMatching(/required/) },
      ]),
    );
    expect(await invalidCount()).toBe(before + 1);
    // Nothing of the batch was queued.
    expect(await services.queues.events.getJobCountByTypes('waiting', 'prioritized')).toBe(queuedBefore);
  });

  it('hides internal errors behind a plain 500', async () => {
    const failingAudit: AuditStore = {
      append: () => Promise.reject(new Error('boom at /secret/path.ts:12')),
      query: () => Promise.reject(new Error('boom at /secret/path.ts:12')),
      // eslint-disable-next-line require-yield -- a scan that fails before its first record
      scan: async function* () {
        throw new Error('boom at /secret/path.ts:12');
      },
    };
    const broken = await buildHttpApp({
      ...services,
      logger: createLogger({ logLevel: 'silent' }),
      audit: failingAudit,
      apiToken: TOKEN,
      webhookPublicKey: undefined,
    });
    try {
      const res = await broken.inject({ url: '/v1/audit', headers: bearer });
      expect(res.statusCode).toBe(500);
      expect(res.json()).toEqual({ error: 'internal error; see the worker log' });
    } finally {
      await broken.close();
    }
  });
});

async function invalidCount(): Promise<number> {
  const metric = await services.metrics.invalidEvents.get();
  return metric.values.find((v) => v.labels.source === 'http')?.value ?? 0;
}

describe('error-reply amplification', () => {
  it('refuses more than AUTOMOD_INGEST_MAX_EVENTS events with 413 before validating any of them', async () => {
    // The issue's attack: 300,000 empty objects (900 KB).
    const junk = `[${Array(300_000).fill('{}').join(',')}]`;
    const res = await app.inject({
      method: 'POST',
      url: '/v1/events',
      payload: junk,
      headers: { ...bearer, 'content-type': 'application/json' },
    });
    // 413, not the 400 that validating 300,000 empty objects would answer: refused before any was validated.
    expect(res.statusCode).toBe(413);
    expect(res.json()).toEqual({
      error: 'too many events in one request: 300000, at most 1000 (AUTOMOD_INGEST_MAX_EVENTS); send smaller batches',
      code: 'ERR_TOO_MANY_EVENTS',
    });
    const over = Array.from({ length: 1001 }, (_, i) => ({ type: 'custom', sessionId: `s-${i}` }));
    expect((await app.inject({ method: 'POST', url: '/v1/events', payload: over, headers: bearer })).statusCode).toBe(413);
  });

  it('lists the first 20 problems once each and counts the rest', async () => {
    const res = await app.inject({ method: 'POST', url: '/v1/events', payload: Array(1000).fill({}), headers: bearer });
    expect(res.statusCode).toBe(400);
    const body = res.json() as { error: string; details: { path: string }[]; moreProblems: number };
    // Every empty object lacks a type and a sessionId: 2,000 problems.
    expect(body.details).toHaveLength(20);
    expect(body.moreProblems).toBe(1980);
    expect(body.error).toBe('invalid event: 2000 problems, the first 20 listed in details');
    expect(new Set(body.details.map((d) => d.path)).size).toBe(20);
    expect(res.body.length).toBeLessThan(3000);
  });

  it('lets a batch at the cap through', async () => {
    const batch = Array.from({ length: 1000 }, (_, i) => ({ type: 'custom-cap', sessionId: `cap-${i}` }));
    const res = await app.inject({ method: 'POST', url: '/v1/events', payload: batch, headers: bearer });
    expect(res.statusCode).toBe(202);
    expect(res.json()).toMatchObject({ accepted: 1000 });
  });
});

describe('webhooks without a public key', () => {
  const joined = (sid: string) =>
    JSON.stringify({
      webhookType: 'participant-joined',
      data: { meetingId: 'm', sessionId: sid, participantId: 'p', participantName: 'P' },
    });

  it('count a replayed or redelivered webhook once: its id is the digest of its bytes', async () => {
    const body = joined('s-replay-token');
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/webhooks/videosdk?token=${TOKEN}`,
        payload: body,
        headers: { 'content-type': 'application/json' },
      });
      expect(res.statusCode).toBe(202);
      answers.push(res.json() as { accepted: number; duplicates: number; ids: string[] });
    }
    expect(answers.map((a) => [a.accepted, a.duplicates])).toEqual([
      [1, 0],
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
    expect(new Set(answers.map((a) => a.ids[0])).size).toBe(1);
    expect(answers[0]!.ids[0]).toMatch(/^webhook-[0-9a-f]{64}$/);
  });

  it('take any content type, or none, and answer 400 when the bytes are not JSON', async () => {
    for (const [i, type] of ['text/plain', 'application/x-www-form-urlencoded', 'application/octet-stream', undefined].entries()) {
      const res = await app.inject({
        method: 'POST',
        url: `/v1/webhooks/videosdk?token=${TOKEN}`,
        payload: joined(`s-ct-${i}`),
        headers: type ? { 'content-type': type } : {},
      });
      expect(res.statusCode, String(type)).toBe(202);
    }
    const bad = await app.inject({
      method: 'POST',
      url: `/v1/webhooks/videosdk?token=${TOKEN}`,
      payload: 'webhookType=participant-joined',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toMatchObject({ error: expect.stringMatching(/body is not valid JSON/) });
  });
});

describe('authentic webhooks with nothing to moderate', () => {
  it('answer 200 "ignored", are counted by reason and logged once per reason at info', async () => {
    const lines: string[] = [];
    const logger = createLogger({ logLevel: 'info', logFormat: 'json' }, { write: (line: string) => void lines.push(line) });
    const own = await buildHttpApp({ ...services, logger, apiToken: TOKEN, webhookPublicKey: undefined });
    try {
      const ignored = async () => {
        const metric = await services.metrics.webhooksIgnored.get();
        return Object.fromEntries(metric.values.map((v) => [String(v.labels.reason), v.value]));
      };
      const before = await ignored();
      const bodies: [unknown, string][] = [
        [{ webhookType: 'session-started' }, 'no-session'],
        [{ webhookType: 'session-started', data: { meetingId: 'm' } }, 'no-session'],
        [{ webhookType: 'recording-started', data: { meetingId: 'm', sessionId: '' } }, 'no-session'],
        [{ webhookType: 'participant-joined', data: { meetingId: 'm', sessionId: 's-none' } }, 'no-participant'],
        [{ type: 'chat-message', data: { sessionId: 's-none', participantId: null } }, 'no-participant'],
      ];
      for (const [payload, reason] of bodies) {
        const res = await own.inject({ method: 'POST', url: `/v1/webhooks/videosdk?token=${TOKEN}`, payload: payload as object });
        expect(res.statusCode, JSON.stringify(payload)).toBe(200);
        expect(res.json()).toEqual({ ignored: true, reason, message: expect.any(String) });
      }
      const after = await ignored();
      expect((after['no-session'] ?? 0) - (before['no-session'] ?? 0)).toBe(3);
      expect((after['no-participant'] ?? 0) - (before['no-participant'] ?? 0)).toBe(2);
      const logged = lines
        .map((l) => JSON.parse(l) as { level: number; msg: string; reason?: string })
        .filter((l) => /ignored/.test(l.msg));
      expect(logged.map((l) => [l.level, l.reason])).toEqual([
        [30, 'no-session'],
        [30, 'no-participant'],
      ]);
      // Not authentic: refused before anything is read.
      const unauthenticated = await own.inject({
        method: 'POST',
        url: '/v1/webhooks/videosdk',
        payload: { webhookType: 'session-started' },
      });
      expect(unauthenticated.statusCode).toBe(401);
    } finally {
      await own.close();
    }
  });
});

describe('AUTOMOD_WEBHOOK_TOKEN', () => {
  const WEBHOOK_TOKEN = 'webhook-token-0123456789abcdef';
  let own: FastifyInstance;
  beforeAll(async () => {
    own = await buildHttpApp({ ...services, apiToken: TOKEN, webhookToken: WEBHOOK_TOKEN, webhookPublicKey: undefined });
    await own.ready();
  });
  afterAll(async () => {
    await own?.close();
  });
  const body = (sid: string) => ({ webhookType: 'session-started', data: { meetingId: 'm', sessionId: sid } });

  it('is what the webhook takes, as ?token= or bearer; the API token no longer opens it', async () => {
    expect(
      (await own.inject({ method: 'POST', url: `/v1/webhooks/videosdk?token=${WEBHOOK_TOKEN}`, payload: body('s-own-1') })).statusCode,
    ).toBe(202);
    expect(
      (
        await own.inject({
          method: 'POST',
          url: '/v1/webhooks/videosdk',
          payload: body('s-own-2'),
          headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` },
        })
      ).statusCode,
    ).toBe(202);
    for (const request of [
      { url: `/v1/webhooks/videosdk?token=${TOKEN}` },
      { url: '/v1/webhooks/videosdk', headers: bearer },
      { url: '/v1/webhooks/videosdk' },
    ]) {
      const res = await own.inject({ method: 'POST', payload: body('s-own-3'), ...request });
      expect(res.statusCode, request.url).toBe(401);
      expect(res.json()).toEqual({ error: 'a valid webhook token is required (AUTOMOD_WEBHOOK_TOKEN as ?token= or bearer)' });
    }
  });

  it('opens nothing else', async () => {
    const removal = { removals: [{ sessionId: 's', participantId: 'p' }] };
    for (const request of [
      { method: 'POST' as const, url: '/v1/removals', payload: removal, headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` } },
      { method: 'POST' as const, url: `/v1/removals?token=${WEBHOOK_TOKEN}`, payload: removal },
      {
        method: 'POST' as const,
        url: '/v1/events',
        payload: { type: 'x', sessionId: 's' },
        headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` },
      },
      { method: 'GET' as const, url: '/v1/audit', headers: { authorization: `Bearer ${WEBHOOK_TOKEN}` } },
      { method: 'GET' as const, url: '/admin/queues', headers: basic('ops', WEBHOOK_TOKEN) },
    ]) {
      expect((await own.inject(request)).statusCode, request.url).toBe(401);
    }
    expect((await own.inject({ method: 'POST', url: '/v1/removals', payload: { removals: [] }, headers: bearer })).statusCode).toBe(400);
  });
});

describe('start-up warning', () => {
  it('warns when the API token is what guards the webhook, and not when the webhook has its own token', async () => {
    const warnings = async (env: Record<string, string>) => {
      const prefix = uniquePrefix('http-warn');
      const cfg = testConfig(prefix, { AUTOMOD_API_TOKEN: TOKEN, AUTOMOD_HTTP_PORT: '0', LOG_LEVEL: 'warn', ...env });
      const lines: string[] = [];
      const logger = createLogger(cfg, { write: (line: string) => void lines.push(line) });
      const running = await startAutomod(cfg, logger, { watchRules: false });
      await running.close();
      await testRedis(cfg).cleanup();
      return lines.map((l) => (JSON.parse(l) as { msg: string }).msg).filter((m) => m.includes('AUTOMOD_WEBHOOK_TOKEN'));
    };
    expect(await warnings({})).toEqual([expect.stringMatching(/the webhook takes AUTOMOD_API_TOKEN/)]);
    expect(await warnings({ AUTOMOD_WEBHOOK_TOKEN: 'webhook-token-0123456789abcdef' })).toEqual([]);
  });
});
