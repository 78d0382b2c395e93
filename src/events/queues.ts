import { Queue } from 'bullmq';
import type { Config } from '../shared/config.js';
import { EVENTS_STREAM_MAX_LEN } from '../shared/queue-policy.js';
import type { RemovalJobData } from '../removals/removal-job.js';
import { removalJobOptions, REMOVALS_QUEUE } from '../removals/removal-queue.js';
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
