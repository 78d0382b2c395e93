import { Queue, type JobsOptions } from 'bullmq';
import type { Config } from './config.js';
import type { RemovalJobData } from './removals/removal-job.js';
import type { RedisClient } from './store/redis.js';

/** Queue names (public contract): producers add events to `events`; rule hits become `removals`. */
export const EVENTS_QUEUE = 'events';
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
  events: Queue;
  removals: Queue<RemovalJobData>;
  close(): Promise<void>;
}

/** Opens both queues on one shared connection (queues only issue plain commands). */
export function createQueues(config: Config, connection: RedisClient): Queues {
  const events = new Queue(EVENTS_QUEUE, {
    connection,
    prefix: config.keyPrefix,
    defaultJobOptions: { attempts: 3, backoff: { type: 'exponential', delay: 500 }, ...retention(config) },
    streams: { events: { maxLen: EVENTS_STREAM_MAX_LEN } },
  });
  const removals = new Queue<RemovalJobData>(REMOVALS_QUEUE, {
    connection,
    prefix: config.keyPrefix,
    defaultJobOptions: removalJobOptions(config),
    streams: { events: { maxLen: EVENTS_STREAM_MAX_LEN } },
  });
  return {
    events,
    removals,
    async close() {
      await Promise.all([events.close(), removals.close()]);
    },
  };
}
