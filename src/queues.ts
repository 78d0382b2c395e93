import { Queue, type JobsOptions } from 'bullmq';
import type { Config } from './config.js';
import { eventJobOptions, openEventsQueue } from './producer.js';
import type { RemovalJobData } from './removals/removal-job.js';
import type { RedisClient } from './store/redis.js';

/** Queue names (public contract): producers add events to `events`; rule hits become `removals`. */
export { EVENTS_QUEUE } from './producer.js';
export const REMOVALS_QUEUE = 'removals';

/** Name of the custom backoff strategy the removal worker implements. */
export const BACKOFF_TYPE = 'automod';

/** Retention of finished jobs: bounded by age and by count, so Redis never grows without limit. */
export function retention(config: Config): Pick<JobsOptions, 'removeOnComplete' | 'removeOnFail'> {
  const age = Math.max(1, Math.round(config.jobsKeepHours * 3600));
  return {
    removeOnComplete: { age, count: config.jobsKeepCount },
    removeOnFail: { age: age * 7, count: config.jobsKeepCount },
  };
}

/**
 * The removals queue's limiter for `AUTOMOD_API_RATE_PER_SEC` (shared by every worker through
 * Redis). BullMQ counts job starts in fixed windows that open at the first start, so "N per
 * 1000 ms" lets up to 2N start within one second across a window boundary. Short windows keep any
 * second under the cap instead: one job per 1000/N ms below 40 per second; above that N/20 per
 * window, with windows long enough that the windows any second can touch hold N at most (a start
 * rate up to about 10 % below N). Without a cap the limiter is there anyway: `Retry-After` uses it.
 */
export function removalLimiter(ratePerSec: number | undefined): { max: number; duration: number } {
  if (ratePerSec === undefined) return { max: 1_000_000, duration: 1000 };
  const max = Math.floor(ratePerSec / 20);
  // One start per window: the start opens it, so a second holds ceil(1000 / duration) of them.
  if (max <= 1) return { max: 1, duration: Math.ceil(1000 / ratePerSec) };
  // More: the starts of a window may come any time before it closes, so ceil(1000 / duration) + 1
  // windows can reach into one second, each with up to `max` starts.
  return { max, duration: Math.ceil(1000 / (Math.floor(ratePerSec / max) - 1)) };
}

export function removalJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.removalAttempts,
    backoff: { type: BACKOFF_TYPE },
    ...retention(config),
  };
}

/**
 * Entries kept in each queue's BullMQ event stream (added, active, completed, ...; BullMQ keeps
 * 10,000 by default, about 0.7 MB per queue). The only readers follow it live (`automod remove` and
 * `replay` progress, which also poll job states as a backstop), so a short tail is enough.
 */
export const EVENTS_STREAM_MAX_LEN = 1000;

export interface Queues {
  /** Partition 0's events queue (the only one with one partition). */
  events: Queue;
  /** Every partition's events queue, index = partition (`events` with prefix `{BASE:pK}`). */
  eventPartitions: Queue[];
  removals: Queue<RemovalJobData>;
  close(): Promise<void>;
}

/** Opens both queues on one shared connection (queues only issue plain commands). */
export function createQueues(config: Config, connection: RedisClient): Queues {
  const jobOptions = eventJobOptions({ hours: config.jobsKeepHours, count: config.jobsKeepCount });
  const eventPartitions = Array.from({ length: config.partitions }, (_, k) => openEventsQueue(connection, config.prefix, k, config.partitions, jobOptions));
  const events = eventPartitions[0]!;
  const removals = new Queue<RemovalJobData>(REMOVALS_QUEUE, {
    connection,
    prefix: config.keyPrefix,
    defaultJobOptions: removalJobOptions(config),
    streams: { events: { maxLen: EVENTS_STREAM_MAX_LEN } },
  });
  return {
    events,
    eventPartitions,
    removals,
    async close() {
      await Promise.all([...eventPartitions.map((q) => q.close()), removals.close()]);
    },
  };
}
