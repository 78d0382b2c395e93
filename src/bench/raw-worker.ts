/**
 * The benchmark's baseline worker: raw BullMQ with no-op processors, in a process of its own like
 * the product's worker, with the same connections, concurrency, locks and job retention. Started by
 * `bench.ts` with `fork()`; reads the worker's environment (`parseConfig`) plus `BENCH_MODE`:
 *
 * - `drain`: a no-op worker on `raw-drain`;
 * - `two-hop`: `raw-a`'s worker adds each job to `raw-b`, whose no-op worker completes it; the child
 *   records, per job, the time from its `enqueuedAt` to B's completion (except `warmUp` jobs).
 *
 * Messages: child -> parent `{type: 'ready'}`, `{type: 'report', latencies}`; parent -> child
 * `{type: 'report'}`, `{type: 'stop'}`.
 */
import { Queue, Worker, type Job } from 'bullmq';
import { parseConfig } from '../shared/config.js';
import { retention } from '../shared/queue-policy.js';
import { createRedis, type RedisClient } from '../store/redis.js';
import { wallClockMs } from './stats.js';

export const RAW_DRAIN_QUEUE = 'raw-drain';
export const RAW_A_QUEUE = 'raw-a';
export const RAW_B_QUEUE = 'raw-b';

export type RawWorkerMessage = { type: 'ready' } | { type: 'report'; latencies: number[]; completed: number };

async function main(): Promise<void> {
  const config = parseConfig(process.env);
  const mode = process.env.BENCH_MODE === 'two-hop' ? 'two-hop' : 'drain';
  const connections: RedisClient[] = [];
  const connect = (blocking: boolean) => {
    const c = createRedis(config.redis, { blocking, name: 'bench-raw' });
    connections.push(c);
    return c;
  };
  const shared = connect(false);
  const workerOptions = {
    prefix: config.keyPrefix,
    lockDuration: config.lockDurationMs,
    stalledInterval: config.stalledIntervalMs,
  };
  const latencies: number[] = [];
  let completed = 0;
  const workers: Worker[] = [];
  let queueB: Queue | undefined;

  if (mode === 'drain') {
    workers.push(
      new Worker(RAW_DRAIN_QUEUE, async () => undefined, {
        ...workerOptions,
        connection: connect(true),
        concurrency: config.eventConcurrency,
      }),
    );
  } else {
    const b = new Queue(RAW_B_QUEUE, {
      connection: shared,
      prefix: config.keyPrefix,
      defaultJobOptions: { attempts: 3, ...retention(config) },
    });
    queueB = b;
    workers.push(
      new Worker(
        RAW_A_QUEUE,
        async (job: Job) => {
          const data = job.data as { enqueuedAt: number; warmUp?: boolean };
          await b.add('b', { enqueuedAt: data.enqueuedAt, warmUp: data.warmUp === true });
        },
        { ...workerOptions, connection: connect(true), concurrency: config.eventConcurrency },
      ),
    );
    const workerB = new Worker(RAW_B_QUEUE, async () => undefined, {
      ...workerOptions,
      connection: connect(true),
      concurrency: config.removalConcurrency,
    });
    workerB.on('completed', (job: Job) => {
      const data = job.data as { enqueuedAt: number; warmUp: boolean };
      completed += 1;
      // Warm-up jobs (JIT, script loading, connection set-up) are done but not measured.
      if (!data.warmUp) latencies.push(wallClockMs() - data.enqueuedAt);
    });
    workers.push(workerB);
  }
  for (const w of workers) w.on('error', (err) => process.stderr.write(`raw worker error: ${err.message}\n`));
  await Promise.all(workers.map((w) => w.waitUntilReady()));
  send({ type: 'ready' });

  process.on('message', (message: { type?: string }) => {
    if (message.type === 'report') send({ type: 'report', latencies, completed });
    if (message.type === 'stop') {
      void (async () => {
        await Promise.all(workers.map((w) => w.close()));
        await queueB?.close();
        await Promise.all(connections.map((c) => c.quit().catch(() => c.disconnect())));
        process.exit(0);
      })();
    }
  });
}

function send(message: RawWorkerMessage): void {
  process.send?.(message);
}

main().catch((err: unknown) => {
  process.stderr.write(`raw worker failed: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
