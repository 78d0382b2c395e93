import type { RedisClient } from './redis.js';

/** Iterates the keys matching `pattern` (SCAN, never KEYS), a page at a time. */
export async function* scanKeys(redis: RedisClient, pattern: string): AsyncIterable<string[]> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', pattern, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) yield keys;
  } while (cursor !== '0');
}

/** Deletes the keys matching `pattern` (a prefix's keys: `{automod}*`); answers how many. */
export async function deleteKeys(redis: RedisClient, pattern: string): Promise<number> {
  let n = 0;
  for await (const keys of scanKeys(redis, pattern)) n += await redis.unlink(...keys);
  return n;
}
