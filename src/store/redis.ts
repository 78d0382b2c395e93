import { Cluster, Redis } from 'ioredis';
import type { Config } from '../config.js';

/** A connection to a standalone Redis or to a Redis Cluster; both speak the same commands. */
export type RedisClient = Redis | Cluster;

export interface RedisConnectOptions {
  /**
   * BullMQ workers and blocking readers need `maxRetriesPerRequest: null` (wait for Redis forever);
   * request/response users (HTTP, CLI) fail fast instead.
   */
  blocking?: boolean;
  /** Name shown by CLIENT LIST, handy when many workers share a Redis. */
  name?: string;
}

/** Opens a connection as configured: a Cluster when seed nodes are given, else `REDIS_URL`. */
export function createRedis(redis: Config['redis'], options: RedisConnectOptions = {}): RedisClient {
  const common = {
    maxRetriesPerRequest: options.blocking ? null : 2,
    enableReadyCheck: true,
    connectionName: options.name,
    // Reconnect quickly at first, then at most every 2 s, forever: a worker outlives a Redis restart.
    retryStrategy: (times: number) => Math.min(50 * 2 ** Math.min(times, 6), 2000),
  };
  if (redis.clusterNodes.length > 0) {
    const url = new URL(redis.url);
    return new Cluster([...redis.clusterNodes], {
      redisOptions: {
        ...common,
        username: url.username || undefined,
        password: url.password ? decodeURIComponent(url.password) : undefined,
        tls: url.protocol === 'rediss:' ? {} : undefined,
      },
      clusterRetryStrategy: common.retryStrategy,
      enableReadyCheck: true,
    });
  }
  return new Redis(redis.url, common);
}
