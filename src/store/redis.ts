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
  /**
   * Sends the commands made in one tick in one write (ioredis' auto-pipelining), for a
   * connection many concurrent jobs share: a write to the socket costs more than most commands.
   */
  autoPipelining?: boolean;
}

/** Opens a connection as configured: a Cluster when seed nodes are given, else `REDIS_URL`. */
export function createRedis(redis: Config['redis'], options: RedisConnectOptions = {}): RedisClient {
  const common = {
    maxRetriesPerRequest: options.blocking ? null : (options.retriesPerRequest ?? 2),
    enableReadyCheck: true,
    connectionName: options.name,
    ...(options.commandTimeoutMs !== undefined && !options.blocking ? { commandTimeout: options.commandTimeoutMs } : {}),
    ...(options.autoPipelining && !options.blocking ? { enableAutoPipelining: true } : {}),
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

/** A process's account of Redis outages (`createOutageLog`): whether Redis is down now. */
export interface OutageState {
  down(): boolean;
}

/**
 * Routes errors to the log instead of ioredis' "Unhandled error event" and BullMQ's
 * console output. A lost connection is the outage log's to tell (once when it starts, once when
 * Redis is back), so with `outage` given such errors are not logged here at all; without it, and
 * for any other error, a message is logged once and then at most every `everyMs` (default 5 s).
 * A connection error is logged by its message: its stack says nothing.
 */
export function logConnectionErrors(
  emitter: ErrorEmitter,
  name: string,
  logger: { warn(obj: object, msg: string): void },
  options: { everyMs?: number; now?: () => number; msg?: string; quiet?: () => boolean; outage?: OutageState } = {},
): void {
  const everyMs = options.everyMs ?? 5000;
  const msg = options.msg ?? 'Redis connection error';
  const now = options.now ?? Date.now;
  let last = { message: '', at: -Infinity };
  emitter.on('error', (err) => {
    // A worker waiting for Redis has already said so, once.
    if (options.quiet?.()) return;
    const lostConnection = isRedisConnectionError(err);
    if (lostConnection && options.outage) return;
    const at = now();
    if (err.message === last.message && at - last.at < everyMs) return;
    last = { message: err.message, at };
    logger.warn(lostConnection ? { error: err.message, connection: name } : { err, connection: name }, msg);
  });
}

/** Options of `createOutageLog`. */
export interface OutageLogOptions {
  /** Where Redis is, for the lines (`redisAddress`). */
  address: string;
  variable: string;
  /** How often a lasting outage is told again (default 30 s). */
  everyMs?: number;
  /** While this answers true, a lost connection starts no outage (a process waiting for Redis has said so). */
  quiet?: () => boolean;
  now?: () => number;
}

/**
 * One account of Redis outages for a process, whatever number of connections it holds: a line
 * when a connection that was ready is lost (`Redis connection lost`), one every `everyMs` while
 * it lasts, and one when every connection it lost is ready again (`Redis is reachable again`, with
 * how long it was down). Each connection's own errors are then left unsaid (`logConnectionErrors` with
 * `outage`): a 23 s outage is three lines, not dozens.
 */
export function createOutageLog(
  logger: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void; debug(obj: object, msg: string): void },
  options: OutageLogOptions,
) {
  const everyMs = options.everyMs ?? 30_000;
  const now = options.now ?? Date.now;
  const where = { address: options.address, variable: options.variable };
  let downSince: number | undefined;
  let lastError: string | undefined;
  let reminder: NodeJS.Timeout | undefined;
  let closed = false;
  const seconds = () => Math.round((now() - (downSince ?? now())) / 100) / 10;
  /** The connections lost in this outage and not ready again yet: back is when none is left. */
  const lostOnes = new Set<string>();
  let counter = 0;

  const lost = (connection: string) => {
    if (closed || options.quiet?.()) return;
    lostOnes.add(connection);
    if (downSince !== undefined) return;
    downSince = now();
    logger.warn({ ...where, connection: connection.replace(/#\d+$/, ''), error: lastError }, 'Redis connection lost; reconnecting');
    reminder = setInterval(
      () => logger.warn({ ...where, downForSeconds: seconds(), error: lastError }, 'Redis still unreachable'),
      everyMs,
    );
    reminder.unref();
  };
  const back = (connection: string) => {
    lostOnes.delete(connection);
    if (downSince === undefined || lostOnes.size > 0) return;
    clearInterval(reminder);
    if (!closed) logger.info({ ...where, downForSeconds: seconds() }, 'Redis is reachable again');
    downSince = undefined;
    lastError = undefined;
  };

  return {
    /** Follows a connection: its loss after it was ready starts an outage, its ready ends one. */
    watch(client: RedisClient, name: string): void {
      // Names repeat (each worker's connection is `automod-worker`): the set tells them apart.
      const id = `${name}#${++counter}`;
      let ready = client.status === 'ready';
      client.on('ready', () => {
        ready = true;
        back(id);
      });
      client.on('error', (err: Error) => {
        lastError = err.message.split('\n')[0];
      });
      client.on('close', () => {
        if (!ready) return;
        ready = false;
        lost(id);
      });
      // Each attempt, for whoever reads debug lines; the outage itself was told once.
      client.on('reconnecting', (delayMs: number) => {
        if (!closed) logger.debug({ connection: name, delayMs, error: lastError }, 'Redis reconnecting');
      });
    },
    down: (): boolean => downSince !== undefined,
    /** Stops telling (shutdown closes the connections on purpose). */
    close(): void {
      closed = true;
      clearInterval(reminder);
    },
  };
}

export type OutageLog = ReturnType<typeof createOutageLog>;

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
