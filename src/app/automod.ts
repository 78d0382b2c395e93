import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { Worker, type Job } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { hasVideoSdkCredential, type Config } from '../config.js';
import { CredentialMissingError, RulesError, UsageError } from '../errors.js';
import { createEventProcessor } from '../events/event-processor.js';
import { createIngest } from '../events/ingest.js';
import { createEventProducer, EVENTS_QUEUE, openEventsQueue } from '../events/producer.js';
import { concurrencyPerPartition } from '../partitions.js';
import { failedRetentionSeconds } from '../queue-policy.js';
import { mirrorListsVersion } from '../store/lists.js';
import type { Logger } from '../logger.js';
import { createMetrics, type Metrics } from '../metrics.js';
import { createQueues, type Queues } from '../events/queues.js';
import { BACKOFF_TYPE, removalLimiter, REMOVALS_QUEUE } from '../removals/removal-queue.js';
import { computeBackoff } from '../removals/backoff.js';
import type { RemovalJobData } from '../removals/removal-job.js';
import { createRemovalProcessor } from '../removals/removal-processor.js';
import { createRemovalRequester } from '../removals/removal-requester.js';
import { createRulesRuntime, type RulesRuntime } from '../rules/rules-runtime.js';
import { loadRulesFolder } from '../rules/rules-source.js';
import { createAuditStore } from '../store/audit.js';
import { createCounterStore } from '../store/counters.js';
import { createDeadLetters } from '../store/dead-letter.js';
import { createEventLog } from '../store/event-log.js';
import { createJobOutcomeStore } from '../store/job-outcomes.js';
import { createKeys } from '../store/keys.js';
import { createListStore } from '../store/lists.js';
import { createPauseState } from '../store/pause-state.js';
import { closeRedis, createRedis, logConnectionErrors, waitForRedis, type RedisClient } from '../store/redis.js';
import { createRemovalClaims } from '../store/removal-claims.js';
import { createSessionStore } from '../store/session-store.js';
import { createPresence } from '../store/presence.js';
import { createVideoSdkClient } from '../videosdk/client.js';
import { createTokenProvider, type TokenProvider } from '../videosdk/token.js';

/**
 * How often a removal job may stall (its worker died or lost its lock) before BullMQ fails it. A
 * removal is safe to run again (claim, fence, check first), so one dead worker must not fail it.
 */
export const REMOVAL_MAX_STALLED = 3;

export interface ServicesOptions {
  metrics?: Metrics;
  /**
   * How long a command waits through a lost Redis connection before it fails, counted in
   * reconnection attempts (default 2: one-shot commands fail fast). Worker processes wait longer,
   * so a Redis restart delays their jobs instead of failing them.
   */
  redisRetriesPerRequest?: number;
  /** Fails a command Redis has not answered within this many ms (the HTTP request path). */
  redisCommandTimeoutMs?: number;
  /** Connection errors are not logged while this answers true (a worker waiting for Redis). */
  quietConnectionErrors?: () => boolean;
}

