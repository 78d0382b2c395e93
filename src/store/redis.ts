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
  /**
   * Reconnection attempts a command waits through before it fails (non-blocking connections;
   * default 2). Ignored when `blocking` is set.
   */
  retriesPerRequest?: number | undefined;
}

/** Opens a connection as configured: a Cluster when seed nodes are given, else `REDIS_URL`. */
export function createRedis(redis: Config['redis'], options: RedisConnectOptions = {}): RedisClient {
  const common = {
    maxRetriesPerRequest: options.blocking ? null : (options.retriesPerRequest ?? 2),
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
      // Managed TLS clusters (e.g. ElastiCache) issue certificates for host names: connect to the
      // names the cluster reports, not to addresses resolved from them, or TLS checks fail.
      ...(url.protocol === 'rediss:' ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) } : {}),
    });
  }
  return new Redis(redis.url, common);
}

/** Anything that emits connection errors: ioredis clients, BullMQ queues and workers. */
interface ErrorEmitter {
  on(event: 'error', listener: (err: Error) => void): unknown;
}

/**
 * Routes errors to the log instead of ioredis' "Unhandled error event" and BullMQ's
 * console output. While Redis is down the same error repeats on every reconnection attempt, so a
 * message is logged once and then at most every `everyMs` (default 5 s).
 */
export function logConnectionErrors(
  emitter: ErrorEmitter,
  name: string,
  logger: { warn(obj: object, msg: string): void },
  options: { everyMs?: number; now?: () => number; msg?: string } = {},
): void {
  const everyMs = options.everyMs ?? 5000;
  const msg = options.msg ?? 'Redis connection error';
  const now = options.now ?? Date.now;
  let last = { message: '', at: -Infinity };
  emitter.on('error', (err) => {
    const at = now();
    if (err.message === last.message && at - last.at < everyMs) return;
    last = { message: err.message, at };
    logger.warn({ err, connection: name }, msg);
  });
}
