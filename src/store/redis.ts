import { Cluster, Redis } from 'ioredis';
import { withDeadline, within } from '../shared/deadline.js';
import { AutomodError } from '../shared/errors.js';
import type { Config } from '../shared/config.js';

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
  /** Fails a command Redis has not answered within this many ms (request-path connections). */
  commandTimeoutMs?: number | undefined;
}

/** Opens a connection as configured: a Cluster when seed nodes are given, else `REDIS_URL`. */
export function createRedis(redis: Config['redis'], options: RedisConnectOptions = {}): RedisClient {
  const common = {
    maxRetriesPerRequest: options.blocking ? null : (options.retriesPerRequest ?? 2),
    enableReadyCheck: true,
    connectionName: options.name,
    ...(options.commandTimeoutMs !== undefined && !options.blocking ? { commandTimeout: options.commandTimeoutMs } : {}),
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
      ...(url.protocol === 'rediss:'
        ? { dnsLookup: (address: string, callback: (err: null, address: string) => void) => callback(null, address) }
        : {}),
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
  options: { everyMs?: number; now?: () => number; msg?: string; quiet?: () => boolean } = {},
): void {
  const everyMs = options.everyMs ?? 5000;
  const msg = options.msg ?? 'Redis connection error';
  const now = options.now ?? Date.now;
  let last = { message: '', at: -Infinity };
  emitter.on('error', (err) => {
    // A worker waiting for Redis has already said so, once.
    if (options.quiet?.()) return;
    const at = now();
    if (err.message === last.message && at - last.at < everyMs) return;
    last = { message: err.message, at };
    logger.warn({ err, connection: name }, msg);
  });
}

/**
 * Where the configuration points, for messages: the URL without user or password (or the cluster
 * seeds), and the variable that set it, so an operator knows what to fix.
 */
export function redisAddress(redis: Config['redis']): { address: string; variable: 'REDIS_URL' | 'REDIS_CLUSTER_NODES' } {
  if (redis.clusterNodes.length > 0) {
    return {
      address: redis.clusterNodes.map((n) => `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`).join(','),
      variable: 'REDIS_CLUSTER_NODES',
    };
  }
  try {
    const url = new URL(redis.url);
    return {
      address: `${url.protocol}//${url.hostname}:${url.port || '6379'}${url.pathname.length > 1 ? url.pathname : ''}`,
      variable: 'REDIS_URL',
    };
  } catch {
    return { address: '(unparsable URL)', variable: 'REDIS_URL' };
  }
}

/** Redis did not answer within the connect timeout. The message names the address and variable. */
export class RedisUnreachableError extends AutomodError {
  constructor(redis: Config['redis'], timeoutMs: number, cause: string | undefined) {
    const { address, variable } = redisAddress(redis);
    super(
      'ERR_REDIS_UNREACHABLE',
      `Redis is unreachable at ${address} (${variable}) after ${formatSeconds(timeoutMs)}${cause ? `: ${cause}` : ''}`,
      { retryable: true },
    );
  }
}

function formatSeconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}

/** The message of a connection error, with the URL's password taken out should a driver echo it. */
function safeCause(err: unknown, redis: Config['redis']): string | undefined {
  if (!(err instanceof Error)) return undefined;
  let message = err.message.split('\n')[0] ?? '';
  try {
    const password = decodeURIComponent(new URL(redis.url).password);
    if (password) message = message.split(password).join('***');
  } catch {
    // An unparsable URL has no password to hide.
  }
  return message;
}

/**
 * Answers once Redis answers PING (resolves) or `timeoutMs` passes (rejects with
 * `RedisUnreachableError`), on a connection of its own that never logs: the caller says what it
 * wants to say, once, instead of ioredis' repeated error events.
 */
export async function probeRedis(redis: Config['redis'], timeoutMs: number): Promise<void> {
  const client = createRedis(redis, { blocking: true, name: 'automod-probe' });
  let lastError: unknown;
  client.on('error', (err: unknown) => {
    lastError = err;
  });
  try {
    await within(client.ping(), timeoutMs, () => new RedisUnreachableError(redis, timeoutMs, safeCause(lastError, redis)));
  } finally {
    client.disconnect();
  }
}

/**
 * Waits for Redis as long as it takes (a worker started before its Redis, or during a Redis
 * restart): says so once with `onWaiting`, probing every `timeoutMs`, and returns once it answers.
 */
export async function waitForRedis(
  redis: Config['redis'],
  options: { timeoutMs: number; onWaiting: (address: string, variable: string) => void; signal?: AbortSignal },
): Promise<{ waited: boolean }> {
  let waited = false;
  for (;;) {
    try {
      await probeRedis(redis, options.timeoutMs);
      return { waited };
    } catch (err) {
      if (!(err instanceof RedisUnreachableError)) throw err;
      if (options.signal?.aborted) throw err;
      if (!waited) {
        const { address, variable } = redisAddress(redis);
        options.onWaiting(address, variable);
        waited = true;
      }
    }
  }
}

/** Whether an error says the Redis connection is down (not that a command was refused). */
export function isRedisConnectionError(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err.name === 'MaxRetriesPerRequestError' || err instanceof RedisUnreachableError) return true;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && ['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND'].includes(code))
    return true;
  return /Connection is closed|Stream isn't writeable|enableOfflineQueue options is false|Redis is not ready|Command timed out/i.test(
    err.message,
  );
}

/**
 * Closes a connection without waiting on a Redis that is down: QUIT when connected (bounded by
 * `ms`), else a plain disconnect. A queued QUIT on a blocking connection would wait forever.
 */
export async function closeRedis(client: RedisClient, ms = 1000): Promise<void> {
  if (client.status === 'ready') await withDeadline(client.quit(), ms);
  if (client.status !== 'end') client.disconnect();
}
