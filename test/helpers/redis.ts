import { randomBytes } from 'node:crypto';
import { parseConfig, type Config, type Env } from '../../src/shared/config.js';
import { createRedis, type RedisClient } from '../../src/store/redis.js';
import { deleteKeys } from '../../src/store/scan-keys.js';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A unique, plain prefix for one test file (the worker hash-tags it as `{prefix}`). */
export function uniquePrefix(name: string): string {
  return `t-${name}-${randomBytes(4).toString('hex')}`;
}

/** A parsed config for tests: the test Redis, a unique prefix, quiet logs, fast backoff. */
export function testConfig(prefix: string, env: Env = {}): Config {
  return parseConfig({
    REDIS_URL,
    AUTOMOD_PREFIX: prefix,
    LOG_LEVEL: 'silent',
    AUTOMOD_BACKOFF_MS: '20',
    AUTOMOD_BACKOFF_MAX_MS: '200',
    ...env,
  });
}

/** Deletes every key of a prefix (queues included). */
export async function deletePrefix(redis: RedisClient, prefix: string): Promise<void> {
  // Partition tags ({prefix:pK}) too.
  for (const pattern of [`{${prefix}}*`, `{${prefix}:p*}*`]) await deleteKeys(redis, pattern);
}

/** A connection for a test file plus its cleanup. */
export function testRedis(config: Config): { redis: RedisClient; cleanup: () => Promise<void> } {
  const redis = createRedis(config.redis);
  return {
    redis,
    cleanup: async () => {
      await deletePrefix(redis, config.prefix);
      await redis.quit();
    },
  };
}
