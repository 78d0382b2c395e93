import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { runCli } from '../helpers/cli.js';
import { freePort, ROOT, spawnAutomod, startRedisServer, type AutomodProcess, type RedisServer } from '../helpers/processes.js';
import { waitFor } from '../helpers/harness.js';
import { uniquePrefix } from '../helpers/redis.js';

// Redis as a person meets it: down at start, dying under a worker, and the commands that report on it.

const PREFIX = uniquePrefix('redis-cli');
const RULES = join(ROOT, 'rules');
const processes: AutomodProcess[] = [];
const servers: RedisServer[] = [];

afterAll(async () => {
  for (const p of processes) if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
  for (const s of servers) await s.destroy();
});

const listening = async (p: AutomodProcess): Promise<string> => String((await p.waitForLog((l) => l.msg === 'HTTP API listening')).url);

/**
 * Stands on the port where Redis will be until it starts: holds each connection of the worker's
 * Redis probe unanswered (the probe gives up after its timeout and the next one connects) and
 * drops every other connection, as a Redis that is down would. Counts the probes.
 */
async function notRedisYet(port: number): Promise<{ probes: () => number; close: () => Promise<void> }> {
  let probes = 0;
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    // A connection names itself first thing (CLIENT SETNAME).
    socket.once('data', (chunk: Buffer) => {
      if (chunk.includes('automod-probe')) probes++;
      else socket.destroy();
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    probes: () => probes,
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  const value = await fn();
  return { value, ms: Date.now() - started };
}

describe('commands while Redis is unreachable', () => {
  it('fail within the connect timeout with one line naming the address and variable (exit 3), never the password', async () => {
    const port = await freePort();
    const env = {
      REDIS_URL: `redis://admin:hunter2-secret@127.0.0.1:${port}`,
      AUTOMOD_REDIS_CONNECT_TIMEOUT_MS: '1000',
      AUTOMOD_PREFIX: PREFIX,
    };
    for (const args of [['jobs'], ['rules', 'reload'], ['remove', '--session', 's', '--participant', 'p'], ['status']]) {
      const { value: result, ms } = await timed(() => runCli(args, env, { timeoutMs: 10_000 }));
      expect(result.code, args.join(' ')).toBe(3);
      expect(ms).toBeLessThan(5000);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`Redis is unreachable at redis://127.0.0.1:${port} (REDIS_URL)`);
      expect(result.stderr).not.toContain('hunter2');
      expect(result.stderr).not.toMatch(/ioredis|\n\s+at /);
    }
  });

  it('name REDIS_CLUSTER_NODES when the cluster seeds are what is unreachable', async () => {
    const port = await freePort();
    const result = await runCli(
      ['jobs'],
      { REDIS_CLUSTER_NODES: `127.0.0.1:${port}`, AUTOMOD_REDIS_CONNECT_TIMEOUT_MS: '1000' },
      { timeoutMs: 10_000 },
    );
    expect(result.code).toBe(3);
    expect(result.stderr.trim()).toMatch(new RegExp(`^error: Redis is unreachable at 127\\.0\\.0\\.1:${port} \\(REDIS_CLUSTER_NODES\\)`));
  });
});

describe('a worker and its Redis', () => {
  it('start waits for Redis (one line), serving /healthz 200 and /readyz 503 meanwhile, then runs', async () => {
    const port = await freePort();
    const standIn = await notRedisYet(port);
    const worker = spawnAutomod('waiting', ['start'], {
      REDIS_URL: `redis://127.0.0.1:${port}`,
      AUTOMOD_PREFIX: PREFIX,
      AUTOMOD_RULES: RULES,
      AUTOMOD_HTTP_PORT: '0',
      AUTOMOD_REDIS_CONNECT_TIMEOUT_MS: '500',
      VIDEOSDK_TOKEN: 'a.b.c',
      LOG_LEVEL: 'info',
    });
    processes.push(worker);
    const url = await listening(worker);
    await worker.waitForLog((l) => String(l.msg).startsWith('waiting for Redis'));
    // Several probes have failed (each one a line, were it said per attempt) before Redis starts.
    await waitFor(() => (standIn.probes() >= 4 ? true : undefined), 20_000, 'four probes of Redis');
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    const waiting = await fetch(`${url}/readyz`);
    expect(waiting.status).toBe(503);
    expect(((await waiting.json()) as { reasons: string[] }).reasons).toContain('Redis is unreachable');
    const post = await timed(() =>
      fetch(`${url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '[]' }),
    );
    expect(post.value.status).toBe(503);
    expect(post.value.headers.get('retry-after')).toMatch(/^\d+$/);

    await standIn.close();
    const redis = await startRedisServer({ port, appendonly: false });
    servers.push(redis);
    await worker.waitForLog((l) => l.msg === 'Redis is reachable');
    await worker.waitForLog((l) => l.msg === 'automod started');
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    // Said once, not once per reconnection attempt and connection.
    expect(worker.logs.filter((l) => String(l.msg).startsWith('waiting for Redis'))).toEqual([
      expect.objectContaining({ msg: `waiting for Redis at redis://127.0.0.1:${port} (REDIS_URL) ...` }),
    ]);
    expect(worker.logs.filter((l) => l.msg === 'Redis connection error' || l.msg === 'worker error')).toEqual([]);

    // Redis dying under the running worker: fast 503s and a scrape that still answers.
    await redis.stop();
    await worker.waitForLog((l) => l.msg === 'Redis connection lost; reconnecting');
    const during = await timed(() =>
      fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify([
          { id: 'e-down', type: 'chat', sessionId: 's1', participantId: 'p1', text: 'hi', at: new Date().toISOString() },
        ]),
      }),
    );
    expect(during.value.status).toBe(503);
    expect(during.value.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(during.ms).toBeLessThan(2000);
    const metrics = await timed(async () => {
      const response = await fetch(`${url}/metrics`);
      return { status: response.status, text: await response.text() };
    });
    expect(metrics.value.status).toBe(200);
    expect(metrics.value.text).toMatch(/^automod_redis_up 0$/m);
    expect(metrics.ms).toBeLessThan(2000);
    const ready = await timed(() => fetch(`${url}/readyz`));
    expect(ready.value.status).toBe(503);
    expect(ready.ms).toBeLessThan(2000);

    worker.child.kill('SIGTERM');
    expect((await worker.exit).code).toBe(0);
  });

  it('/readyz is 503 without a VideoSDK credential for a process that runs removals; an events-only worker stays ready', async () => {
    const redis = await startRedisServer({ appendonly: false });
    servers.push(redis);
    const env = { REDIS_URL: redis.url, AUTOMOD_PREFIX: PREFIX, AUTOMOD_RULES: RULES, AUTOMOD_HTTP_PORT: '0', LOG_LEVEL: 'info' };
    const both = spawnAutomod('no-credential', ['start'], env);
    const eventsOnly = spawnAutomod('events-only', ['start', '--only', 'events'], env);
    processes.push(both, eventsOnly);
    const [bothUrl, eventsUrl] = await Promise.all([listening(both), listening(eventsOnly)]);
    await Promise.all([both, eventsOnly].map((p) => p.waitForLog((l) => l.msg === 'automod started')));
    const answer = await fetch(`${bothUrl}/readyz`);
    expect(answer.status).toBe(503);
    expect(((await answer.json()) as { reasons: string[] }).reasons.join('\n')).toMatch(/no VideoSDK credential configured/);
    expect((await fetch(`${eventsUrl}/readyz`)).status).toBe(200);
    for (const p of [both, eventsOnly]) p.child.kill('SIGTERM');
    await Promise.all([both.exit, eventsOnly.exit]);
  });
});

