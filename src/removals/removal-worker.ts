import { Worker } from 'bullmq';
import type { Config } from '../shared/config.js';
import type { Logger } from '../shared/logger.js';
import type { RedisClient } from '../store/redis.js';
import { computeBackoff } from './backoff.js';
import { InFlightBound } from './in-flight.js';
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
  /** How many removal workers consume the queue (this one included); undefined when unknown. */
  countWorkers?: (() => Promise<number | undefined>) | undefined;
  /** Told the in-flight bound whenever it changes. */
  onBound?: ((bound: number) => void) | undefined;
}

/** How often the number of workers sharing the rate is counted again. */
const WORKER_COUNT_EVERY_MS = 15_000;

/**
 * The removals worker, not yet running: the limiter, the in-flight bound that follows the time a
 * removal takes (see `InFlightBound`), the backoff, lock loss and failed-outcome recording.
 */
export function createRemovalWorker(options: RemovalWorkerOptions): Worker<RemovalJobData> {
  const { processor, config, connection, logger } = options;
  const inFlight = new InFlightBound({ ratePerSec: config.apiRatePerSec, max: config.removalConcurrency });
  const apply = (bound: number) => {
    if (removalWorker.concurrency === bound) return;
    removalWorker.concurrency = bound;
    options.onBound?.(bound);
  };
  let countedRunning = false;
  const countWorkersNow = () =>
    void options
      .countWorkers?.()
      .then((n) => apply(inFlight.shareWith(n)))
      .catch(() => undefined);
  const removalWorker: Worker<RemovalJobData> = new Worker<RemovalJobData>(
    REMOVALS_QUEUE,
    // Three parameters: BullMQ then hands over an abort signal, used below when a lock is lost.
    async (job, token, signal) => {
      const started = performance.now();
      try {
        return await processor.process(job, token, signal);
      } finally {
        apply(inFlight.observe(performance.now() - started));
        // Counted again once this worker is surely registered (the count at creation may miss it).
        if (!countedRunning) {
          countedRunning = true;
          countWorkersNow();
        }
      }
    },
    {
      connection,
      prefix: config.keyPrefix,
      concurrency: inFlight.bound,
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
  options.onBound?.(inFlight.bound);
  if (options.countWorkers) {
    const timer = setInterval(countWorkersNow, WORKER_COUNT_EVERY_MS).unref();
    countWorkersNow();
    removalWorker.once('closing', () => clearInterval(timer));
  }
  removalWorker.on('failed', (job, err) => {
    if (!job) return;
    void (async () => {
      if ((await job.getState()) === 'failed') await processor.settleFailed(job, err);
    })().catch((cause: unknown) => logger.error({ err: cause, jobId: job.id }, 'could not record the outcome of a failed removal'));
  });
  return removalWorker;
}
