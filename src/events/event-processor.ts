import type { Job } from 'bullmq';
import { InvalidEventError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { RuleHit } from '../moderation/types.js';
import type { RemovalRequester } from '../removals/removal-requester.js';
import type { RulesRuntime } from '../rules-runtime.js';
import type { AuditStore } from '../store/audit.js';
import type { CounterStore } from '../store/counters.js';
import type { DeadLetters } from '../store/dead-letter.js';
import type { EventLog } from '../store/event-log.js';
import type { Keys } from '../store/keys.js';
import type { RemovalClaims } from '../store/removal-claims.js';
import type { RedisClient } from '../store/redis.js';
import { eventTypeLabel, parseEvent, type MeetingEvent } from './event-schema.js';

/** What processing one event led to (the events job's return value). */
export interface EventResult {
  eventId?: string;
  status: 'processed' | 'duplicate' | 'invalid';
  hits?: { rule: string; mode: string; action: string }[];
  removalJobId?: string;
}

export interface EventProcessorDeps {
  redis: RedisClient;
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

/**
 * The events consumer: validates a queued event, computes the counters the loaded rules use (one
 * round trip), evaluates the rules, and turns enforced hits into at most one removal request.
 */
export function createEventProcessor(deps: EventProcessorDeps) {
  const { redis, keys, rules, counters, requester, claims, audit, eventLog, deadLetters, logger, metrics } = deps;
  const now = deps.now ?? Date.now;

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

    if ((await redis.exists(keys.eventDone(event.id))) === 1) {
      metrics?.duplicateEvents.inc();
      return { eventId: event.id, status: 'duplicate' };
    }

    const ruleSet = rules.current();
    if (event.type === 'participant-joined' && event.participantId !== undefined) {
      // Someone who rejoins after a removal starts a new dedup window: they may be removed again.
      await claims.endWindow(event.sessionId, event.participantId);
    }
    const facts = await counters.observe({
      event,
      specs: ruleSet.ruleSet.counterSpecs,
      strikeWindows: ruleSet.ruleSet.strikeWindows,
    });
    await rules.syncLists(facts.listsVersion);
    const hits = await ruleSet.evaluator.evaluate(event, facts);

    const result: EventResult = { eventId: event.id, status: 'processed', hits: hits.map(({ rule, mode, action }) => ({ rule, mode, action })) };
    if (hits.length > 0) {
      const removalJobId = await act(event, hits, ruleSet.ruleSet.version);
      if (removalJobId) result.removalJobId = removalJobId;
    }
    await eventLog.append({ event, hits: result.hits ?? [], rulesVersion: ruleSet.ruleSet.version });
    await redis.set(keys.eventDone(event.id), '1', 'EX', deps.dedupSeconds);
    metrics?.events.inc({ type: eventTypeLabel(event.type) });
    return result;
  }

  /** Records every hit and asks for one removal when an enforced rule wants it. */
  async function act(event: MeetingEvent, hits: readonly RuleHit[], rulesVersion: string): Promise<string | undefined> {
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
    if (enforced.length > 0 && event.participantId !== undefined) {
      const windows = rules.current().ruleSet.strikeWindows;
      await counters.recordStrikes(event, enforced.map((h) => h.rule), Math.max(3600, ...windows));
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
      await audit.append({
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
      });
      logger.info(
        { rule: hit.rule, mode: hit.mode, action: hit.action, outcome, eventId: event.id, sessionId: event.sessionId, participantId: event.participantId },
        'rule matched',
      );
    }
    return removal?.jobId;
  }

  return { process };
}

export type EventProcessor = ReturnType<typeof createEventProcessor>;
