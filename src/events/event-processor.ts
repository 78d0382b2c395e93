import type { Job } from 'bullmq';
import { InvalidEventError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { counterPlanFor, strikeRetentionSeconds, type RuleHit, type RuleSet } from '../moderation/types.js';
import type { RemovalRequester } from '../removals/removal-requester.js';
import type { RulesRuntime } from '../rules-runtime.js';
import type { AuditStore } from '../store/audit.js';
import type { CounterStore } from '../store/counters.js';
import type { DeadLetters } from '../store/dead-letter.js';
import type { EventLog, EventLogEntry } from '../store/event-log.js';
import type { Keys } from '../store/keys.js';
import type { RemovalClaims } from '../store/removal-claims.js';
import { eventTypeLabel, parseEvent, type MeetingEvent } from './event-schema.js';

/** What processing one event led to (the events job's return value). */
export interface EventResult {
  eventId?: string;
  status: 'processed' | 'duplicate' | 'invalid';
  hits?: { rule: string; mode: string; action: string }[];
  removalJobId?: string;
}

export interface EventProcessorDeps {
  keys: Keys;
  rules: RulesRuntime;
  counters: CounterStore;
  requester: RemovalRequester;
  claims: RemovalClaims;
  audit: AuditStore;
  eventLog: EventLog;
  deadLetters: DeadLetters;
  dedupSeconds: number;
  logger: Logger;
  metrics?: Metrics | undefined;
  now?: () => number;
}

/** Longest an event's log entry waits to go out with others. */
const EVENT_LOG_FLUSH_MS = 10;
/** Entries sent in one batch at most; a full batch goes out at once. */
const EVENT_LOG_BATCH = 500;
/** Entries kept while Redis does not take them; beyond that the oldest are dropped (and logged). */
const EVENT_LOG_MAX_PENDING = 20_000;

/**
 * The events consumer: validates a queued event, computes the counters the loaded rules use,
 * evaluates the rules, and turns enforced hits into at most one removal request. An event without
 * hits costs one command besides BullMQ's own, shared with the other events in flight at the same
 * moment: one script before evaluation (the processing marker, counters, strikes, lists version).
 * Its entry in the processed-event log goes out afterwards in the background, batched with others.
 */
export function createEventProcessor(deps: EventProcessorDeps) {
  const { keys, rules, counters, requester, claims, audit, eventLog, deadLetters, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const log = createBackgroundLog(eventLog, logger);

  async function process(job: Job): Promise<EventResult> {
    let event: MeetingEvent;
    try {
      const input = job.data as unknown;
      // Direct producers may leave out the id: the job id keeps redeliveries of one job idempotent.
      const withId =
        input && typeof input === 'object' && !Array.isArray(input) && (input as { id?: unknown }).id === undefined
          ? { ...(input as object), id: `job-${job.id ?? 'unknown'}` }
          : input;
      event = parseEvent(withId, new Date(job.timestamp || now()));
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err;
      // Retrying cannot fix a malformed event: record it with the reason and move on.
      await deadLetters.add({ at: new Date(now()).toISOString(), reason: err.message, ...(job.id ? { jobId: job.id } : {}), data: job.data });
      metrics?.invalidEvents.inc({ source: 'queue' });
      logger.warn({ jobId: job.id, problems: err.problems }, 'invalid event dead-lettered');
      return { status: 'invalid' };
    }

    const ruleSet = rules.current();
    const plan = counterPlanFor(ruleSet.ruleSet, event.type);
    // Someone who rejoins after a removal starts a new dedup window: they may be removed again.
    // Sent beside the counters (a copy of a join ends the window just as well), so it adds no wait.
    const rejoin =
      event.type === 'participant-joined' && event.participantId !== undefined ? claims.endWindow(event.sessionId, event.participantId) : undefined;
    // One round trip: the processing marker (another job with the same event id stops here; a
    // redelivery of this job goes on), the counters, the strikes and the lists version.
    const [facts] = await Promise.all([
      counters.observe({
        event,
        specs: plan.counterSpecs,
        strikeWindows: plan.strikeWindows,
        // The owner is this job as added (id and creation time): its retries and redeliveries share
        // it, while a later job that reuses the id (a producer's own jobId) does not.
        marker: { key: keys.eventDone(event.id), owner: `job:${job.id ?? ''}:${job.timestamp}`, ttlSeconds: deps.dedupSeconds },
      }),
      rejoin,
    ]);
    if (facts.alreadyDone) {
      metrics?.duplicateEvents.inc();
      return { eventId: event.id, status: 'duplicate' };
    }
    await rules.syncLists(facts.listsVersion);
    const hits = await ruleSet.evaluator.evaluate(event, facts);

    const result: EventResult = { eventId: event.id, status: 'processed', hits: hits.map(({ rule, mode, action }) => ({ rule, mode, action })) };
    if (hits.length > 0) {
      const removalJobId = await act(event, hits, ruleSet.ruleSet);
      if (removalJobId) result.removalJobId = removalJobId;
    }
    // A crash before the job completes leaves it to be run again (counters, strikes and removal
    // claims are idempotent); a crash within the flush delay loses log entries, never decisions.
    log.add({ event, hits: result.hits ?? [], rulesVersion: ruleSet.ruleSet.version });
    metrics?.events.inc({ type: eventTypeLabel(event.type) });
    return result;
  }

  /** Records every hit and asks for one removal when an enforced rule wants it. */
  async function act(event: MeetingEvent, hits: readonly RuleHit[], ruleSet: RuleSet): Promise<string | undefined> {
    const rulesVersion = ruleSet.version;
    const at = new Date(now()).toISOString();
    const enforced = hits.filter((h) => h.mode === 'enforce');
    const remover = enforced.find((h) => h.action === 'remove-participant');
    let removal: { jobId: string; collapsed: boolean } | undefined;
    if (remover && event.participantId !== undefined) {
      removal = await requester.request({
        sessionId: event.sessionId,
        participantId: event.participantId,
        ...(event.meetingId ? { meetingId: event.meetingId } : {}),
        reason: remover.reason,
        rule: remover.rule,
        eventId: event.id,
        requestedBy: `rule:${remover.rule}`,
      });
      metrics?.removalRequests.inc({ result: removal.collapsed ? 'collapsed' : 'queued' });
    }
    // The removal is asked for first (latency); strikes and audit records then go out together.
    const writes: Promise<unknown>[] = [];
    if (enforced.length > 0 && event.participantId !== undefined) {
      writes.push(counters.recordStrikes(event, enforced.map((h) => h.rule), strikeRetentionSeconds(ruleSet.strikeWindows)));
    }
    for (const hit of hits) {
      metrics?.ruleHits.inc({ rule: hit.rule, mode: hit.mode, action: hit.action });
      const asksRemoval = hit.mode === 'enforce' && hit.action === 'remove-participant';
      const outcome =
        hit.mode === 'shadow'
          ? 'skipped-shadow'
          : hit.action === 'flag'
            ? 'flagged'
            : removal === undefined
              ? 'not-actionable'
              : removal.collapsed
                ? 'collapsed'
                : 'queued';
      // Sent in order on one connection, so the trail keeps the hits' order.
      writes.push(
        audit.append({
          at,
          kind: 'rule-hit',
          rule: hit.rule,
          mode: hit.mode,
          action: hit.action,
          outcome,
          reason: hit.reason,
          eventId: event.id,
          sessionId: event.sessionId,
          ...(event.meetingId ? { meetingId: event.meetingId } : {}),
          ...(event.participantId ? { participantId: event.participantId } : {}),
          ...(asksRemoval && removal ? { jobId: removal.jobId } : {}),
          rulesVersion,
        }),
      );
      logger.info(
        { rule: hit.rule, mode: hit.mode, action: hit.action, outcome, eventId: event.id, sessionId: event.sessionId, participantId: event.participantId },
        'rule matched',
      );
    }
    await Promise.all(writes);
    return removal?.jobId;
  }

  return {
    process,
    /** Sends the log entries still waiting (call after the worker stopped). */
    flush: () => log.flush(),
  };
}

/**
 * The processed-event log written in the background: entries wait at most `EVENT_LOG_FLUSH_MS`
 * and go out together, so the events hot path spends no round trip on them. Entries Redis refused
 * are tried again with the next batch, up to `EVENT_LOG_MAX_PENDING`.
 */
function createBackgroundLog(eventLog: EventLog, logger: Logger) {
  let pending: EventLogEntry[] = [];
  let timer: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();

  const flush = (): Promise<void> => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    if (pending.length === 0) return sending;
    const batch = pending.splice(0, EVENT_LOG_BATCH);
    if (pending.length > 0) timer = setTimeout(flush, 0).unref();
    sending = sending.then(() =>
      eventLog.appendMany(batch).catch((err: unknown) => {
        // Put back in front; the next entry (or the retry timer) sends them again.
        pending = [...batch, ...pending];
        const dropped = pending.length - EVENT_LOG_MAX_PENDING;
        if (dropped > 0) pending.splice(0, dropped);
        logger.error({ err, waiting: pending.length, dropped: Math.max(0, dropped) }, 'could not write the event log; will try again');
        timer ??= setTimeout(flush, 1000).unref();
      }),
    );
    return sending;
  };

  return {
    add(entry: EventLogEntry): void {
      if (!eventLog.enabled) return;
      pending.push(entry);
      if (pending.length >= EVENT_LOG_BATCH) void flush();
      else timer ??= setTimeout(flush, EVENT_LOG_FLUSH_MS).unref();
    },
    /** Sends what waits now, once, and resolves when every batch sent so far is done (or refused). */
    async flush(): Promise<void> {
      const batches = Math.ceil(pending.length / EVENT_LOG_BATCH);
      for (let i = 0; i < batches && pending.length > 0; i++) await flush();
      await sending;
    },
  };
}

export type EventProcessor = ReturnType<typeof createEventProcessor>;
