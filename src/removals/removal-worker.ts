import { Worker } from 'bullmq';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import type { RedisClient } from '../store/redis.js';
import { computeBackoff } from './backoff.js';
import type { RemovalJobData } from './removal-job.js';
import type { createRemovalProcessor } from './removal-processor.js';
import { BACKOFF_TYPE, removalLimiter, REMOVALS_QUEUE } from './removal-queue.js';

/**
 * How often a removal job may stall (its worker died or lost its lock) before BullMQ fails it. A
 * removal is safe to run again (claim, fence, check first), so one dead worker must not fail it.
 */
export const REMOVAL_MAX_STALLED = 3;

export interface RemovalWorkerOptions {
  processor: ReturnType<typeof createRemovalProcessor>;
  config: Pick<
    Config,
    | 'keyPrefix'
    | 'removalConcurrency'
    | 'lockDurationMs'
    | 'stalledIntervalMs'
    | 'apiRatePerSec'
    | 'backoffMs'
    | 'backoffMaxMs'
    | 'retryAfterMaxMs'
  >;
  /** A blocking connection of its own (BullMQ leaves it open: the caller closes it). */
  connection: RedisClient;
  logger: Logger;
}

/** The removals worker, not yet running: the limiter, the backoff, lock loss and failed-outcome recording. */
export function createRemovalWorker({ processor, config, connection, logger }: RemovalWorkerOptions): Worker<RemovalJobData> {
  const removalWorker = new Worker<RemovalJobData>(
    REMOVALS_QUEUE,
    // Three parameters: BullMQ then hands over an abort signal, used below when a lock is lost.
    (job, token, signal) => processor.process(job, token, signal),
    {
      connection,
      prefix: config.keyPrefix,
      concurrency: config.removalConcurrency,
      lockDuration: config.lockDurationMs,
      stalledInterval: config.stalledIntervalMs,
      maxStalledCount: REMOVAL_MAX_STALLED,
      // The limiter is shared by every worker through Redis; it is also what Retry-After sets.
      limiter: removalLimiter(config.apiRatePerSec),
      settings: {
        backoffStrategy: (attemptsMade: number, type?: string, err?: Error) =>
          type === BACKOFF_TYPE
            ? computeBackoff(attemptsMade, {
                baseMs: config.backoffMs,
                maxMs: config.backoffMaxMs,
                retryAfterMs: Math.min((err as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 0, config.retryAfterMaxMs),
              })
            : config.backoffMs,
      },
      autorun: false,
    },
  );
  // A job whose lock could not be renewed may already run elsewhere: tell the run here, which
  // then stops before sending (the fence and the check-first step cover the rest).
  removalWorker.on('lockRenewalFailed', (jobIds: string[]) => {
    for (const id of jobIds) removalWorker.cancelJob(id, 'lock lost');
  });
  removalWorker.on('failed', (job, err) => {
    if (!job) return;
    void (async () => {
      if ((await job.getState()) === 'failed') await processor.settleFailed(job, err);
    })().catch((cause: unknown) => logger.error({ err: cause, jobId: job.id }, 'could not record the outcome of a failed removal'));
  });
  return removalWorker;
}
