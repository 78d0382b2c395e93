import { hasVideoSdkCredential, type Config } from '../shared/config.js';
import { withDeadline } from '../shared/deadline.js';
import { CredentialMissingError, UsageError } from '../shared/errors.js';
import { createIngest } from '../events/ingest.js';
import { createEventProducer, EVENTS_QUEUE, openEventsQueue } from '../events/producer.js';
import { createQueues } from '../events/queues.js';
import type { Logger } from '../shared/logger.js';
import { createMetrics, type Metrics } from '../shared/metrics.js';
import { failedRetentionSeconds } from '../shared/queue-policy.js';
import { REMOVALS_QUEUE } from '../removals/removal-queue.js';
import { createConsequences } from '../consequences/consequences.js';
import { createLockdownActions } from '../consequences/lockdowns.js';
import { createMeetingResolver } from '../consequences/meeting-resolver.js';
import { createBanActions } from '../removals/ban-actions.js';
import { createRemovalRequester } from '../removals/removal-requester.js';
import { createReviewDecisions } from '../removals/review-decisions.js';
import { createNotifier, openNotificationsQueue } from '../notify/notifications.js';
import { createReviewStore } from '../store/reviews.js';
import { createAuditStore } from '../store/audit.js';
import { createBanStore } from '../store/bans.js';
import { createCounterStore } from '../store/counters.js';
import { createDeadLetters } from '../store/dead-letter.js';
import { createEndedSessions } from '../store/ended-sessions.js';
import { createEventLog } from '../store/event-log.js';
import { createJobOutcomeStore } from '../store/job-outcomes.js';
import { createKeys } from '../store/keys.js';
import { createListStore } from '../store/lists.js';
import { createPauseState } from '../store/pause-state.js';
import { createPresence } from '../store/presence.js';
import { closeRedis, createRedis, logConnectionErrors, type OutageLog, type RedisClient } from '../store/redis.js';
import { createRemovalClaims } from '../store/removal-claims.js';
import { createRemovalFinisher } from '../store/removal-finish.js';
import { createRuleBudgets } from '../store/rule-budgets.js';
import { createLockdownStore } from '../store/lockdowns.js';
import { createSessionStore } from '../store/session-store.js';
import { createVideoSdkClient } from '../videosdk/client.js';
import { createTokenProvider, type TokenProvider } from '../videosdk/token.js';

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
  /**
   * The process's account of Redis outages (worker processes): it follows these connections, and
   * their lost-connection errors are left to it.
   */
  outage?: OutageLog | undefined;
}