/** Everything a process shares: connections, stores, queues. Built without starting any work. */
export function createServices(config: Config, logger: Logger, options: ServicesOptions = {}) {
  // The queues get a connection of their own: BullMQ defines its ~50 scripts on the connection it
  // is given, and ioredis copies every defined script into each pipeline built on that connection,
  // which made every store pipeline (the events hot path builds one per batch) costly.
  const connect = { retriesPerRequest: options.redisRetriesPerRequest, commandTimeoutMs: options.redisCommandTimeoutMs };
  const redis = createRedis(config.redis, { name: 'automod', ...connect });
  const queueConnection = createRedis(config.redis, { name: 'automod-queues', ...connect });
  const keys = createKeys(config.keyPrefix, config.partitions);
  const retentionSeconds = failedRetentionSeconds(config.jobsKeepHours);
  const queues = createQueues(config, queueConnection);
  const quiet = { quiet: options.quietConnectionErrors };
  logConnectionErrors(redis, 'automod', logger, quiet);
  logConnectionErrors(queues.events, 'events queue', logger, quiet);
  logConnectionErrors(queues.removals, 'removals queue', logger, quiet);
  /**
   * Whether both connections are up (no round trip): checked before any wait on them. A new
   * connection counts as up until it fails, so a request made while it connects waits for it.
   */
  const redisUp = [redis, queueConnection].map(connectionUp);
  const redisReady = () => redisUp.every((up) => up());
  const pause = createPauseState({ redis, keys });
  const metrics =
    options.metrics ??
    createMetrics({
      redisReady,
      // With partitions, each events queue is its own series (`events:p3`).
      queues: () => [
        ...queues.eventPartitions.map((queue, k) => ({ name: config.partitions === 1 ? EVENTS_QUEUE : `${EVENTS_QUEUE}:p${k}`, queue })),
        { name: REMOVALS_QUEUE, queue: queues.removals },
      ],
      removalsRateLimitedUntil: () => pause.rateLimitedUntil(Date.now()),
    });
  const claims = createRemovalClaims({ redis, keys, dedupSeconds: config.dedupSeconds });
  const outcomes = createJobOutcomeStore({ redis, keys, retentionSeconds, maxJobs: config.removalRecordsMax });
  const sessions = createSessionStore({ redis, keys, retentionSeconds });
  const audit = createAuditStore({ redis, keys, maxRecords: config.auditMaxRecords });
  const lists = createListStore({ redis, keys });
  const deadLetters = createDeadLetters({ redis, keys, max: 10_000 });
  const eventLog = createEventLog({ redis, keys, retentionHours: config.eventLogHours, maxEvents: config.eventLogMaxEntries });
  const counters = createCounterStore({ redis, keys });
  const requester = createRemovalRequester({ queue: queues.removals, claims, logger });
  const producer = createEventProducer({
    redis,
    keys,
    queues: queues.eventPartitions,
    batchMax: config.eventBatchMax,
    lingerMs: config.ingestLingerMs,
    dedupSeconds: config.dedupSeconds,
  });
  const ingest = createIngest({ producer, metrics });
  const presence = createPresence({ redis, keys, ttlSeconds: config.dedupSeconds });
  // Without a credential the process still starts (an events-only worker, a read-only command);
  // the first removal then meets the missing credential and pauses removals like a refused one.
  const tokens: TokenProvider = hasVideoSdkCredential(config)
    ? createTokenProvider(config.videosdk)
    : {
        get: () => Promise.reject(new CredentialMissingError('no VideoSDK credential: set VIDEOSDK_TOKEN, or VIDEOSDK_API_KEY and VIDEOSDK_SECRET')),
        describe: () => 'no credential configured',
      };
  const client = createVideoSdkClient({
    apiBase: config.videosdk.apiBase,
    apiVersion: config.videosdk.apiVersion,
    timeoutMs: config.videosdk.timeoutMs,
    tokens,
    redact: [config.videosdk.secret, config.videosdk.token, config.http.apiToken, config.http.webhookToken].filter((v): v is string => v !== undefined),
    onAttempt: (attempt) => {
      metrics.apiAttempt(attempt);
      // One line per API attempt (the spec's log contract); never the token or the secret.
      logger.info({ operation: attempt.operation, status: attempt.status, latencyMs: attempt.latencyMs, requestId: attempt.requestId, error: attempt.error }, 'videosdk call');
    },
  });
  return {
    config,
    logger,
    redis,
    redisReady,
    keys,
    queues,
    metrics,
    claims,
    outcomes,
    sessions,
    audit,
    pause,
    lists,
    deadLetters,
    eventLog,
    counters,
    requester,
    ingest,
    presence,
    client,
    async close() {
      client.close();
      // With Redis down, drop the connections first: BullMQ's close would otherwise wait on them.
      if (!redisReady()) {
        queueConnection.disconnect();
        redis.disconnect();
      }
      await withDeadline(producer.drain(), 2000);
      await withDeadline(queues.close(), 2000);
      await closeRedis(queueConnection);
      await closeRedis(redis);
    },
  };
}

