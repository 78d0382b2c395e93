import { UsageError } from './errors.js';

/** Most partitions a deployment may have (each is a BullMQ queue every worker polls). */
export const MAX_PARTITIONS = 1024;

/** FNV-1a, 32 bit, over the UTF-8 bytes of `text` (offset 2166136261, prime 16777619), unsigned. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of Buffer.from(text, 'utf8')) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** The partition of a session: `fnv1a32(utf8(sessionId)) mod partitions` (public contract). */
export function partitionOf(sessionId: string, partitions: number): number {
  if (!Number.isSafeInteger(partitions) || partitions < 1)
    throw new RangeError(`partitions must be a whole number from 1, got ${partitions}`);
  return partitions === 1 ? 0 : fnv1a32(sessionId) % partitions;
}

/**
 * The hash-tagged prefix of partition `k`: `{BASE}` with one partition (today's names, unchanged),
 * `{BASE:pK}` with more. A partition's events queue, counters, strikes and event markers use it,
 * so one script or MULTI never crosses Redis Cluster slots.
 */
export function partitionPrefix(prefix: string, partition: number, partitions: number): string {
  return partitions === 1 ? `{${prefix}}` : `{${prefix}:p${partition}}`;
}

/**
 * Parses `automod start --partitions`: `3`, `0-5` or `0,2,4-6`. Every number must be a partition of
 * this deployment (0 to partitions - 1). Answers the sorted, distinct list.
 */
export function parsePartitionList(spec: string, partitions: number): number[] {
  const chosen = new Set<number>();
  const parts = spec.split(',').map((p) => p.trim());
  for (const part of parts) {
    const match = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!match) throw new UsageError(`--partitions: "${part}" is not a partition number or range (use 3, 0-5 or 0,2,4-6)`);
    const from = Number(match[1]);
    const to = match[2] === undefined ? from : Number(match[2]);
    if (to < from) throw new UsageError(`--partitions: range "${part}" ends before it starts`);
    if (to >= partitions) {
      throw new UsageError(
        `--partitions: ${to} is not a partition of this deployment (AUTOMOD_PARTITIONS=${partitions}: 0 to ${partitions - 1})`,
      );
    }
    for (let k = from; k <= to; k++) chosen.add(k);
  }
  return [...chosen].sort((a, b) => a - b);
}

/**
 * Events queue concurrency per consumed partition: the process's `AUTOMOD_EVENT_CONCURRENCY`
 * shared out (rounded up, at least 1), so a worker on all partitions runs about as many jobs at
 * once as before.
 */
export function concurrencyPerPartition(eventConcurrency: number, consumed: number): number {
  return Math.max(1, Math.ceil(eventConcurrency / Math.max(1, consumed)));
}
