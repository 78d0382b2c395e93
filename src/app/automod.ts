import { createHash, randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Worker } from 'bullmq';
import type { FastifyInstance } from 'fastify';
import { hasVideoSdkCredential, type Config } from '../shared/config.js';
import { withDeadline } from '../shared/deadline.js';
import { RulesError } from '../shared/errors.js';
import { createEventProcessor } from '../events/event-processor.js';
import { createYielder } from '../shared/yielder.js';
import { createEventsWorkers } from '../events/events-worker.js';
import { EVENTS_QUEUE } from '../events/producer.js';
import type { Logger } from '../shared/logger.js';
import type { ReservedToken, TokensFile } from '../http/tokens-file.js';
import { createNotificationWorker } from '../notify/notify-worker.js';
import { createRemovalProcessor } from '../removals/removal-processor.js';
import { createRemovalWorker } from '../removals/removal-worker.js';
import { findWorkers } from '../removals/worker-presence.js';
import { createRulesRuntime, type RulesRuntime } from '../rules/rules-runtime.js';
import { loadRulesFolder } from '../rules/rules-source.js';
import { mirrorListsVersion } from '../store/lists.js';
import {
  closeRedis,
  createOutageLog,
  createRedis,
  logConnectionErrors,
  redisAddress,
  waitForRedis,
  type RedisClient,
} from '../store/redis.js';
import { createServices, recordPartitions, type Services } from './services.js';
import { createCredentialWatch, type CredentialWatch } from './worker-credential.js';

/**
 * How often a removal job may stall (its worker died or lost its lock) before BullMQ fails it. A
 * removal is safe to run again (claim, fence, check first), so one dead worker must not fail it.
 */
export const REMOVAL_MAX_STALLED = 3;

/** Reconnection attempts a worker process's commands wait through (about a minute with the 2 s cap). */
const WORKER_REDIS_RETRIES = 30;

/** Longest an HTTP request or a scrape waits on one Redis command. */
const HTTP_REDIS_COMMAND_TIMEOUT_MS = 1500;

/** How often a worker looks for lockdowns whose time is up (and tells that they ended). */
const LOCKDOWN_SWEEP_MS = 5000;

/** How often a worker renews its entry in the workers hash; `automod status` drops entries 3x older. */
export const WORKER_HEARTBEAT_MS = 5000;

