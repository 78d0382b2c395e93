import type { Redis } from 'ioredis';
import { redisCpuSeconds } from './redis-memory.js';
import { round, wallClockMs } from './stats.js';
import { readCpuSeconds } from './worker-process.js';

/** CPU used over a span, as a share of one core (100 = one core busy the whole time). */
export interface CpuUse {
  processPct: number;
  redisPct: number;
  /** CPU seconds the process used over the span. */
  processSeconds: number;
  /** CPU seconds the Redis server used over the span (INFO cpu: used_cpu_user + used_cpu_sys). */
  redisSeconds: number;
}

/**
 * Starts measuring the CPU of process `pid` and of the Redis server; `stop()` answers their use
 * since. Tells which side a throughput figure was bound by.
 */
export async function cpuMeter(redis: Redis, pid: number | undefined): Promise<{ stop(): Promise<CpuUse> }> {
  const t0 = wallClockMs();
  const p0 = pid === undefined ? Number.NaN : readCpuSeconds(pid);
  const r0 = await redisCpuSeconds(redis);
  return {
    async stop() {
      const seconds = (wallClockMs() - t0) / 1000;
      const p1 = pid === undefined ? Number.NaN : readCpuSeconds(pid);
      const r1 = await redisCpuSeconds(redis);
      return {
        processPct: round(((p1 - p0) / seconds) * 100, 0),
        redisPct: round(((r1 - r0) / seconds) * 100, 0),
        processSeconds: p1 - p0,
        redisSeconds: r1 - r0,
      };
    },
  };
}
