import { Queue, type JobsOptions } from 'bullmq';
import type { Config } from '../shared/config.js';
import { EVENTS_STREAM_MAX_LEN, retention } from '../shared/queue-policy.js';
import type { RedisClient } from '../store/redis.js';
import type { RemovalJobData } from './removal-job.js';

/** Queue name (public contract): rule hits become jobs on `removals` (events go to `events`, see producer.ts). */
export const REMOVALS_QUEUE = 'removals';

/** Name of the custom backoff strategy the removal worker implements. */
export const BACKOFF_TYPE = 'automod';

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

/** Attempts, backoff and retention of every removal job (the queue's defaults). */
function removalJobOptions(config: Config): JobsOptions {
  return {
    attempts: config.removalAttempts,
    backoff: { type: BACKOFF_TYPE },
    ...retention(config),
  };
}

/** The removals queue under the namespace's hash tag, with the job defaults above. */
export function openRemovalsQueue(connection: RedisClient, config: Config): Queue<RemovalJobData> {
  return new Queue<RemovalJobData>(REMOVALS_QUEUE, {
    connection,
    prefix: config.keyPrefix,
    defaultJobOptions: removalJobOptions(config),
    streams: { events: { maxLen: EVENTS_STREAM_MAX_LEN } },
  });
}
