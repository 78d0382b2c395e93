import { fork, type ChildProcess } from 'node:child_process';
import { Queue } from 'bullmq';
import type { Config, Env } from '../shared/config.js';
import type { MeetingEvent } from '../shared/event-schema.js';
import { retention } from '../shared/queue-policy.js';
import type { RedisClient } from '../store/redis.js';
import type { Redis } from 'ioredis';
import { cpuMeter } from './cpu-meter.js';
import { waitForDrain } from './drain.js';
import { runPaced } from './pacer.js';
import { RAW_A_QUEUE, RAW_DRAIN_QUEUE, type RawWorkerMessage } from './raw-worker.js';
import { round, summarize, wallClockMs, type LatencySummary } from './stats.js';
import { sleep } from '../shared/sleep.js';

/** Where the baseline's child runs from and with what. */
export interface RawBaselineContext {
  config: Config;
  env: Env;
  /** Producer connection in the driver. */
  redis: RedisClient;
  /** For INFO (Redis CPU). */
  monitor: Redis;
  /** `dist/bench/raw-worker.js`. */
  workerScript: string;
}

export interface RawDrainResult {
  jobs: number;
  durationMs: number;
  jobsPerSec: number;
  failed: number;
  /** CPU used during the drain as a share of one core: the worker process, and Redis. */
  workerCpuPct: number;
  redisCpuPct: number;
  /** CPU per job (µs): the worker process's, and the Redis server's. */
  cpuUsPerJob: number;
  redisCpuUsPerJob: number;
}

export interface RawTwoHopResult {
  ratePerSec: number;
  sent: number;
  completed: number;
  latencyMs: LatencySummary;
}

const jobOptions = (config: Config) => ({ attempts: 3, backoff: { type: 'exponential', delay: 500 }, ...retention(config) });

/**
 * Raw BullMQ, no-op worker: `jobs` are queued while the queue is paused, then the queue is resumed
 * and timed until the last job finished.
 */
export async function measureRawDrain(ctx: RawBaselineContext, jobs: readonly MeetingEvent[]): Promise<RawDrainResult> {
  const queue = new Queue(RAW_DRAIN_QUEUE, {
    connection: ctx.redis,
    prefix: ctx.config.keyPrefix,
    defaultJobOptions: jobOptions(ctx.config),
  });
  const child = await startRawWorker(ctx, 'drain');
  try {
    await queue.pause();
    for (let i = 0; i < jobs.length; i += 1000) {
      await queue.addBulk(jobs.slice(i, i + 1000).map((event) => ({ name: event.type, data: event })));
    }
    const cpu = await cpuMeter(ctx.monitor, child.pid);
    const started = wallClockMs();
    await queue.resume();
    const drained = await waitForDrain(queue, { timeoutMs: 120_000 });
    const durationMs = drained.finishedAt - started;
    const used = await cpu.stop();
    return {
      jobs: jobs.length,
      durationMs: round(durationMs),
      jobsPerSec: Math.round((jobs.length / durationMs) * 1000),
      failed: drained.failed,
      workerCpuPct: used.processPct,
      redisCpuPct: used.redisPct,
      cpuUsPerJob: Math.round((used.processSeconds / jobs.length) * 1e6),
      redisCpuUsPerJob: Math.round((used.redisSeconds / jobs.length) * 1e6),
    };
  } finally {
    await stopChild(child);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

/**
 * Raw BullMQ, two hops: jobs added to A at `ratePerSec` for `durationMs`; A's worker adds each to
 * B; latency from the add to A until B's worker completed it. The first `warmUpMs` of jobs (JIT,
 * script loading) run the same way but are not measured.
 */
export async function measureRawTwoHop(
  ctx: RawBaselineContext,
  options: { ratePerSec: number; durationMs: number; warmUpMs: number; payload: (i: number) => MeetingEvent },
): Promise<RawTwoHopResult> {
  const queue = new Queue(RAW_A_QUEUE, { connection: ctx.redis, prefix: ctx.config.keyPrefix, defaultJobOptions: jobOptions(ctx.config) });
  const child = await startRawWorker(ctx, 'two-hop');
  try {
    const paced = (durationMs: number, warmUp: boolean) =>
      runPaced({
        ratePerSec: options.ratePerSec,
        durationMs,
        send: async (i) => {
          const event = options.payload(i);
          await queue.add(event.type, { ...event, enqueuedAt: wallClockMs(), warmUp });
        },
      });
    const warmUp = await paced(options.warmUpMs, true);
    const run = await paced(options.durationMs, false);
    let report: Extract<RawWorkerMessage, { type: 'report' }> | undefined;
    const deadline = wallClockMs() + 30_000;
    do {
      await sleep(100);
      report = await request(child);
    } while (report.completed < warmUp.sent + run.sent && wallClockMs() < deadline);
    return { ratePerSec: options.ratePerSec, sent: run.sent, completed: report.latencies.length, latencyMs: summarize(report.latencies) };
  } finally {
    await stopChild(child);
    await queue.obliterate({ force: true }).catch(() => undefined);
    await queue.close();
  }
}

async function startRawWorker(ctx: RawBaselineContext, mode: 'drain' | 'two-hop'): Promise<ChildProcess> {
  const child = fork(ctx.workerScript, [], { env: { ...ctx.env, BENCH_MODE: mode }, stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`raw worker exited early (code ${code})`));
    child.once('exit', onExit);
    child.once('error', reject);
    child.on('message', (message: RawWorkerMessage) => {
      if (message.type === 'ready') {
        child.off('exit', onExit);
        resolve();
      }
    });
  });
  return child;
}

function request(child: ChildProcess): Promise<Extract<RawWorkerMessage, { type: 'report' }>> {
  return new Promise((resolve) => {
    const onMessage = (message: RawWorkerMessage) => {
      if (message.type !== 'report') return;
      child.off('message', onMessage);
      resolve(message);
    };
    child.on('message', onMessage);
    child.send({ type: 'report' });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send({ type: 'stop' });
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
