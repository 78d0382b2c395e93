import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Queue } from 'bullmq';
import { within } from './deadline.js';

/** Queue figures read on each scrape: depth per state and the age of the oldest waiting job. */
export interface QueueProbe {
  name: string;
  queue: Pick<Queue, 'getJobCounts' | 'getWaiting' | 'getPrioritized' | 'isPaused'>;
}

/**
 * Prometheus metrics of one process (prom-client). Every name starts with `automod_`; labels never
 * carry ids, names or text from events, so cardinality stays bounded by rules and types.
 */
export function createMetrics(
  options: {
    queues?: () => readonly QueueProbe[];
    processMetrics?: boolean;
    /** Whether the Redis connections are up (no round trip): a scrape skips Redis reads when not. */
    redisReady?: () => boolean;
    /** Longest a scrape waits for Redis (default 800 ms), so /metrics answers within a scrape timeout. */
    probeTimeoutMs?: number;
    /** The end (epoch ms) of a `Retry-After` pause of removals in force, read on each scrape. */
    removalsRateLimitedUntil?: () => Promise<number | undefined>;
    /** Bans in force, read on each scrape. */
    activeBans?: () => Promise<number>;
    /** Review items waiting for a decision, read on each scrape. */
    pendingReviews?: () => Promise<number>;
    /** Lockdowns in force, read on each scrape. */
    activeLockdowns?: () => Promise<number>;
    /** The rules tripped past their removal budget now, read on each scrape. */
    trippedRules?: () => Promise<readonly string[]>;
  } = {},
) {
  const registry = new Registry();
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'automod_' });

  const eventsReceived = new Counter({
    name: 'automod_events_received_total',
    help: 'Events accepted for processing, by type',
    labelNames: ['type'],
    registers: [registry],
  });
  const events = new Counter({
    name: 'automod_events_total',
    help: 'Events processed by the rules, by type',
    labelNames: ['type'],
    registers: [registry],
  });
  const invalidEvents = new Counter({
    name: 'automod_events_invalid_total',
    help: 'Events refused as invalid (HTTP 400 or dead-lettered job), by source',
    labelNames: ['source'],
    registers: [registry],
  });
  const webhooksIgnored = new Counter({
    name: 'automod_webhooks_ignored_total',
    help: 'Authentic webhooks acknowledged (200) and dropped because they carry nothing to moderate, by reason (no-session, no-participant)',
    labelNames: ['reason'],
    registers: [registry],
  });
  const duplicateEvents = new Counter({
    name: 'automod_events_duplicate_total',
    help: 'Events dropped because their id was seen within the dedup window',
    registers: [registry],
  });
  const ruleHits = new Counter({
    name: 'automod_rule_hits_total',
    help: 'Rule hits, by rule, mode and action',
    labelNames: ['rule', 'mode', 'action'],
    registers: [registry],
  });
  const removals = new Counter({
    name: 'automod_removals_total',
    help: 'Finished removal jobs, by outcome',
    labelNames: ['outcome'],
    registers: [registry],
  });
  const removalRequests = new Counter({
    name: 'automod_removal_requests_total',
    help: 'Removal requests, by whether they made a job or collapsed into an existing one',
    labelNames: ['result'],
    registers: [registry],
  });
  const unconfirmedRemoveAnswers = new Counter({
    name: 'automod_remove_answers_unconfirmed_total',
    help: 'Remove calls answered 2xx with something that confirms nothing (not a documented shape); each is checked with a session read',
    registers: [registry],
  });
  const removalConcurrency = new Gauge({
    name: 'automod_removal_concurrency',
    help: 'Removals this process runs at once: follows the time a removal takes and the rate cap, at most AUTOMOD_REMOVAL_CONCURRENCY',
    registers: [registry],
  });
  const listRefreshes = new Counter({
    name: 'automod_list_refreshes_total',
    help: 'Live-list refreshes by this worker: delta (changes from the log) or full (every list read again)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const apiRequests = new Counter({
    name: 'automod_api_requests_total',
    help: 'VideoSDK API requests, by operation and status class (2xx, 4xx, 5xx, error)',
    labelNames: ['operation', 'status_class'],
    registers: [registry],
  });
  const apiDuration = new Histogram({
    name: 'automod_api_request_duration_seconds',
    help: 'VideoSDK API request latency',
    labelNames: ['operation'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const credentialFailures = new Counter({
    name: 'automod_credential_failures_total',
    help: 'Times VideoSDK refused the credential (401/403) and removals were paused',
    registers: [registry],
  });
  const rulesReloads = new Counter({
    name: 'automod_rules_reloads_total',
    help: 'Rule set reloads, by result',
    labelNames: ['result'],
    registers: [registry],
  });
  const tokensReloads = new Counter({
    name: 'automod_tokens_reloads_total',
    help: 'Changes of AUTOMOD_TOKENS_FILE taken (loaded) or refused with the last good tokens kept (rejected)',
    labelNames: ['result'],
    registers: [registry],
  });
  const banRemovals = new Counter({
    name: 'automod_ban_removals_total',
    help: 'Removals asked for because a banned participant showed up again (rule "ban"), by whether they made a job or collapsed',
    labelNames: ['result'],
    registers: [registry],
  });

  const reviewDecisions = new Histogram({
    name: 'automod_review_decision_seconds',
    help: 'Time from a review item made to its decision, by decision',
    labelNames: ['decision'],
    buckets: [10, 30, 60, 300, 900, 1800, 3600, 4 * 3600, 12 * 3600, 24 * 3600],
    registers: [registry],
  });
  const pendingReviews = options.pendingReviews;
  if (pendingReviews) {
    new Gauge({
      name: 'automod_reviews_pending',
      help: 'Review items waiting for a moderator',
      registers: [registry],
      async collect() {
        try {
          if (!(options.redisReady ?? (() => true))()) return;
          this.set(await redisWithin(pendingReviews(), options.probeTimeoutMs ?? 800));
        } catch {
          // Reported by automod_redis_up.
        }
      },
    });
  }

  const rateLimitedUntil = options.removalsRateLimitedUntil;
  const redisReady = options.redisReady ?? (() => true);
  const probeTimeoutMs = options.probeTimeoutMs ?? 800;
  if (rateLimitedUntil) {
    new Gauge({
      name: 'automod_removals_rate_limited_until_seconds',
      help: "End (Unix seconds) of the pause VideoSDK's Retry-After put on every removal; 0 when none",
      registers: [registry],
      async collect() {
        try {
          if (!redisReady()) return;
          const until = await redisWithin(rateLimitedUntil(), probeTimeoutMs);
          this.set(until === undefined ? 0 : until / 1000);
        } catch {
          // Reported by automod_redis_up.
        }
      },
    });
  }

  const trippedRules = options.trippedRules;
  if (trippedRules) {
    // A rule's series stays (at 0) once it was seen tripped, so an alert on it resolves.
    const seen = new Set<string>();
    new Gauge({
      name: 'automod_rule_tripped',
      help: 'Per rule: 1 while it is tripped past its removal budget (its hits are held for review), else 0',
      labelNames: ['rule'],
      registers: [registry],
      async collect() {
        try {
          if (!redisReady()) return;
          const tripped = new Set(await redisWithin(trippedRules(), probeTimeoutMs));
          for (const rule of tripped) seen.add(rule);
          for (const rule of seen) this.set({ rule }, tripped.has(rule) ? 1 : 0);
        } catch {
          // Reported by automod_redis_up.
        }
      },
    });
  }

  const activeLockdowns = options.activeLockdowns;
  if (activeLockdowns) {
    new Gauge({
      name: 'automod_lockdowns_active',
      help: 'Meetings locked down now (raid mode), shared by every worker',
      registers: [registry],
      async collect() {
        try {
          if (redisReady()) this.set(await redisWithin(activeLockdowns(), probeTimeoutMs));
        } catch {
          // Reported by automod_redis_up.
        }
      },
    });
  }

  const activeBans = options.activeBans;
  if (activeBans) {
    new Gauge({
      name: 'automod_bans_active',
      help: 'Bans in force (every scope), shared by every worker',
      registers: [registry],
      async collect() {
        try {
          if (redisReady()) this.set(await redisWithin(activeBans(), probeTimeoutMs));
        } catch {
          // Reported by automod_redis_up.
        }
      },
    });
  }

  if (options.queues) {
    const queues = options.queues;
    // A scrape must answer within Prometheus' scrape timeout (10 s by default) even while Redis is
    // down or hung: no probe waits on a connection known to be down, none waits past the bound.
    const probes = (): readonly QueueProbe[] => {
      if (!redisReady()) throw new Error('Redis connection is down');
      return queues().map((probe) => ({ name: probe.name, queue: bounded(probe.queue, probeTimeoutMs) }));
    };
    // A scrape while Redis is down still answers (process metrics, counters); the queue gauges
    // then keep their last values and automod_redis_up says why.
    new Gauge({
      name: 'automod_redis_up',
      help: '1 when this scrape could read the queues from Redis, else 0',
      registers: [registry],
      async collect() {
        try {
          for (const probe of probes()) await probe.queue.isPaused();
          this.set(1);
        } catch {
          this.set(0);
        }
      },
    });
    new Gauge({
      name: 'automod_queue_jobs',
      help: 'Jobs per queue and state',
      labelNames: ['queue', 'state'],
      registers: [registry],
      async collect() {
        try {
          for (const probe of probes()) {
            const counts = await probe.queue.getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed', 'prioritized');
            for (const [state, count] of Object.entries(counts)) this.set({ queue: probe.name, state }, count);
            // A prioritized job (a bulk removal) waits too: `waiting` is the whole backlog, as `automod status` shows it.
            this.set({ queue: probe.name, state: 'waiting' }, (counts.waiting ?? 0) + (counts.prioritized ?? 0));
          }
        } catch {
          // Reported by automod_redis_up.
        }
      },
    });
    new Gauge({
      name: 'automod_queue_oldest_waiting_seconds',
      help: 'Age of the oldest waiting job per queue (0 when none waits)',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        try {
          for (const probe of probes()) {
            // Waiting jobs, and prioritized ones (bulk removals wait behind the others).
            const [[waiting], [prioritized]] = await Promise.all([probe.queue.getWaiting(-1, -1), probe.queue.getPrioritized(0, 0)]);
            const oldest = Math.min(waiting?.timestamp ?? Number.POSITIVE_INFINITY, prioritized?.timestamp ?? Number.POSITIVE_INFINITY);
            this.set({ queue: probe.name }, Number.isFinite(oldest) ? Math.max(0, (Date.now() - oldest) / 1000) : 0);
          }
        } catch {
          // Reported by automod_redis_up.
        }
      },
    });
    new Gauge({
      name: 'automod_queue_paused',
      help: '1 while the queue is paused (removals: by an operator or after a credential failure)',
      labelNames: ['queue'],
      registers: [registry],
      async collect() {
        try {
          for (const probe of probes()) this.set({ queue: probe.name }, (await probe.queue.isPaused()) ? 1 : 0);
        } catch {
          // Reported by automod_redis_up.
        }
      },
    });
  }

  return {
    registry,
    eventsReceived,
    events,
    invalidEvents,
    webhooksIgnored,
    duplicateEvents,
    ruleHits,
    removals,
    removalRequests,
    unconfirmedRemoveAnswers,
    removalConcurrency,
    apiRequests,
    apiDuration,
    credentialFailures,
    rulesReloads,
    tokensReloads,
    listRefreshes,
    banRemovals,
    reviewDecisions,
    /** Records one VideoSDK request (called by the API client for every attempt). */
    apiAttempt(attempt: { operation: string; status?: number | undefined; latencyMs: number }) {
      const statusClass = attempt.status === undefined ? 'error' : `${Math.floor(attempt.status / 100)}xx`;
      apiRequests.inc({ operation: attempt.operation, status_class: statusClass });
      apiDuration.observe({ operation: attempt.operation }, attempt.latencyMs / 1000);
    },
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** `promise`, or a rejection once `ms` passed without an answer from Redis. */
function redisWithin<T>(promise: Promise<T>, ms: number): Promise<T> {
  return within(promise, ms, () => new Error(`Redis did not answer within ${ms} ms`));
}

/** The queue calls a scrape makes, each failing after `ms` instead of waiting for Redis. */
function bounded(queue: QueueProbe['queue'], ms: number): QueueProbe['queue'] {
  const limit = <T>(promise: Promise<T>): Promise<T> => redisWithin(promise, ms);
  return {
    getJobCounts: (...types: Parameters<QueueProbe['queue']['getJobCounts']>) => limit(queue.getJobCounts(...types)),
    getWaiting: (...args: Parameters<QueueProbe['queue']['getWaiting']>) => limit(queue.getWaiting(...args)),
    getPrioritized: (...args: Parameters<QueueProbe['queue']['getPrioritized']>) => limit(queue.getPrioritized(...args)),
    isPaused: () => limit(queue.isPaused()),
  };
}