export type Services = ReturnType<typeof createServices>;

/** Reconnection attempts a worker process's commands wait through (about a minute with the 2 s cap). */
const WORKER_REDIS_RETRIES = 30;

/** Longest an HTTP request or a scrape waits on one Redis command. */
const HTTP_REDIS_COMMAND_TIMEOUT_MS = 1500;

/** How often a worker renews its entry in the workers hash; `automod status` drops entries 3x older. */
export const WORKER_HEARTBEAT_MS = 5000;

/** The `/readyz` reason of a process that runs removals without any VideoSDK credential. */
export const NO_CREDENTIAL_REASON = 'no VideoSDK credential configured (set VIDEOSDK_TOKEN, or VIDEOSDK_API_KEY and VIDEOSDK_SECRET): removals cannot run';

export interface StartOptions {
  /** Run only one kind of worker (split deployments); both by default. */
  only?: 'events' | 'removals' | undefined;
  /** Serve the HTTP API (default true). */
  http?: boolean;
  /** Reload rules when the folder changes (default true). */
  watchRules?: boolean;
  /** Event partitions this process consumes (`--partitions`); all of them by default. */
  partitions?: readonly number[] | undefined;
  /** Record a new `AUTOMOD_PARTITIONS` (`--repartition`): only once the old partitions' queues are drained. */
  repartition?: boolean | undefined;
}

export interface RunningAutomod {
  services: Services;
  rules: RulesRuntime | undefined;
  http: FastifyInstance | undefined;
  /** Base URL of the HTTP API when it listens. */
  url: string | undefined;
  workers: Worker[];
  close(): Promise<void>;
}

/**
 * Starts a worker process: loads and checks the rules (a bad rule set refuses to start), resumes a
 * queue paused for a credential failure, starts the consumers and the HTTP API.
 */
