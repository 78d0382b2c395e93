import { Worker, type Job, type Queue } from 'bullmq';
import type { Config } from '../shared/config.js';
import { concurrencyPerPartition } from '../shared/partitions.js';
import type { RedisClient } from '../store/redis.js';
import type { createEventProcessor } from './event-processor.js';
import { BATCH_JOB, EVENTS_QUEUE } from './producer.js';

export interface EventsWorkersOptions {
  processor: ReturnType<typeof createEventProcessor>;
  /** Every partition's events queue, index = partition. */
  eventPartitions: readonly Queue[];
  /** The partitions this process consumes. */
  consumed: readonly number[];
  config: Pick<Config, 'eventConcurrency' | 'eventsInFlight' | 'lockDurationMs' | 'stalledIntervalMs'>;
  /** A blocking connection of its own for each worker (BullMQ leaves it open: the caller closes it). */
  connection: () => RedisClient;
}

/**
 * One worker per consumed partition, the process's concurrency and events-in-flight budget shared
 * out between them; not yet running. Each worker takes as many jobs at once as its share of
 * `AUTOMOD_EVENTS_IN_FLIGHT` allows for the events per job it sees (see `EventsInFlight`), never
 * more than its share of `AUTOMOD_EVENT_CONCURRENCY`.
 */
export function createEventsWorkers({ processor, eventPartitions, consumed, config, connection }: EventsWorkersOptions): Worker[] {
  const concurrency = concurrencyPerPartition(config.eventConcurrency, consumed.length);
  const budget = concurrencyPerPartition(config.eventsInFlight, consumed.length);
  return consumed.map((k) => {
    const inFlight = new EventsInFlight(budget, concurrency);
    const worker: Worker = new Worker(
      EVENTS_QUEUE,
      (job: Job) => {
        worker.concurrency = inFlight.seen(eventsOf(job));
        return processor.process(job);
      },
      {
        connection: connection(),
        prefix: eventPartitions[k]!.opts.prefix!,
        concurrency: inFlight.concurrency,
        lockDuration: config.lockDurationMs,
        stalledInterval: config.stalledIntervalMs,
        autorun: false,
      },
    );
    return worker;
  });
}

/** Events a job carries: a batch job's events (a malformed one counts 1), 1 for a single-event job. */
export function eventsOf(job: Pick<Job, 'name' | 'data'>): number {
  if (job.name !== BATCH_JOB) return 1;
  const events = (job.data as { events?: unknown } | null)?.events;
  return Array.isArray(events) ? Math.max(1, events.length) : 1;
}

/**
 * How many events jobs a worker takes at once so that the events they carry stay within a budget:
 * 200 single-event jobs are 200 events, 200 batch jobs of 100 are 20,000 (their data, facts and
 * promises), which costs memory and makes every other job of the process (removals first) wait
 * behind them on the event loop. Follows the events per job it sees: up at once when bigger jobs
 * arrive, back down slowly, so a burst of small jobs does not let the next big ones flood in.
 */
export class EventsInFlight {
  private average = 1;
  concurrency: number;

  constructor(
    private readonly budget: number,
    private readonly maxJobs: number,
  ) {
    this.concurrency = this.jobsFor(1);
  }

  /** Records a job's event count and answers the concurrency to use from now on. */
  seen(events: number): number {
    this.average = events >= this.average ? events : this.average + (events - this.average) * 0.05;
    this.concurrency = this.jobsFor(this.average);
    return this.concurrency;
  }

  private jobsFor(eventsPerJob: number): number {
    return Math.max(1, Math.min(this.maxJobs, Math.floor(this.budget / eventsPerJob)));
  }
}
