import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { SignJWT } from 'jose';
import { afterAll, describe, expect, it } from 'vitest';
import { startAutomod, type RunningAutomod } from '../../src/app/automod.js';
import { ConfigError } from '../../src/shared/errors.js';
import { parseConfig, type Config } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { createSimulator, type Simulator } from '../../src/simulator/simulator.js';
import type { RedisClient } from '../../src/store/redis.js';
import { startRedisServer, type RedisServer } from '../helpers/processes.js';
import { tokensFixture, type TokensFixture } from '../helpers/tokens.js';
import { sessionId, waitFor } from '../helpers/harness.js';
import { testConfig, uniquePrefix } from '../helpers/redis.js';

/**
 * Secrets never leave the process: the whole path runs with known values of VIDEOSDK_SECRET,
 * VIDEOSDK_TOKEN, AUTOMOD_API_TOKEN and the named tokens of AUTOMOD_TOKENS_FILE (HTTP event ->
 * removal -> audit, a transient failure, a rejected call whose error body echoes the token, a
 * credential failure, a bad configuration, a refused API call, a 403, a tokens file holding a
 * token), and then every log line, every Redis value under the prefix (strings, lists, hashes,
 * sets, sorted sets, streams: BullMQ's job hashes included), every HTTP answer and `/metrics` are
 * searched for them.
 */

const API_KEY = 'scan-api-key';
const SECRET = `vsdk-secret-${randomBytes(16).toString('hex')}`;
const API_TOKEN = `automod-api-${randomBytes(16).toString('hex')}`;
const REDIS_PASSWORD = `redis-pass-${randomBytes(16).toString('hex')}`;

async function mintToken(secret: string, claims: Record<string, unknown> = {}): Promise<string> {
  return new SignJWT({ apikey: API_KEY, permissions: ['allow_join', 'allow_mod'], version: 2, roles: ['crawler'], ...claims })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));
}