export async function startAutomod(config: Config, logger: Logger, options: StartOptions = {}): Promise<RunningAutomod> {
  let waitingForRedis = true;
  const quietConnectionErrors = () => waitingForRedis;
  // The HTTP API gets connections of its own that give up quickly (503 + Retry-After, a scrape that
  // answers within 2 s), while the workers' connections wait through a Redis restart.
  const front = createServices(config, logger, { redisRetriesPerRequest: 1, redisCommandTimeoutMs: HTTP_REDIS_COMMAND_TIMEOUT_MS, quietConnectionErrors });
  const services = createServices(config, logger, { redisRetriesPerRequest: WORKER_REDIS_RETRIES, metrics: front.metrics, quietConnectionErrors });
  const { queues, metrics } = services;
  const runEvents = options.only !== 'removals';
  const runRemovals = options.only !== 'events';
  const workers: Worker[] = [];
  let rules: RulesRuntime | undefined;
  let http: FastifyInstance | undefined;
  let subscriber: RedisClient | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const startedAt = new Date().toISOString();
  // BullMQ leaves connections it was given open; these are closed after the workers.
  const workerConnections: RedisClient[] = [];
  let eventProcessor: ReturnType<typeof createEventProcessor> | undefined;
  const onHangup = () => void rules?.reload('SIGHUP').catch((err: unknown) => logger.error({ err }, 'rules reload failed'));
  let starting = true;
  const notReady = (): string[] => [
    ...(starting ? ['starting: the workers are not running yet'] : []),
    // Removals would pause at the first one: say so before any is attempted.
    ...(runRemovals && !hasVideoSdkCredential(config) ? [NO_CREDENTIAL_REASON] : []),
  ];
  const closeFront = async () => {
    await http?.close().catch(() => undefined);
    await front.close().catch(() => undefined);
  };

  try {
    if (runEvents) rules = createRulesRuntime({ rulesDir: config.rulesDir, allowEmptyRules: config.allowEmptyRules, lists: services.lists, audit: services.audit, logger, metrics });

    let url: string | undefined;
    if (options.http ?? true) {
      // Loaded here, not at the top: one-shot CLI commands build services without the HTTP stack.
      // Listening before Redis answers: /healthz says the process lives, /readyz why it waits.
      const { buildHttpApp } = await import('../http/app.js');
      http = await buildHttpApp({
        ...front,
        apiToken: config.http.apiToken,
        webhookToken: config.http.webhookToken,
        webhookPublicKey: config.videosdk.webhookPublicKey,
        ingestMaxEvents: config.http.ingestMaxEvents,
        rules,
        notReady,
      });
      if (config.http.apiToken !== undefined && config.http.webhookToken === undefined && config.videosdk.webhookPublicKey === undefined) {
        logger.warn('the webhook takes AUTOMOD_API_TOKEN: a leaked webhook URL can queue removals; set AUTOMOD_WEBHOOK_TOKEN (or VIDEOSDK_WEBHOOK_PUBLIC_KEY) to give webhooks their own credential');
      }
      url = await http.listen({ host: config.http.host, port: config.http.port });
      logger.info({ url }, 'HTTP API listening');
    }

    // A rules folder that does not load is bad configuration: say so now, not after Redis answers.
    if (runEvents) {
      const checked = await loadRulesFolder(config.rulesDir);
      if (checked.problems) throw new RulesError(checked.problems);
    }

    await waitForRedis(config.redis, {
      timeoutMs: config.redis.connectTimeoutMs,
      onWaiting: (address, variable) => logger.warn({ address, variable }, `waiting for Redis at ${address} (${variable}) ...`),
    }).then(({ waited }) => {
      if (waited) logger.info('Redis is reachable');
    });
    waitingForRedis = false;

    await recordPartitions(services, options.repartition ?? false);
    if (runEvents) await mirrorListsVersion(services.redis, services.keys, { force: true });

    if (runEvents && rules) {
      await rules.load();
      if (options.watchRules ?? true) rules.watchFolder();
      process.on('SIGHUP', onHangup);
      // `automod rules reload` reaches every worker through Redis.
      subscriber = createRedis(config.redis, { blocking: true, name: 'automod-rules' });
      logConnectionErrors(subscriber, 'automod-rules', logger);
      await subscriber.subscribe(services.keys.rulesChannel());
      subscriber.on('message', (_channel: string, message: string) => {
        void rules
          ?.answerReloadRequest(message)
          .then((reply) => services.redis.publish(services.keys.rulesReplies(), JSON.stringify(reply)))
          .catch((err: unknown) => logger.error({ err }, 'rules reload failed'));
      });
    }

    if (runRemovals) {
      if (!hasVideoSdkCredential(config)) {
        logger.warn('no VideoSDK credential configured (VIDEOSDK_TOKEN or VIDEOSDK_API_KEY + VIDEOSDK_SECRET): removal calls will fail');
      }
      const paused = await services.pause.get();
      if (paused?.kind === 'credential') {
        // A worker starting (with a new credential, presumably) gives removals another chance.
        await services.pause.clear('credential');
        await queues.removals.resume();
        await services.audit.append({ at: new Date().toISOString(), kind: 'resume', reason: 'worker started after a credential failure' });
        logger.warn({ reason: paused.reason }, 'resuming removals paused for a credential failure');
      }
    }

    const blocking = () => {
      const connection = createRedis(config.redis, { blocking: true, name: 'automod-worker' });
      logConnectionErrors(connection, 'automod-worker', logger);
      workerConnections.push(connection);
      return connection;
    };
    if (runEvents && rules) {
      const processor = createEventProcessor({ ...services, rules, dedupSeconds: config.dedupSeconds, batchMax: config.eventBatchMax });
      eventProcessor = processor;
      // One worker per consumed partition, the process's concurrency shared out between them.
      const consumed = options.partitions ?? queues.eventPartitions.map((_, k) => k);
      const concurrency = concurrencyPerPartition(config.eventConcurrency, consumed.length);
      for (const k of consumed) {
        workers.push(
          new Worker(EVENTS_QUEUE, (job: Job) => processor.process(job), {
            connection: blocking(),
            prefix: queues.eventPartitions[k]!.opts.prefix!,
            concurrency,
            lockDuration: config.lockDurationMs,
            stalledInterval: config.stalledIntervalMs,
            autorun: false,
          }),
        );
      }
    }
    if (runRemovals) {
      const processor = createRemovalProcessor({
        ...services,
        queue: queues.removals,
        apiVersion: config.videosdk.apiVersion,
        timeoutMs: config.videosdk.timeoutMs,
        retryAfterMaxMs: config.retryAfterMaxMs,
      });
      const removalWorker = new Worker<RemovalJobData>(
        REMOVALS_QUEUE,
        // Three parameters: BullMQ then hands over an abort signal, used below when a lock is lost.
        (job, token, signal) => processor.process(job, token, signal),
        {
          connection: blocking(),
          prefix: config.keyPrefix,
          concurrency: config.removalConcurrency,
          lockDuration: config.lockDurationMs,
          stalledInterval: config.stalledIntervalMs,
          maxStalledCount: REMOVAL_MAX_STALLED,
          // The limiter is shared by every worker through Redis; it is also what Retry-After sets.
          limiter: removalLimiter(config.apiRatePerSec),
          settings: {
            backoffStrategy: (attemptsMade: number, type?: string, err?: Error) =>
              type === BACKOFF_TYPE
                ? computeBackoff(attemptsMade, {
                    baseMs: config.backoffMs,
                    maxMs: config.backoffMaxMs,
                    retryAfterMs: Math.min((err as { retryAfterMs?: number } | undefined)?.retryAfterMs ?? 0, config.retryAfterMaxMs),
                  })
                : config.backoffMs,
          },
          autorun: false,
        },
      );
      // A job whose lock could not be renewed may already run elsewhere: tell the run here, which
      // then stops before sending (the fence and the check-first step cover the rest).
      removalWorker.on('lockRenewalFailed', (jobIds: string[]) => {
        for (const id of jobIds) removalWorker.cancelJob(id, 'lock lost');
      });
      removalWorker.on('failed', (job, err) => {
        if (!job) return;
        void (async () => {
          if ((await job.getState()) === 'failed') await processor.settleFailed(job, err);
        })().catch((cause: unknown) => logger.error({ err: cause, jobId: job.id }, 'could not record the outcome of a failed removal'));
      });
      workers.push(removalWorker);
    }
    for (const worker of workers) {
      logConnectionErrors(worker, `${worker.name} worker`, logger, { msg: 'worker error' });
      worker.on('failed', (job, err) => {
        if (job && worker.name === EVENTS_QUEUE) logger.error({ err, jobId: job.id }, 'event processing failed');
      });
      void worker.run();
    }
    // Connected and named before the process says it started: `automod remove` finds workers by
    // their connection names, and a worker reported as started should be one it can find.
    await Promise.all(workers.map((worker) => worker.waitUntilReady()));

    // Every worker announces itself (for `automod status`); an entry not renewed is stale.
    const announce = () =>
      services.redis
        .hset(
          services.keys.workers(),
          workerId,
          JSON.stringify({ id: workerId, host: hostname(), pid: process.pid, only: options.only ?? 'all', startedAt, seenAt: Date.now(), rules: rules?.status(), url }),
        )
        .then(() => undefined, () => undefined);
    await announce();
    heartbeat = setInterval(() => void announce(), WORKER_HEARTBEAT_MS).unref();
    starting = false;
    logger.info(
      { only: options.only ?? 'all', prefix: config.prefix, apiVersion: config.videosdk.apiVersion, partitions: config.partitions, consuming: runEvents ? (options.partitions ?? 'all') : 'none' },
      'automod started',
    );

    let closing: Promise<void> | undefined;
    const close = () =>
      (closing ??= (async () => {
        process.off('SIGHUP', onHangup);
        clearInterval(heartbeat);
        rules?.close();
        // Leaves the workers list at once; with Redis down the entry just goes stale instead.
        if (services.redisReady()) {
          await Promise.race([services.redis.hdel(services.keys.workers(), workerId).catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
        }
        // Stop intake first, then let in-flight jobs finish within the bound; what is left stays queued.
        await http?.close().catch(() => undefined);
        const drained = Promise.all(workers.map((w) => w.close()));
        const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs).unref());
        if ((await Promise.race([drained.then(() => 'drained' as const), timer])) === 'timeout') {
          logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'in-flight jobs did not finish in time; leaving them for another worker');
          // BullMQ's forced close still waits on its connections: bounded, in case Redis is down.
          await withDeadline(Promise.all(workers.map((w) => w.close(true).catch(() => undefined))), 2000);
        }
        // Unlogged events are lost past the bound rather than holding the exit while Redis is down.
        await withDeadline(eventProcessor?.flush(), config.shutdownTimeoutMs);
        if (subscriber) await closeRedis(subscriber);
        await Promise.all(workerConnections.map((c) => closeRedis(c)));
        await services.close();
        await front.close().catch(() => undefined);
        logger.info('automod stopped');
      })());
    return { services, rules, http, url, workers, close };
  } catch (err) {
    process.off('SIGHUP', onHangup);
    clearInterval(heartbeat);
    rules?.close();
    await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    await closeFront();
    await subscriber?.quit().catch(() => undefined);
    for (const c of workerConnections) c.disconnect();
    await services.close().catch(() => undefined);
    throw err;
  }
}

