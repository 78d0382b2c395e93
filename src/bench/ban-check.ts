/**
 * The token gate under load: `GET /v1/bans/check` at a steady rate against a real worker process
 * (`automod start --only removals`, which serves the HTTP API), with one request in ten for a banned
 * participant. Prints p50/p99 and the Redis commands each check cost (from INFO commandstats).
 *
 *   node dist/bench/ban-check.js [--rate 2000] [--seconds 10] [--bans 10000]
 *
 * REDIS_URL as for the worker (default redis://127.0.0.1:6379); keys go under a fresh prefix and
 * are deleted afterwards.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Redis } from 'ioredis';
import { createBanStore } from '../store/bans.js';
import { createKeys } from '../store/keys.js';
import { freePort } from '../shared/free-port.js';
import { deleteKeys } from '../store/scan-keys.js';
import { runPaced } from './pacer.js';
import { summarize, wallClockMs, type LatencySummary } from './stats.js';

export interface BanCheckResult {
  rate: number;
  seconds: number;
  sent: number;
  errors: number;
  latency: LatencySummary;
  /** Redis commands per check (MGET and anything else the route ran). */
  redisCommandsPerCheck: number;
}

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export async function runBanCheckBench(options: {
  redisUrl: string;
  rate: number;
  seconds: number;
  bans: number;
}): Promise<BanCheckResult> {
  const prefix = `bench-bans-${randomBytes(3).toString('hex')}`;
  const token = randomBytes(16).toString('hex');
  const port = await freePort();
  const redis = new Redis(options.redisUrl);
  const bans = createBanStore({ redis, keys: createKeys(`{${prefix}}`) });
  for (let i = 0; i < options.bans; i += 500) {
    const n = Math.min(500, options.bans - i);
    await Promise.all(
      Array.from({ length: n }, (_, k) =>
        bans.create({
          participantId: `p-${i + k}`,
          scope: 'meeting',
          meetingId: 'room-bench',
          forMs: 3_600_000,
          reason: 'bench',
          by: 'api',
        }),
      ),
    );
  }
  const worker = spawn(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'start', '--only', 'removals'], {
    env: {
      PATH: process.env.PATH ?? '',
      REDIS_URL: options.redisUrl,
      AUTOMOD_PREFIX: prefix,
      AUTOMOD_HTTP_PORT: String(port),
      AUTOMOD_API_TOKEN: token,
      LOG_LEVEL: 'warn',
    },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  try {
    const base = `http://127.0.0.1:${port}`;
    const headers = { authorization: `Bearer ${token}` };
    for (let i = 0; ; i++) {
      const up = await fetch(`${base}/v1/bans/check?meetingId=m&participantId=p`, { headers }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (up) break;
      if (i > 200) throw new Error('the worker did not answer within 20 s');
      await new Promise((r) => setTimeout(r, 100));
    }
    const before = await mgetCalls(redis);
    const samples: number[] = [];
    let errors = 0;
    const run = await runPaced({
      ratePerSec: options.rate,
      durationMs: options.seconds * 1000,
      send: async (i) => {
        // One in ten is banned: the answer then carries the ban.
        const participant = i % 10 === 0 ? `p-${i % Math.max(1, options.bans)}` : `guest-${i}`;
        const start = wallClockMs();
        const res = await fetch(`${base}/v1/bans/check?meetingId=room-bench&participantId=${participant}`, { headers });
        await res.arrayBuffer();
        if (res.status !== 200) errors++;
        samples.push(wallClockMs() - start);
      },
    });
    const after = await mgetCalls(redis);
    return {
      rate: options.rate,
      seconds: options.seconds,
      sent: run.sent,
      errors,
      latency: summarize(samples),
      redisCommandsPerCheck: Math.round(((after - before) / Math.max(1, run.sent)) * 100) / 100,
    };
  } finally {
    worker.kill('SIGTERM');
    await new Promise((r) => worker.once('exit', r));
    await deleteKeys(redis, `{${prefix}}*`);
    await redis.quit();
  }
}

/** Calls of MGET so far (the gate's one command). */
async function mgetCalls(redis: Redis): Promise<number> {
  const stats = await redis.info('commandstats');
  return Number(/cmdstat_mget:calls=(\d+)/.exec(stats)?.[1] ?? 0);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { values } = parseArgs({ options: { rate: { type: 'string' }, seconds: { type: 'string' }, bans: { type: 'string' } } });
  const num = (v: string | undefined, d: number, name: string) => {
    const n = v === undefined ? d : Number(v);
    if (!Number.isFinite(n) || n <= 0) {
      process.stderr.write(`--${name} must be a positive number, got "${v}"\n`);
      process.exit(2);
    }
    return n;
  };
  const result = await runBanCheckBench({
    redisUrl: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
    rate: num(values.rate, 2000, 'rate'),
    seconds: num(values.seconds, 10, 'seconds'),
    bans: num(values.bans, 10_000, 'bans'),
  });
  const l = result.latency;
  process.stdout.write(
    `token gate GET /v1/bans/check at ${result.rate}/s for ${result.seconds} s: ${result.sent} sent, ${result.errors} errors, p50 ${l.p50} ms, p99 ${l.p99} ms, max ${l.max} ms, Redis MGET per check ${result.redisCommandsPerCheck}\n`,
  );
  process.exit(result.errors > 0 ? 1 : 0);
}
