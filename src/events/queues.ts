import type { Queue } from 'bullmq';
import type { Config } from '../shared/config.js';
import type { RemovalJobData } from '../removals/removal-job.js';
import { openRemovalsQueue } from '../removals/removal-queue.js';
import { eventJobOptions, openEventsQueue } from './producer.js';
import type { RedisClient } from '../store/redis.js';

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
  const eventPartitions = Array.from({ length: config.partitions }, (_, k) =>
    openEventsQueue(connection, config.prefix, k, config.partitions, jobOptions),
  );
  const events = eventPartitions[0]!;
  const removals = openRemovalsQueue(connection, config);
  return {
    events,
    eventPartitions,
    removals,
    async close() {
      await Promise.all([...eventPartitions.map((q) => q.close()), removals.close()]);
    },
  };
}
