import type { Redis } from 'ioredis';
import { scanKeys } from '../store/scan-keys.js';

/** `used_memory` of the Redis server, in bytes. */
export async function usedMemory(redis: Redis): Promise<number> {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? Number.NaN);
}

/** CPU seconds the Redis server used so far (user + system, all threads). */
export async function redisCpuSeconds(redis: Redis): Promise<number> {
  const info = await redis.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** Calls and microseconds per Redis command so far (INFO commandstats). */
export async function commandStats(redis: Redis): Promise<Map<string, { calls: number; usec: number }>> {
  const info = await redis.info('commandstats');
  const stats = new Map<string, { calls: number; usec: number }>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) stats.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return stats;
}

/** The difference of two `commandStats`, per unit of work (`per`), busiest first. */
export function commandsPer(
  before: Map<string, { calls: number; usec: number }>,
  after: Map<string, { calls: number; usec: number }>,
  per: number,
): Record<string, { calls: number; usec: number }> {
  const rows: [string, { calls: number; usec: number }][] = [];
  for (const [name, a] of after) {
    const b = before.get(name) ?? { calls: 0, usec: 0 };
    if (a.calls > b.calls)
      rows.push([
        name,
        { calls: Math.round(((a.calls - b.calls) / per) * 100) / 100, usec: Math.round(((a.usec - b.usec) / per) * 10) / 10 },
      ]);
  }
  return Object.fromEntries(rows.sort((x, y) => y[1].usec - x[1].usec));
}

/** `redis_version` of the server. */
export async function redisVersion(redis: Redis): Promise<string> {
  const info = await redis.info('server');
  return /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown';
}

/**
 * What the keys under `keyPrefix` hold, grouped by kind (the part after the prefix: `count`,
 * `strikes`, `events` for the queue, ...): key count and `MEMORY USAGE` bytes. Shows what a run
 * leaves behind and why.
 */
export async function prefixFootprint(
  redis: Redis,
  keyPrefix: string,
): Promise<{ keys: number; bytes: number; byKind: Record<string, { keys: number; bytes: number }> }> {
  const byKind: Record<string, { keys: number; bytes: number }> = {};
  let total = 0;
  let count = 0;
  for await (const keys of scanKeys(redis, `${keyPrefix}:*`)) {
    const pipeline = redis.pipeline();
    for (const key of keys) pipeline.memory('USAGE', key);
    const replies = (await pipeline.exec()) ?? [];
    keys.forEach((key, i) => {
      const bytes = Number(replies[i]?.[1] ?? 0);
      const rest = key.slice(keyPrefix.length + 1).split(':');
      // BullMQ keys are `queue:part[:id]`; ours are `kind:...`.
      const kind =
        rest[0] === 'events' || rest[0] === 'removals'
          ? `${rest[0]}:${/^\d+$|^[0-9a-f-]{36}$/.test(rest[1] ?? '') ? '<job>' : (rest[1] ?? '')}`
          : (rest[0] ?? '');
      const entry = (byKind[kind] ??= { keys: 0, bytes: 0 });
      entry.keys += 1;
      entry.bytes += bytes;
      total += bytes;
      count += 1;
    });
  }
  return { keys: count, bytes: total, byKind };
}