/** Everything a process shares: connections, stores, queues. Built without starting any work. */
export function createServices(config: Config, logger: Logger, options: ServicesOptions = {}) {
  // The queues get a connection of their own: BullMQ defines its ~50 scripts on the connection it
  // is given, and ioredis copies every defined script into each pipeline built on that connection,
  // which made every store pipeline (the events hot path builds one per batch) costly.
  const connect = { retriesPerRequest: options.redisRetriesPerRequest, commandTimeoutMs: options.redisCommandTimeoutMs };
  const redis = createRedis(config.redis, { name: 'automod', ...connect, autoPipelining: true });
  const queueConnection = createRedis(config.redis, { name: 'automod-queues', ...connect });
  const keys = createKeys(config.keyPrefix, config.partitions);
  const retentionSeconds = failedRetentionSeconds(config.jobsKeepHours);
  const queues = createQueues(config, queueConnection);
  const quiet = { quiet: options.quietConnectionErrors, outage: options.outage };
  options.outage?.watch(redis, 'automod');
  options.outage?.watch(queueConnection, 'automod-queues');
  logConnectionErrors(redis, 'automod', logger, quiet);
  logConnectionErrors(queueConnection, 'automod-queues', logger, quiet);
  // Every queue: BullMQ writes the errors of a queue nobody listens to raw on stderr.
  queues.eventPartitions.forEach((queue, k) => logConnectionErrors(queue, k === 0 ? 'events queue' : `events queue p${k}`, logger, quiet));
  logConnectionErrors(queues.removals, 'removals queue', logger, quiet);
  /**
   * Whether both connections are up (no round trip): checked before any wait on them. A new
   * connection counts as up until it fails, so a request made while it connects waits for it.
   */
  const redisUp = [redis, queueConnection].map(connectionUp);
  const redisReady = () => redisUp.every((up) => up());
  const pause = createPauseState({ redis, keys });
  const bans = createBanStore({ redis, keys });
  const reviews = createReviewStore({ redis, keys, ttlMs: config.reviewTtlMs });
  const budgets = createRuleBudgets({ redis, keys });
  const lockdowns = createLockdownStore({ redis, keys });
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
      activeBans: () => bans.countActive(Date.now()),
      pendingReviews: () => reviews.pendingCount(Date.now()),
      trippedRules: async () => (await budgets.tripped()).map((t) => t.rule),
      activeLockdowns: () => lockdowns.countActive(Date.now()),
    });
  const claims = createRemovalClaims({ redis, keys, dedupSeconds: config.dedupSeconds });
  const outcomes = createJobOutcomeStore({ redis, keys, retentionSeconds, maxJobs: config.removalRecordsMax });
  const sessions = createSessionStore({ redis, keys, retentionSeconds });
  const audit = createAuditStore({ redis, keys, maxRecords: config.auditMaxRecords });
  const finisher = createRemovalFinisher({
    redis,
    keys,
    jobRetentionSeconds: retentionSeconds,
    maxJobs: config.removalRecordsMax,
    dedupSeconds: config.dedupSeconds,
    sessionRetentionSeconds: retentionSeconds,
    auditMaxRecords: config.auditMaxRecords,
  });
  const lists = createListStore({ redis, keys });
  const deadLetters = createDeadLetters({ redis, keys, max: 10_000 });
  const eventLog = createEventLog({ redis, keys, retentionHours: config.eventLogHours, maxEvents: config.eventLogMaxEntries });
  const counters = createCounterStore({ redis, keys, clockSkewSeconds: config.clockSkewSeconds });
  const requester = createRemovalRequester({ queue: queues.removals, claims, logger });
  // Opened always (replay and the console read it); jobs are added only when receivers are configured.
  const notifications = openNotificationsQueue(queueConnection, config.keyPrefix, config.notify.attempts);
  logConnectionErrors(notifications, 'notifications queue', logger, quiet);
  const notify = createNotifier({ config: config.notify, queue: notifications, logger });
  const banActions = createBanActions({ bans, audit, requester, logger, metrics, notify });
  const decisions = createReviewDecisions({ reviews, requester, audit, notify, metrics, logger, bans: banActions });
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
        get: () =>
          Promise.reject(new CredentialMissingError('no VideoSDK credential: set VIDEOSDK_TOKEN, or VIDEOSDK_API_KEY and VIDEOSDK_SECRET')),
        describe: () => 'no credential configured',
      };
  const client = createVideoSdkClient({
    apiBase: config.videosdk.apiBase,
    apiVersion: config.videosdk.apiVersion,
    timeoutMs: config.videosdk.timeoutMs,
    tokens,
    redact: [config.videosdk.secret, config.videosdk.token, config.http.apiToken, config.http.webhookToken].filter(
      (v): v is string => v !== undefined,
    ),
    onAttempt: (attempt) => {
      metrics.apiAttempt(attempt);
      // One line per API attempt (the spec's log contract); never the token or the secret.
      logger.info(
        {
          operation: attempt.operation,
          status: attempt.status,
          latencyMs: attempt.latencyMs,
          requestId: attempt.requestId,
          error: attempt.error,
        },
        'videosdk call',
      );
    },
  });
  const meetings = createMeetingResolver({ sessions, client, logger });
  const endedSessions = createEndedSessions({ redis, keys });
  const lockdownActions = createLockdownActions({ lockdowns, client, requester, audit, endedSessions, notify, logger, metrics });
  const consequences = createConsequences({
    requester,
    counters,
    audit,
    bans,
    reviews,
    budgets,
    defaultBudget: config.ruleBudget,
    meetings,
    lockdowns: lockdownActions,
    endedSessions,
    notify,
    logger,
    metrics,
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
    finisher,
    pause,
    lists,
    deadLetters,
    eventLog,
    counters,
    requester,
    bans,
    banActions,
    budgets,
    lockdowns,
    lockdownActions,
    meetings,
    consequences,
    reviews,
    decisions,
    notifications,
    notify,
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
      await withDeadline(notifications.close(), 2000);
      await closeRedis(queueConnection);
      await closeRedis(redis);
    },
  };
}

export type Services = ReturnType<typeof createServices>;

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
  const old = Array.from({ length: recorded }, (_, k) =>
    openEventsQueue(services.queues.events.opts.connection as RedisClient, config.prefix, k, recorded),
  );
  try {
    const counts = await Promise.all(old.map((q) => q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children')));
    const left = counts.reduce((sum, c) => sum + Object.values(c).reduce((a, b) => a + b, 0), 0);
    if (left > 0) {
      throw new UsageError(
        `--repartition refused: the events queues of the ${recorded} recorded partitions still hold ${left} jobs; stop the producers and wait until they are drained`,
      );
    }
  } finally {
    await Promise.all(old.map((q) => q.close().catch(() => undefined)));
  }
  await redis.set(keys.recordedPartitions(), String(n));
  logger.warn(
    { from: recorded, to: n },
    'repartitioned: sliding windows, strikes and event dedup markers start afresh under the new partitions',
  );
}

/** Tracks whether a connection is usable: down from a failure or close until it is ready again. */
function connectionUp(connection: RedisClient): () => boolean {
  let up = true;
  connection.on('ready', () => (up = true));
  for (const event of ['error', 'close', 'end']) connection.on(event, () => (up = false));
  return () => up;
}
