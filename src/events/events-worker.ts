import { Worker, type Job, type Queue } from 'bullmq';
import type { Config } from '../config.js';
import { concurrencyPerPartition } from '../partitions.js';
import type { RedisClient } from '../store/redis.js';
import type { createEventProcessor } from './event-processor.js';
import { EVENTS_QUEUE } from './producer.js';

export interface EventsWorkersOptions {
  processor: ReturnType<typeof createEventProcessor>;
  /** Every partition's events queue, index = partition. */
  eventPartitions: readonly Queue[];
  /** The partitions this process consumes. */
  consumed: readonly number[];
  config: Pick<Config, 'eventConcurrency' | 'lockDurationMs' | 'stalledIntervalMs'>;
  /** A blocking connection of its own for each worker (BullMQ leaves it open: the caller closes it). */
  connection: () => RedisClient;
}

/** One worker per consumed partition, the process's concurrency shared out between them; not yet running. */
export function createEventsWorkers({ processor, eventPartitions, consumed, config, connection }: EventsWorkersOptions): Worker[] {
  const concurrency = concurrencyPerPartition(config.eventConcurrency, consumed.length);
  return consumed.map(
    (k) =>
      new Worker(EVENTS_QUEUE, (job: Job) => processor.process(job), {
        connection: connection(),
        prefix: eventPartitions[k]!.opts.prefix!,
        concurrency,
        lockDuration: config.lockDurationMs,
        stalledInterval: config.stalledIntervalMs,
        autorun: false,
      }),
  );
}