/** The `/readyz` reason of a process that runs removals without any VideoSDK credential. */
export const NO_CREDENTIAL_REASON =
  'no VideoSDK credential configured (set VIDEOSDK_TOKEN, or VIDEOSDK_API_KEY and VIDEOSDK_SECRET): removals cannot run';

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
  // One account of a Redis outage for the whole process: when it starts, while it lasts, when it ends.
  const outage = createOutageLog(logger, { ...redisAddress(config.redis), quiet: quietConnectionErrors });
  // The HTTP API gets connections of its own that give up quickly (503 + Retry-After, a scrape that
  // answers within 2 s), while the workers' connections wait through a Redis restart.
  const front = createServices(config, logger, {
    redisRetriesPerRequest: 1,
    redisCommandTimeoutMs: HTTP_REDIS_COMMAND_TIMEOUT_MS,
    quietConnectionErrors,
    outage,
  });
  const services = createServices(config, logger, {
    redisRetriesPerRequest: WORKER_REDIS_RETRIES,
    metrics: front.metrics,
    quietConnectionErrors,
    outage,
  });
  const { queues, metrics } = services;
  const runEvents = options.only !== 'removals';
  const runRemovals = options.only !== 'events';
  const workers: Worker[] = [];
  let rules: RulesRuntime | undefined;
  let http: FastifyInstance | undefined;
  let tokens: TokensFile | undefined;
  let subscriber: RedisClient | undefined;
  let heartbeat: NodeJS.Timeout | undefined;
  let lockdownSweep: NodeJS.Timeout | undefined;
  const workerId = `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const startedAt = new Date().toISOString();
  // BullMQ leaves connections it was given open; these are closed after the workers.
  const workerConnections: RedisClient[] = [];
  let eventProcessor: ReturnType<typeof createEventProcessor> | undefined;
  // One for the process: rule evaluation and batch parsing give the event loop back every 20 ms,
  // so /healthz answers and BullMQ renews its job locks whatever the rules cost.
  const yieldToLoop = createYielder(20);
  const onHangup = () => void rules?.reload('SIGHUP').catch((err: unknown) => logger.error({ err }, 'rules reload failed'));
  let starting = true;
  const notReady = (): string[] => [
    ...(starting ? ['starting: the workers are not running yet'] : []),
    // Removals would pause at the first one: say so before any is attempted.
    ...(runRemovals && !hasVideoSdkCredential(config) ? [NO_CREDENTIAL_REASON] : []),
  ];
  // Made once the services are (below); `/readyz` asks it for warnings before that, too.
  let credential: CredentialWatch | undefined;
  const warnings = (): string[] => credential?.warnings() ?? [];
  let announce: (() => Promise<void>) | undefined;

  let started = false;
  /**
   * The one way down, for a started process and for a start that failed half-way: stop intake,
   * let in-flight jobs finish within the bound (a failed start does not wait), then close the
   * connections the workers and the services hold.
   */
  const shutdown = async (): Promise<void> => {
    process.off('SIGHUP', onHangup);
    announce = undefined;
    outage.close();
    clearInterval(heartbeat);
    clearInterval(lockdownSweep);
    await credential?.close();
    rules?.close();
    tokens?.close();
    // Intake stops first: the workers take no new job from the moment the signal arrives, while
    // the jobs they hold finish during the steps below.
    const drained = started ? Promise.all(workers.map((w) => w.close())) : undefined;
    drained?.catch(() => undefined); // awaited below; handled meanwhile
    const timer = new Promise<'timeout'>((resolve) => setTimeout(() => resolve('timeout'), config.shutdownTimeoutMs).unref());
    // Leaves the workers list at once; with Redis down the entry just goes stale instead.
    if (started && services.redisReady()) {
      await withDeadline(services.redis.hdel(services.keys.workers(), workerId), 1000);
    }
    await http?.close().catch(() => undefined);
    if (drained) {
      if ((await Promise.race([drained.then(() => 'drained' as const), timer])) === 'timeout') {
        logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'in-flight jobs did not finish in time; leaving them for another worker');
        // BullMQ's forced close still waits on its connections: bounded, in case Redis is down.
        await withDeadline(Promise.all(workers.map((w) => w.close(true).catch(() => undefined))), 2000);
      }
      // Unlogged events are lost past the bound rather than holding the exit while Redis is down.
      await withDeadline(eventProcessor?.flush(), config.shutdownTimeoutMs);
    } else {
      await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    }
    if (subscriber) await closeRedis(subscriber);
    await Promise.all(workerConnections.map((c) => closeRedis(c)));
    await services.close().catch(() => undefined);
    await front.close().catch(() => undefined);
    if (started) logger.info('automod stopped');
  };

  try {
    if (runEvents)
      rules = createRulesRuntime({
        rulesDir: config.rulesDir,
        allowEmptyRules: config.allowEmptyRules,
        lists: services.lists,
        audit: services.audit,
        logger,
        metrics,
        yieldToLoop,
      });

    let url: string | undefined;
    if (options.http ?? true) {
      // Loaded here, not at the top: one-shot CLI commands build services without the HTTP stack.
      // Listening before Redis answers: /healthz says the process lives, /readyz why it waits.
      const { buildHttpApp } = await import('../http/app.js');
      if (config.http.tokensFile !== undefined) {
        const { createTokensFile } = await import('../http/tokens-file.js');
        tokens = createTokensFile({
          path: config.http.tokensFile,
          reserved: reservedTokens(config),
          logger,
          metrics,
        });
        // A bad file at start is bad configuration (exit 2, naming the problem); later it is reported and the last good one kept.
        await tokens.load();
        tokens.watch();
      }
      http = await buildHttpApp({
        ...front,
        apiToken: config.http.apiToken,
        tokens,
        webhookToken: config.http.webhookToken,
        webhookPublicKey: config.videosdk.webhookPublicKey,
        ingestMaxEvents: config.http.ingestMaxEvents,
        rules,
        notReady,
        warnings,
      });
      if (
        (config.http.apiToken !== undefined || config.http.tokensFile !== undefined) &&
        config.http.webhookToken === undefined &&
        config.videosdk.webhookPublicKey === undefined
      ) {
        logger.warn(
          'the webhook takes AUTOMOD_API_TOKEN and the named tokens with role ingest or admin: a leaked webhook URL can queue removals; set AUTOMOD_WEBHOOK_TOKEN (or VIDEOSDK_WEBHOOK_PUBLIC_KEY) to give webhooks their own credential',
        );
      }
      url = await http.listen({ host: config.http.host, port: config.http.port });
      logger.info({ url }, 'HTTP API listening');
    }

    // A rules folder that does not load is bad configuration: say so now, not after Redis answers.
    if (runEvents) {
      const checked = await loadRulesFolder(config.rulesDir, { patternCost: null });
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
      outage.watch(subscriber, 'automod-rules');
      logConnectionErrors(subscriber, 'automod-rules', logger, { outage });
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
      // Checked as the worker starts, not at the first removal: a wrong secret pauses removals at
      // once, and `automod status` shows what this worker's credential got, not the CLI's.
      // Its heartbeat entry is written again at once, so `automod status` need not wait for the next.
      credential = createCredentialWatch(services, { onChange: () => void announce?.() });
      const checked = credential.start();
      // A queue paused for a credential waits for the answer either way: the start resumes it (the
      // worker presumably has a new credential) unless VideoSDK refuses this one too.
      if ((await services.pause.get())?.kind === 'credential') await checked;
    }

    const blocking = () => {
      const connection = createRedis(config.redis, { blocking: true, name: 'automod-worker' });
      outage.watch(connection, 'automod-worker');
      logConnectionErrors(connection, 'automod-worker', logger, { outage });
      workerConnections.push(connection);
      return connection;
    };
    if (runEvents && rules) {
      eventProcessor = createEventProcessor({
        ...services,
        rules,
        dedupSeconds: config.dedupSeconds,
        batchMax: config.eventBatchMax,
        clockSkewSeconds: config.clockSkewSeconds,
        yieldToLoop,
      });
      const consumed = options.partitions ?? queues.eventPartitions.map((_, k) => k);
      workers.push(
        ...createEventsWorkers({
          processor: eventProcessor,
          eventPartitions: queues.eventPartitions,
          consumed,
          config,
          connection: blocking,
        }),
      );
    }
    if (runRemovals) {
      const processor = createRemovalProcessor({
        ...services,
        queue: queues.removals,
        apiVersion: config.videosdk.apiVersion,
        timeoutMs: config.videosdk.timeoutMs,
        retryAfterMaxMs: config.retryAfterMaxMs,
        onCredentialRefused: (status) => credential?.noteRefused(status),
      });
      workers.push(
        createRemovalWorker({
          processor,
          config,
          connection: blocking(),
          logger,
          countWorkers: async () => (await findWorkers(queues.removals, services.redis)).here,
          onBound: (bound) => metrics.removalConcurrency.set(bound),
        }),
      );
    }
    // Deliveries have a worker of their own: a receiver that is down delays only notifications.
    if (config.notify.urls.length > 0) {
      workers.push(createNotificationWorker({ config: config.notify, keyPrefix: config.keyPrefix, connection: blocking(), logger }));
    }
    for (const worker of workers) {
      logConnectionErrors(worker, `${worker.name} worker`, logger, { msg: 'worker error', outage });
      worker.on('failed', (job, err) => {
        if (job && worker.name === EVENTS_QUEUE) logger.error({ err, jobId: job.id }, 'event processing failed');
      });
      void worker.run();
    }
    // Connected and named before the process says it started: `automod remove` finds workers by
    // their connection names, and a worker reported as started should be one it can find.
    await Promise.all(workers.map((worker) => worker.waitUntilReady()));

    // Every worker announces itself (for `automod status`); an entry not renewed is stale.
    announce = () =>
      services.redis
        .hset(
          services.keys.workers(),
          workerId,
          JSON.stringify({
            id: workerId,
            host: hostname(),
            pid: process.pid,
            only: options.only ?? 'all',
            startedAt,
            seenAt: Date.now(),
            rules: rules?.status(),
            credential: credential?.current(),
            url,
          }),
        )
        .then(
          () => undefined,
          () => undefined,
        );
    await announce();
    heartbeat = setInterval(() => void announce?.(), WORKER_HEARTBEAT_MS).unref();
    // Lockdowns end by themselves; whichever worker sees one's time up first tells it ended.
    lockdownSweep = setInterval(
      () => void services.lockdownActions.sweepEnded().catch((err: unknown) => logger.warn({ err }, 'could not sweep ended lockdowns')),
      LOCKDOWN_SWEEP_MS,
    ).unref();
    starting = false;
    logger.info(
      {
        only: options.only ?? 'all',
        prefix: config.prefix,
        apiVersion: config.videosdk.apiVersion,
        partitions: config.partitions,
        consuming: runEvents ? (options.partitions ?? 'all') : 'none',
      },
      'automod started',
    );

    started = true;
    let closing: Promise<void> | undefined;
    const close = () => (closing ??= shutdown());
    return { services, rules, http, url, workers, close };
  } catch (err) {
    await shutdown();
    throw err;
  }
}

/** The tokens of the environment, which no entry of the tokens file may repeat (one token, one name). */
function reservedTokens(config: Config): ReservedToken[] {
  const digest = (token: string) => createHash('sha256').update(token).digest('hex');
  return [
    ...(config.http.apiToken ? [{ sha256: digest(config.http.apiToken), variable: 'AUTOMOD_API_TOKEN' }] : []),
    ...(config.http.webhookToken ? [{ sha256: digest(config.http.webhookToken), variable: 'AUTOMOD_WEBHOOK_TOKEN' }] : []),
  ];
}
