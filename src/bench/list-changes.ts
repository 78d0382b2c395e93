import type { Redis } from 'ioredis';
import type { Config, Env } from '../shared/config.js';
import { createQueues } from '../events/queues.js';
import { createKeys } from '../store/keys.js';
import { createListStore } from '../store/lists.js';
import { pendingJobs, waitForDrain } from './drain.js';
import { runPaced } from './pacer.js';
import { deleteKeys } from '../store/scan-keys.js';
import { usedMemory } from './redis-memory.js';
import { round, wallClockMs } from './stats.js';
import { sleep } from '../shared/sleep.js';
import { startWorkerProcess } from './worker-process.js';
import { createPacedEvents } from './workload.js';

/** Sizes of the "list changes under load" scenario. */
export interface ListChangesSizes {
  /** Values in the live list before the events start. */
  values: number;
  /** Adds and removes made while the events flow, evenly spread. */
  changes: number;
  /** Values each change adds or removes. */
  valuesPerChange: number;
  ratePerSec: number;
  durationMs: number;
}

export interface ListChangesResult {
  listValues: number;
  changes: number;
  ratePerSec: number;
  events: number;
  /** Events processed per second, from the first event sent to the last one finished. */
  eventsPerSec: number;
  /** Most events waiting or active at once (sampled every 100 ms). */
  maxBacklog: number;
  workerRssMb: { start: number; peak: number };
  redisUsedMb: { start: number; peak: number };
}

/** The live list the bench rules check with inList (they also ship a 200-value file list of that name). */
const LIST = 'bench-blocked';

/**
 * A worker process with a big live list that operators edit while events flow at a steady rate:
 * what each change costs the worker (memory, backlog, throughput) and Redis. Runs under a prefix of
 * its own (`config.keyPrefix`), deleted at the end.
 */
export async function measureListChanges(
  ctx: { config: Config; env: Env; producer: Redis; monitor: Redis; cliPath: string; logFile: string; say(line: string): void },
  sizes: ListChangesSizes,
): Promise<ListChangesResult> {
  const { config, producer, monitor, say } = ctx;
  const keys = createKeys(config.keyPrefix);
  // As `automod lists add|remove` would, from another process's connection.
  const lists = createListStore({ redis: producer, keys });
  const queues = createQueues(config, producer);
  try {
    for (let i = 0; i < sizes.values; i += 10_000) {
      await lists.add(
        LIST,
        Array.from({ length: Math.min(10_000, sizes.values - i) }, (_, j) => `live-blocked-${i + j}`),
      );
    }
    const worker = await startWorkerProcess({
      cliPath: ctx.cliPath,
      env: ctx.env,
      logFile: ctx.logFile,
      queues: [queues.events, queues.removals],
    });
    let sampler: NodeJS.Timeout | undefined;
    try {
      await sleep(300);
      const rssStart = worker.rss()?.rssMb ?? Number.NaN;
      const redisStart = (await usedMemory(monitor)) / 2 ** 20;
      const peak = { rss: rssStart, redis: redisStart, backlog: 0 };
      let sampling = false;
      sampler = setInterval(() => {
        const rss = worker.rss();
        if (rss) peak.rss = Math.max(peak.rss, rss.rssMb, rss.peakMb);
        if (sampling) return;
        sampling = true;
        void Promise.all([usedMemory(monitor), pendingJobs(queues.events)])
          .then(
            ([bytes, backlog]) => {
              peak.redis = Math.max(peak.redis, bytes / 2 ** 20);
              peak.backlog = Math.max(peak.backlog, backlog);
            },
            () => undefined,
          )
          .finally(() => (sampling = false));
      }, 100);

      const total = Math.round((sizes.ratePerSec * sizes.durationMs) / 1000);
      // Change k happens before event changeAt(k): evenly spread, none at the very start or end.
      const changeAt = (k: number) => Math.floor(((k + 1) * total) / (sizes.changes + 1));
      let nextChange = 0;
      let added = 0;
      const changes: Promise<unknown>[] = [];
      const events = createPacedEvents({ participantPrefix: 'lc', idPrefix: 'lc', violations: false });
      const start = wallClockMs();
      await runPaced({
        ratePerSec: sizes.ratePerSec,
        durationMs: sizes.durationMs,
        send: async (i) => {
          while (nextChange < sizes.changes && i >= changeAt(nextChange)) {
            // Alternately remove some of the original values and add fresh ones (removing first
            // keeps a list at its cap within it).
            const k = nextChange++;
            const values = Array.from({ length: sizes.valuesPerChange }, (_, j) =>
              k % 2 === 1 ? `live-added-${added++}` : `live-blocked-${(k * sizes.valuesPerChange + j) % Math.max(1, sizes.values)}`,
            );
            // Awaited after the events (a failure must not go unhandled and leave the worker running).
            changes.push(
              (k % 2 === 1 ? lists.add(LIST, values) : lists.remove(LIST, values)).then(
                () => undefined,
                (err: unknown) => err,
              ),
            );
          }
          const { event } = events(i, Date.now());
          await queues.events.add(event.type, event);
        },
      });
      const failed = (await Promise.all(changes)).find((e) => e !== undefined);
      if (failed) throw failed;
      const drained = await worker.whileRunning(waitForDrain(queues.events, { timeoutMs: 300_000 }));
      clearInterval(sampler);
      const final = worker.rss();
      if (final) peak.rss = Math.max(peak.rss, final.peakMb);
      const eventsPerSec = Math.round((total / Math.max(1, drained.finishedAt - start)) * 1000);
      say(
        `  ${eventsPerSec} events/s, backlog at most ${peak.backlog}, worker RSS peak ${peak.rss.toFixed(1)} MB, Redis peak ${peak.redis.toFixed(2)} MB`,
      );
      return {
        listValues: sizes.values,
        changes: sizes.changes,
        ratePerSec: sizes.ratePerSec,
        events: total,
        eventsPerSec,
        maxBacklog: peak.backlog,
        workerRssMb: { start: round(rssStart, 1), peak: round(peak.rss, 1) },
        redisUsedMb: { start: round(redisStart, 3), peak: round(peak.redis, 3) },
      };
    } finally {
      clearInterval(sampler);
      const code = await worker.stop();
      if (code !== 0) say(`  warning: the worker exited with code ${code}`);
    }
  } finally {
    await queues.close().catch(() => undefined);
    await deleteKeys(monitor, `${config.keyPrefix}*`).catch(() => undefined);
  }
}