/** Every value under the prefix, whatever its type, as text (key names included). */
async function dumpRedis(redis: RedisClient, prefix: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `{${prefix}}*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      out.push(key);
      const type = await redis.type(key);
      if (type === 'string') out.push((await redis.get(key)) ?? '');
      else if (type === 'list') out.push(...(await redis.lrange(key, 0, -1)));
      else if (type === 'hash') out.push(...Object.entries(await redis.hgetall(key)).flat());
      else if (type === 'set') out.push(...(await redis.smembers(key)));
      else if (type === 'zset') out.push(...(await redis.zrangebyscore(key, '-inf', '+inf')));
      else if (type === 'stream') for (const [id, fields] of await redis.xrange(key, '-', '+')) out.push(id, ...fields);
      else out.push(`<unread type ${type}>`);
    }
  } while (cursor !== '0');
  return out;
}

function leaks(texts: readonly string[], secrets: readonly string[]): { secret: string; where: string }[] {
  const found: { secret: string; where: string }[] = [];
  for (const text of texts) {
    for (const secret of secrets) {
      if (text.includes(secret)) found.push({ secret: `${secret.slice(0, 12)}…`, where: text.slice(0, 300) });
    }
  }
  return found;
}

describe.each([
  ['minted from VIDEOSDK_API_KEY + VIDEOSDK_SECRET', 'minted'],
  ['a ready VIDEOSDK_TOKEN', 'static'],
] as const)('no secret in logs, Redis, HTTP answers or metrics (%s)', (_label, mode) => {
  const lines: string[] = [];
  const answers: string[] = [];
  let simulator: Simulator;
  let automod: RunningAutomod | undefined;
  let config: Config;
  let staticToken = '';
  let redisServer: RedisServer | undefined;
  let named: TokensFixture | undefined;

  afterAll(async () => {
    await named?.cleanup();
    await automod?.close();
    await simulator?.close();
    // A private Redis with a password of its own, also one of the secrets looked for.
    await redisServer?.destroy();
  });

  it('runs the whole path, then finds none of the secrets anywhere', async () => {
    simulator = createSimulator({ secret: SECRET, apiKey: API_KEY });
    const simulatorUrl = await simulator.listen(0);
    staticToken = await mintToken(SECRET);
    redisServer = await startRedisServer({ appendonly: false, args: ['--requirepass', REDIS_PASSWORD] });
    named = await tokensFixture({ 'token-server': 'gate', alice: 'moderator' });
    config = testConfig(uniquePrefix(`secrets-${mode}`), {
      REDIS_URL: `redis://:${REDIS_PASSWORD}@127.0.0.1:${redisServer.port}`,
      VIDEOSDK_API_BASE: simulatorUrl,
      ...(mode === 'minted' ? { VIDEOSDK_API_KEY: API_KEY, VIDEOSDK_SECRET: SECRET } : { VIDEOSDK_TOKEN: staticToken }),
      AUTOMOD_API_TOKEN: API_TOKEN,
      AUTOMOD_TOKENS_FILE: named.path,
      AUTOMOD_HTTP_PORT: '0',
      AUTOMOD_RULES: 'rules',
      AUTOMOD_REMOVAL_ATTEMPTS: '3',
      VIDEOSDK_TIMEOUT_MS: '1000',
      // Everything the worker can say, debug lines of every API call included.
      LOG_LEVEL: 'trace',
    });
    const logger = createLogger(config, { write: (line: string) => void lines.push(line) });
    automod = await startAutomod(config, logger, { watchRules: false });
    const { services } = automod;
    const base = automod.url!;
    const call = async (
      method: string,
      path: string,
      body?: unknown,
      headers: Record<string, string> = { authorization: `Bearer ${API_TOKEN}` },
    ) => {
      const res = await fetch(`${base}${path}`, {
        method,
        headers: { ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      // What the server said (the request itself carries credentials on purpose).
      answers.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
      return { status: res.status, text };
    };

    // 1. An HTTP event that breaks a rule; the first POST fails with a 503, the retry succeeds.
    const sid = sessionId();
    simulator.addSession({
      id: sid,
      meetingId: 'room-s',
      participants: [
        { participantId: 'imp', name: 'Admin Imp' },
        { participantId: 'rej', name: 'Rex' },
        { participantId: 'cred', name: 'Cred' },
      ],
    });
    simulator.addFault({ operation: 'remove', sessionId: sid, participantId: 'imp', status: 503 });
    expect(
      (
        await call('POST', '/v1/events', {
          type: 'participant-joined',
          meetingId: 'room-s',
          sessionId: sid,
          participantId: 'imp',
          participantName: 'Admin Imp',
          data: { role: 'participant' },
        })
      ).status,
    ).toBe(202);
    await waitFor(
      async () => ((await services.sessions.get(sid))?.removals.some((r) => r.participantId === 'imp') ? true : undefined),
      10_000,
      'the removal',
    );

    // 2. A rejected removal whose error body echoes the credential, as a careless API might.
    const echoed = mode === 'static' ? staticToken : await mintToken(SECRET, { echo: true });
    // (The secret only where the worker has it: a worker given a ready token never sees it.)
    const echo = `bad request for Authorization ${echoed}${mode === 'minted' ? ` (secret ${SECRET})` : ''} (api token ${API_TOKEN})`;
    simulator.addFault({ operation: 'remove', sessionId: sid, participantId: 'rej', status: 400, body: { message: echo } });
    const rejected = await services.requester.request({
      sessionId: sid,
      participantId: 'rej',
      reason: 'scan',
      requestedBy: 'test',
      meetingId: 'room-s',
    });
    await waitFor(() => services.outcomes.getOutcome(rejected.jobId), 10_000, 'the rejection');

    // 3. A credential failure: removals pause, /readyz says why; then they resume.
    simulator.setCredentialValid(false);
    const cred = await services.requester.request({
      sessionId: sid,
      participantId: 'cred',
      reason: 'scan',
      requestedBy: 'test',
      meetingId: 'room-s',
    });
    await waitFor(() => services.pause.get(), 10_000, 'the pause');
    await call('GET', '/readyz', undefined, {});
    simulator.setCredentialValid(true);
    await services.pause.clear();
    await services.queues.removals.resume();
    await waitFor(() => services.outcomes.getOutcome(cred.jobId), 10_000, 'the resumed removal');

    // 4. Refused API calls (a wrong token, the secret itself as a token), and the webhook by ?token=.
    expect((await call('GET', '/v1/audit', undefined, { authorization: `Bearer ${API_TOKEN}x` })).status).toBe(401);
    expect((await call('GET', '/v1/audit', undefined, { authorization: `Bearer ${SECRET}` })).status).toBe(401);
    expect(
      (
        await call(
          'POST',
          `/v1/webhooks/videosdk?token=${API_TOKEN}`,
          { webhookType: 'session-started', data: { sessionId: sid, meetingId: 'room-s' } },
          {},
        )
      ).status,
    ).toBe(202);

    // 4b. Named tokens: one refused a route its role does not reach (403), one that acts (a ban,
    // recorded by name), and a change of the tokens file that holds a token in plain, rejected.
    const gate = { authorization: `Bearer ${named.tokens['token-server']}` };
    expect((await call('POST', '/v1/removals', { sessionId: sid, all: true }, gate)).status).toBe(403);
    expect((await call('GET', '/metrics', undefined, gate)).status).toBe(403);
    const banned = await call(
      'POST',
      '/v1/bans',
      { participantId: 'p-scan', meetingId: 'room-s', for: '1h' },
      {
        authorization: `Bearer ${named.tokens.alice}`,
      },
    );
    expect(banned.status).toBe(201);
    await writeFile(named.path, JSON.stringify([{ name: 'alice', role: 'admin', sha256: named.tokens.alice }]));
    await waitFor(() => (lines.some((l) => l.includes('tokens file rejected')) ? true : undefined), 5000, 'the tokens file rejected');

    // 5. A bad configuration holding the secrets, refused and logged the way the CLI does.
    let configError: unknown;
    try {
      parseConfig({
        VIDEOSDK_SECRET: SECRET,
        VIDEOSDK_TOKEN: staticToken,
        AUTOMOD_API_TOKEN: API_TOKEN,
        REDIS_URL: `redis://:${SECRET}@`,
        AUTOMOD_HTTP_HOST: '0.0.0.0',
        VIDEOSDK_API_BASE: `ftp://u:${SECRET}@x`,
      });
    } catch (err) {
      configError = err;
    }
    expect(configError).toBeInstanceOf(ConfigError);
    logger.error({ err: configError }, 'configuration refused');
    answers.push(String(configError), JSON.stringify(configError));
    // What a careless log call would write: pino redacts the known credential paths.
    logger.info(
      {
        config,
        headers: { authorization: staticToken },
        token: staticToken,
        secret: SECRET,
        apiToken: API_TOKEN,
        env: { VIDEOSDK_SECRET: SECRET, REDIS_URL: config.redis.url },
      },
      'redaction check',
    );

    // 6. What operators read.
    await call('GET', `/v1/sessions/${sid}`);
    await call('GET', `/v1/audit?sessionId=${sid}&limit=1000`);
    for (const id of [rejected.jobId, cred.jobId]) await call('GET', `/v1/jobs/${id}`);
    const metrics = await call('GET', '/metrics');
    expect(metrics.status).toBe(200);
    logger.flush();

    // Every token the worker sent (the minted ones included), as VideoSDK saw them.
    const sent = [...new Set(simulator.calls().flatMap((c) => (c.authorization ? [c.authorization] : [])))];
    expect(sent.length).toBeGreaterThan(0);
    const secrets = [SECRET, API_TOKEN, REDIS_PASSWORD, staticToken, echoed, ...sent, ...Object.values(named.tokens)];
    const stored = await dumpRedis(services.redis, config.prefix);

    // The scan can see a leak: a planted secret is found.
    expect(leaks([`x${SECRET}y`], secrets)).toHaveLength(1);

    expect(lines.length).toBeGreaterThan(10);
    expect(stored.length).toBeGreaterThan(50);
    expect(leaks(lines, secrets)).toEqual([]);
    expect(leaks(stored, secrets)).toEqual([]);
    expect(leaks(answers, secrets)).toEqual([]);
    // The redaction check line really was written, with the values replaced.
    expect(lines.some((l) => l.includes('redaction check') && l.includes('[redacted]'))).toBe(true);
    // What was said instead is still useful: the rejection and the credential failure are on record.
    expect(await services.outcomes.getOutcome(rejected.jobId)).toMatchObject({
      outcome: 'rejected',
      status: 400,
      message: expect.stringContaining('[redacted]'),
    });
    expect(lines.some((l) => l.includes('CREDENTIAL REJECTED'))).toBe(true);
  });
});