describe('automod status and automod config', () => {
  let redis: RedisServer;
  let simulator: Simulator;
  let simulatorUrl: string;
  beforeAll(async () => {
    redis = await startRedisServer({ appendonly: false });
    servers.push(redis);
    simulator = createSimulator({ secret: 'status-secret-0123456789', apiKey: 'status-key' });
    simulatorUrl = await simulator.listen(0);
  });
  afterAll(async () => {
    await simulator.close();
  });

  it('reports Redis, the live workers, queues, pause and the credential check', async () => {
    const env = {
      REDIS_URL: redis.url,
      AUTOMOD_PREFIX: PREFIX,
      AUTOMOD_RULES: RULES,
      AUTOMOD_HTTP_PORT: '0',
      VIDEOSDK_API_BASE: simulatorUrl,
      VIDEOSDK_API_KEY: 'status-key',
      VIDEOSDK_SECRET: 'status-secret-0123456789',
    };
    const worker = spawnAutomod('status', ['start'], { ...env, LOG_LEVEL: 'info' });
    processes.push(worker);
    await worker.waitForLog((l) => l.msg === 'automod started');

    type Report = {
      redis: { address: string; variable: string; version: string };
      prefix: string;
      workers: { pid: number; host: string; rules?: { version?: string }; credential?: { result: string }; uptimeSeconds: number }[];
      queues: Record<string, { counts: Record<string, number>; paused: boolean }>;
      removals: { paused: boolean };
      problems: string[];
    };
    // The worker checks its credential as it starts, in the background: its entry says so soon after.
    const ok = await waitFor(async () => {
      const run = await runCli(['status', '--json'], env);
      return (JSON.parse(run.stdout) as Report).workers[0]?.credential ? run : undefined;
    });
    expect(ok.stderr).toBe('');
    const report = JSON.parse(ok.stdout) as Report;
    expect(report.redis).toMatchObject({ address: redis.url, variable: 'REDIS_URL', version: expect.stringMatching(/^\d+\.\d+/) });
    expect(report.prefix).toBe(PREFIX);
    expect(report.workers).toEqual([
      expect.objectContaining({ pid: worker.child.pid, rules: expect.objectContaining({ version: expect.any(String) }) }),
    ]);
    expect(Object.keys(report.queues).sort()).toEqual(['events', 'removals']);
    expect(report.removals.paused).toBe(false);
    expect(report.workers[0]!.credential).toMatchObject({ result: 'accepted', status: 404, by: 'check' });
    expect(report.problems).toEqual([]);
    expect(ok.code).toBe(0);

    // The credential shown is the worker's, whatever the CLI's own environment holds; pausing
    // shows with its reason.
    expect((await runCli(['pause', '--reason', 'maintenance window'], env)).code).toBe(0);
    const bad = await runCli(['status'], { ...env, VIDEOSDK_SECRET: 'wrong-secret-0123456789' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/accepted \(a test fetch answered 404\)/);
    expect(bad.stdout).not.toMatch(/REFUSED/);
    expect(bad.stdout).toMatch(/removals\s+paused \(operator\).*maintenance window/);
    expect(bad.stdout).toContain(String(worker.child.pid));
    expect(bad.stdout).not.toContain('wrong-secret');

    worker.child.kill('SIGTERM');
    await worker.exit;
    const after = JSON.parse((await runCli(['status', '--json'], env)).stdout) as { workers: unknown[]; problems: string[] };
    expect(after.workers).toEqual([]);
    expect(after.problems).toContain('no live worker');
  });

  it('config prints the effective configuration with every secret masked', async () => {
    const env = {
      REDIS_URL: 'redis://user:redis-pass-123@127.0.0.1:6390/2',
      VIDEOSDK_API_KEY: 'key',
      VIDEOSDK_SECRET: 'very-secret-value',
      VIDEOSDK_TOKEN: 'eyJhbGciOiJIUzI1NiJ9.e30.sig',
      AUTOMOD_API_TOKEN: 'api-token-0123456789abcdef',
      AUTOMOD_WEBHOOK_TOKEN: 'webhook-token-0123456789abcdef',
      AUTOMOD_EVENT_LOG_MAX_ENTRIES: '5000',
    };
    const json = await runCli(['config', '--json'], env);
    expect(json.code).toBe(0);
    const parsed = JSON.parse(json.stdout) as {
      redis: { url: string };
      videosdk: { secret: string; apiKey: string };
      eventLogMaxEntries: number;
    };
    expect(parsed.redis.url).toBe('redis://user:***@127.0.0.1:6390/2');
    expect(parsed.videosdk).toMatchObject({ secret: '***', apiKey: 'key' });
    expect(parsed.eventLogMaxEntries).toBe(5000);
    const text = await runCli(['config'], env);
    expect(text.code).toBe(0);
    expect(text.stdout).toContain('videosdk.secret = ***');
    for (const out of [json.stdout, text.stdout]) {
      for (const secret of [
        'redis-pass-123',
        'very-secret-value',
        'eyJhbGciOiJIUzI1NiJ9',
        'api-token-0123456789abcdef',
        'webhook-token-0123456789abcdef',
      ])
        expect(out).not.toContain(secret);
    }
  });
});