/**
 * Records the deployment's `AUTOMOD_PARTITIONS` at the first start, and refuses a process with
 * another value: its producers and consumers would route sessions to other queues and tags than
 * the running ones (counters split, dedup markers missed). `--repartition` records the new value,
 * but only when the recorded partitions' events queues hold no job (waiting, active, delayed...).
 */
export async function recordPartitions(services: Services, repartition: boolean): Promise<void> {
  const { redis, keys, config, logger } = services;
  const n = config.partitions;
  await redis.set(keys.recordedPartitions(), String(n), 'NX');
  const recorded = Number((await redis.get(keys.recordedPartitions())) ?? n);
  if (recorded === n) return;
  if (!repartition) {
    throw new UsageError(
      `this deployment runs with AUTOMOD_PARTITIONS=${recorded} (recorded in Redis) but this process has ${n}: set AUTOMOD_PARTITIONS=${recorded}, or stop the producers, let the events queues drain and start once with --repartition`,
    );
  }
  const old = Array.from({ length: recorded }, (_, k) => openEventsQueue(services.queues.events.opts.connection as RedisClient, config.prefix, k, recorded));
  try {
    const counts = await Promise.all(old.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')));
    const left = counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
    if (left > 0) {
      throw new UsageError(`--repartition refused: the events queues of the ${recorded} recorded partitions still hold ${left} jobs; stop the producers and wait until they are drained`);
    }
  } finally {
    await Promise.all(old.map((q) => q.close().catch(() => undefined)));
  }
  await redis.set(keys.recordedPartitions(), String(n));
  logger.warn({ from: recorded, to: n }, 'repartitioned: sliding windows, strikes and event dedup markers start afresh under the new partitions');
}

/** Waits for `promise` (errors ignored) at most `ms`. */
async function withDeadline(promise: Promise<unknown> | undefined, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.resolve(promise).catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}

/** Tracks whether a connection is usable: down from a failure or close until it is ready again. */
function connectionUp(connection: RedisClient): () => boolean {
  let up = true;
  connection.on('ready', () => (up = true));
  for (const event of ['error', 'close', 'end']) connection.on(event, () => (up = false));
  return () => up;
}
