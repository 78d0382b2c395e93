import { randomBytes } from 'node:crypto';
import type { Job } from 'bullmq';
import type { Redis } from 'ioredis';
import { createServices } from '../app/services.js';
import type { Config } from '../shared/config.js';
import type { MeetingEvent } from '../shared/event-schema.js';
import { createEventProcessor } from '../events/event-processor.js';
import type { Logger } from '../shared/logger.js';
import { createRulesRuntime } from '../rules/rules-runtime.js';
import { redisCpuSeconds } from './redis-memory.js';
import { round, wallClockMs } from './stats.js';

export interface ProcessorMicroResult {
  events: number;
  /** Best measured round: events processed per second, in this process. */
  eventsPerSec: number;
  /** CPU (user + system) of this process per event in that round, in microseconds. */
  cpuUsPerEvent: number;
  /** CPU of the Redis server per event in that round (INFO cpu), in microseconds. */
  redisCpuUsPerEvent: number;
}

/**
 * The events processor alone, in this process: the worker's own code (validation, the counters
 * script, rules, removal requests, audit, event log) against the real Redis, without BullMQ. Jobs
 * are handed over `concurrency` at a time, as the worker's slots take them. One warm-up round,
 * then `rounds` measured ones; each round's events carry fresh ids and participants, so nothing is
 * a duplicate or already removed. Together with the raw drain's CPU per job, this tells how the
 * worker's CPU per event splits between BullMQ and the product.
 *
 * `config` must use a prefix of its own: removal requests stay queued there (no removal worker
 * runs), and the caller deletes it afterwards.
 */
export async function measureProcessor(
  config: Config,
  events: readonly MeetingEvent[],
  logger: Logger,
  options: { concurrency: number; rounds?: number; /** For INFO (Redis CPU). */ monitor: Redis },
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
    const runRound = async (n: number) => {
      const now = Date.now();
      const jobs = events.map((e, i) => {
        const data = {
          ...e,
          id: `${e.id}-${tag}-r${n}`,
          ...(e.participantId !== undefined ? { participantId: `${e.participantId}-${tag}-r${n}` } : {}),
        };
        return { id: `proc-${n}-${i}`, timestamp: now, data } as unknown as Job;
      });
      const redis0 = await redisCpuSeconds(options.monitor);
      const cpu0 = process.cpuUsage();
      const t0 = wallClockMs();
      let next = 0;
      const slot = async () => {
        while (next < jobs.length) await processor.process(jobs[next++]!);
      };
      await Promise.all(Array.from({ length: options.concurrency }, slot));
      await processor.flush();
      const cpu = process.cpuUsage(cpu0);
      const ms = wallClockMs() - t0;
      return { ms, cpuUs: cpu.user + cpu.system, redisUs: ((await redisCpuSeconds(options.monitor)) - redis0) * 1e6 };
    };
    await runRound(0);
    const measured = [];
    for (let n = 1; n <= (options.rounds ?? 3); n++) measured.push(await runRound(n));
    // Best round: what the code costs, not what a noisy neighbour left of a core.
    const best = measured.reduce((a, b) => (b.cpuUs < a.cpuUs ? b : a));
    return {
      events: events.length,
      eventsPerSec: Math.round((events.length / best.ms) * 1000),
      cpuUsPerEvent: round(best.cpuUs / events.length, 1),
      redisCpuUsPerEvent: round(best.redisUs / events.length, 1),
    };
  } finally {
    rules.close();
    await services.close();
  }
}
