import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { createServices } from '../app/services.js';
import type { Config } from '../shared/config.js';
import type { MeetingEvent } from '../shared/event-schema.js';
import { createEventProcessor } from '../events/event-processor.js';
import { BATCH_JOB } from '../events/producer.js';
import type { Logger } from '../shared/logger.js';
import { createRulesRuntime } from '../rules/rules-runtime.js';
import { redisCpuSeconds } from './redis-memory.js';
import { round, wallClockMs } from './stats.js';

/** One way of handing the events over: its best measured round. */
export interface ProcessorRound {
  /** Events per job (1: single-event jobs). */
  batch: number;
  /** Jobs handed over at once. */
  concurrency: number;
  /** Events processed per second, in this process. */
  eventsPerSec: number;
  /** CPU (user + system) of this process per event, in microseconds. */
  cpuUsPerEvent: number;
  /** CPU of the Redis server per event (INFO cpu), in microseconds. */
  redisCpuUsPerEvent: number;
}

export interface ProcessorMicroResult {
  events: number;
  /** Batch jobs of `batched.batch` events, as many at once as `AUTOMOD_EVENTS_IN_FLIGHT` allows. */
  batched: ProcessorRound;
  /** One job per event, `AUTOMOD_EVENT_CONCURRENCY` at once. */
  single: ProcessorRound;
}

/**
 * The events processor alone, in this process: the worker's own code (validation, the counters
 * script, rules, removal requests, audit, event log) against the real Redis, without BullMQ, for
 * batch jobs and for single-event jobs. Jobs are handed over as many at a time as the worker's
 * slots would take them. One warm-up round, then `rounds` measured ones for each; every round's
 * events carry fresh ids, participants and sessions, so nothing is a duplicate, already removed,
 * or counted into another round's windows (four rounds' joins in one session would be a join wave
 * and lock every meeting). Together with the raw drain's CPU per job, this tells how the worker's
 * CPU per event splits between BullMQ and the product.
 *
 * `config` must use a prefix of its own: removal requests stay queued there (no removal worker
 * runs), and the caller deletes it afterwards.
 */
export async function measureProcessor(
  config: Config,
  events: readonly MeetingEvent[],
  logger: Logger,
  options: { batch: number; rounds?: number; /** For INFO (Redis CPU). */ monitor: Redis },
): Promise<ProcessorMicroResult> {
  const services = createServices(config, logger);
  const rules = createRulesRuntime({
    rulesDir: config.rulesDir,
    lists: services.lists,
    audit: services.audit,
    logger,
    metrics: services.metrics,
  });
  try {
    await rules.load();
    const processor = createEventProcessor({ ...services, rules, dedupSeconds: config.dedupSeconds });
    // Fresh per call too, so that measuring twice on one prefix finds no duplicates.
    const tag = randomBytes(3).toString('hex');
    let roundNo = 0;
    const fresh = (n: number) => (e: MeetingEvent) => ({
      ...e,
      id: `${e.id}-${tag}-r${n}`,
      sessionId: `${e.sessionId}-${tag}-r${n}`,
      ...(e.meetingId !== undefined ? { meetingId: `${e.meetingId}-${tag}-r${n}` } : {}),
      ...(e.participantId !== undefined ? { participantId: `${e.participantId}-${tag}-r${n}` } : {}),
    });
    const runRound = async (batch: number, concurrency: number) => {
      const n = roundNo++;
      const now = Date.now();
      const data = events.map(fresh(n));
      const jobs: Job[] = [];
      for (let i = 0; i < data.length; i += batch) {
        const job =
          batch === 1
            ? { id: `proc-${n}-${i}`, name: data[i]!.type, timestamp: now, data: data[i] }
            : { id: `proc-${n}-${i}`, name: BATCH_JOB, timestamp: now, data: { events: data.slice(i, i + batch) } };
        jobs.push(job as unknown as Job);
      }
      const redis0 = await redisCpuSeconds(options.monitor);
      const cpu0 = process.cpuUsage();
      const t0 = wallClockMs();
      let next = 0;
      const slot = async () => {
        while (next < jobs.length) await processor.process(jobs[next++]!);
      };
      await Promise.all(Array.from({ length: concurrency }, slot));
      await processor.flush();
      const cpu = process.cpuUsage(cpu0);
      const ms = wallClockMs() - t0;
      return { ms, cpuUs: cpu.user + cpu.system, redisUs: ((await redisCpuSeconds(options.monitor)) - redis0) * 1e6 };
    };
    const measure = async (batch: number, concurrency: number): Promise<ProcessorRound> => {
      await runRound(batch, concurrency);
      const measured = [];
      for (let r = 0; r < (options.rounds ?? 3); r++) measured.push(await runRound(batch, concurrency));
      // Best round: what the code costs, not what a noisy neighbour left of a core.
      const best = measured.reduce((a, b) => (b.cpuUs < a.cpuUs ? b : a));
      return {
        batch,
        concurrency,
        eventsPerSec: Math.round((events.length / best.ms) * 1000),
        cpuUsPerEvent: round(best.cpuUs / events.length, 1),
        redisCpuUsPerEvent: round(best.redisUs / events.length, 1),
      };
    };
    // As many batch jobs at once as the events-in-flight budget lets a worker take (`EventsInFlight`).
    const batched = await measure(
      options.batch,
      Math.max(1, Math.min(config.eventConcurrency, Math.floor(config.eventsInFlight / options.batch))),
    );
    const single = await measure(1, config.eventConcurrency);
    return { events: events.length, batched, single };
  } finally {
    rules.close();
    await services.close();
  }
}
