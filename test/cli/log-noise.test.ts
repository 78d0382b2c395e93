import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createSimulator } from '../../src/simulator/simulator.js';
import { ROOT, spawnAutomod, startRedisServer, type AutomodProcess, type RedisServer } from '../helpers/processes.js';
import { uniquePrefix } from '../helpers/redis.js';

// What a worker writes on a bad day, read as a log pipeline reads it: every line one JSON object,
// expected failures one line each without a stack, a Redis outage told when it starts and ends.

const processes: AutomodProcess[] = [];
const servers: RedisServer[] = [];
afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const s of servers) await s.destroy();
});

/** A pino line has a numeric level; anything else the process wrote is kept as `{msg: text}`. */
const isJson = (line: Record<string, unknown>) => typeof line.level === 'number';
const hasStack = (line: Record<string, unknown>) => JSON.stringify(line).includes('\\n    at ');

describe('the log on a bad day', () => {
  it('a 5xx retried is one line without a stack; a Redis outage is one line when it starts and one when Redis is back, all JSON', async () => {
    const redis = await startRedisServer({ appendonly: false });
    servers.push(redis);
    const secret = randomBytes(12).toString('hex');
    const simulator = createSimulator({ secret, apiKey: 'noise-key' });
    const simulatorUrl = await simulator.listen(0);
    try {
      simulator.addSession({ id: 'noise-session', participants: [{ participantId: 'p1' }] });
      simulator.addFault({ operation: 'remove', sessionId: 'noise-session', status: 500, times: 3 });
      const worker = spawnAutomod('noise', ['start'], {
        REDIS_URL: redis.url,
        AUTOMOD_PREFIX: uniquePrefix('noise'),
        AUTOMOD_RULES: join(ROOT, 'rules'),
        AUTOMOD_HTTP_PORT: '0',
        VIDEOSDK_API_BASE: simulatorUrl,
        VIDEOSDK_API_KEY: 'noise-key',
        VIDEOSDK_SECRET: secret,
        AUTOMOD_BACKOFF_MS: '20',
        AUTOMOD_BACKOFF_MAX_MS: '50',
        // Debug: each reconnection attempt is a line to wait for; what is counted is warn and above.
        LOG_LEVEL: 'debug',
      });
      processes.push(worker);
      const url = String((await worker.waitForLog((l) => l.msg === 'HTTP API listening')).url);
      await worker.waitForLog((l) => l.msg === 'automod started');

      const posted = await fetch(`${url}/v1/removals`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ removals: [{ sessionId: 'noise-session', participantId: 'p1' }] }),
      });
      expect(posted.status).toBe(202);
      await worker.waitForLog((l) => l.msg === 'videosdk call' && l.operation === 'remove' && l.status === 200);
      const retries = worker.logs.filter((l) => l.msg === 'removal try failed, will retry');
      expect(retries).toHaveLength(3);
      for (const line of retries) {
        expect(line).toMatchObject({ level: 40, status: 500, code: 'ERR_VIDEOSDK_TRANSIENT', error: expect.stringContaining('HTTP 500') });
        expect(line.err).toBeUndefined();
      }

      // Redis goes away for a while: many reconnection attempts (the debug lines), one warning.
      const before = worker.logs.length;
      await redis.stop();
      await worker.waitForLog((l) => l.msg === 'Redis connection lost; reconnecting');
      // Several attempts of one connection: its delays grow (0.1, 0.2, 0.4, 0.8, 1.6 s ...).
      await waitForCount(worker, (l) => l.msg === 'Redis reconnecting' && l.connection === 'automod', 5);
      await redis.start();
      const back = await worker.waitForLog((l) => l.msg === 'Redis is reachable again', 30_000);
      expect(back).toMatchObject({ level: 30, address: redis.url, variable: 'REDIS_URL', downForSeconds: expect.any(Number) });
      const outage = worker.logs.slice(before, worker.logs.indexOf(back) + 1);

      // Working again: an event in, a rule hit, a removal out.
      simulator.addSession({ id: 'noise-session-2', participants: [{ participantId: 'p2' }] });
      const event = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          id: 'noise-after-outage',
          type: 'chat-message',
          sessionId: 'noise-session-2',
          participantId: 'p2',
          data: { text: 'free crypto' },
        }),
      });
      expect(event.status).toBe(202);
      await worker.waitForLog((l) => l.msg === 'removal finished' && l.participantId === 'p2', 30_000);

      worker.child.kill('SIGTERM');
      expect((await worker.exit).code).toBe(0);
      expect(worker.logs.filter((l) => !isJson(l)).map((l) => l.msg)).toEqual([]);
      expect(worker.logs.filter(hasStack)).toEqual([]);
      expect(outage.filter((l) => Number(l.level) >= 40).map((l) => l.msg)).toEqual(['Redis connection lost; reconnecting']);
      expect(worker.logs.filter((l) => l.msg === 'Redis connection lost; reconnecting')).toHaveLength(1);
      expect(worker.logs.filter((l) => l.msg === 'Redis is reachable again')).toHaveLength(1);
    } finally {
      await simulator.close();
    }
  }, 90_000);
});

async function waitForCount(p: AutomodProcess, test: (l: Record<string, unknown>) => boolean, n: number): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (p.logs.filter(test).length < n) {
    if (Date.now() > deadline) throw new Error(`${p.name}: fewer than ${n} matching lines within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
