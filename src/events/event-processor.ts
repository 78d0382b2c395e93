import type { Job } from 'bullmq';
import { InvalidEventError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { Consequences } from '../consequences/consequences.js';
import type { MeetingResolver } from '../consequences/meeting-resolver.js';
import { counterPlanFor, DEFAULT_CLOCK_SKEW_SECONDS } from '../moderation/types.js';
import type { RulesRuntime } from '../rules/rules-runtime.js';
import type { LockdownStore, ParticipantCheck } from '../store/lockdowns.js';
import type { CounterStore, ObserveInput, ObservedCounts } from '../store/counters.js';
import type { DeadLetters } from '../store/dead-letter.js';
import type { EventLog, EventLogEntry } from '../store/event-log.js';
import type { Keys } from '../store/keys.js';
import type { RemovalClaims } from '../store/removal-claims.js';
import { createBatchHits } from './batch-hits.js';
import { createEventLogWriter } from './event-log-writer.js';
import { createParticipantChecks } from './participant-checks.js';
import { BATCH_JOB, DEFAULT_BATCH_MAX } from './producer.js';
import { eventTypeLabel, parseEvent, type MeetingEvent } from '../shared/event-schema.js';

/** What processing one event led to (the events job's return value). */
export interface EventResult {
  eventId?: string;
  status: 'processed' | 'duplicate' | 'invalid';
  hits?: { rule: string; mode: string; action: string }[];
  removalJobId?: string;
}

/** What processing a `batch` job led to (its return value; kept small: no per-event detail). */
export interface BatchResult {
  events: number;
  processed: number;
  duplicates: number;
  /** Events dead-lettered alone (or all of them, when the batch itself was malformed). */
  invalid: number;
  /** Set when the batch was set aside whole (not `{"events": [...]}`, or too large). */
  malformed?: true;
  removalJobIds?: string[];
}

export interface EventProcessorDeps {
  /** `AUTOMOD_EVENT_BATCH_MAX`: a larger batch job is dead-lettered whole (default 500). */
  batchMax?: number;
  keys: Keys;
  rules: RulesRuntime;
  counters: CounterStore;
  claims: Pick<RemovalClaims, 'endWindows'>;
  /** Carries out what the hits ask for (removals, bans, reviews, flags; shadow hits simulated). */
  consequences: Consequences;
  /** The meeting of events without `meetingId` (their bans are looked up by meeting). */
  meetings: MeetingResolver;
  eventLog: EventLog;
  deadLetters: DeadLetters;
  dedupSeconds: number;
  logger: Logger;
  metrics?: Metrics | undefined;
  /**
   * Bans and lockdowns: a banned participant's events, and those of a participant not admitted
   * to a locked meeting, are removed before the rules run; joins are recorded for admission.
   */
  lockdowns?: Pick<LockdownStore, 'check'> | undefined;
  /**
   * `AUTOMOD_CLOCK_SKEW_SECONDS` (default 300): an event whose time is further than this from its
   * receipt (the job's creation) is counted at its receipt and marked `skewed`.
   */
  clockSkewSeconds?: number;
  /** Yields to the event loop between the events of a batch when their work runs long (`shared/yielder.ts`). */
  yieldToLoop?: (() => Promise<void> | undefined) | undefined;
  now?: () => number;
}

/**
 * The events consumer: validates a queued event, computes the counters the loaded rules use,
 * evaluates the rules, and turns enforced hits into at most one removal request. An event without
 * hits costs one command besides BullMQ's own, shared with the other events in flight at the same
 * moment: one script before evaluation (the processing marker, counters, strikes, lists version).
 * Its entry in the processed-event log goes out afterwards in the background, batched with others.
 */
export function createEventProcessor(deps: EventProcessorDeps) {
  const { keys, rules, counters, claims, consequences, meetings, eventLog, deadLetters, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const batchMax = deps.batchMax ?? DEFAULT_BATCH_MAX;
  const parseOptions = { clockSkewMs: (deps.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000 };
  // When the job was added: the receipt of its events. Never later than now (a producer's clock
  // ahead of ours), and the same on every retry, so a redelivered event counts where it did.
  const receiptOf = (job: Job): number => Math.min(receivedAt(job) ?? now(), now());
  const log = createEventLogWriter(eventLog, logger);
  const checkParticipants = deps.lockdowns ? createParticipantChecks(deps.lockdowns, meetings) : undefined;

  // The processed-events counter per event type, its label worked out once per type.
  const processedBy = new Map<string, { inc(n: number): void }>();
  const countProcessed = (type: string, n: number): void => {
    if (!metrics) return;
    let counter = processedBy.get(type);
    if (counter === undefined) {
      counter = metrics.events.labels({ type: eventTypeLabel(type) });
      // Custom types are free-form: remember a bounded number of them (their label is `custom`).
      if (processedBy.size < 1000) processedBy.set(type, counter);
    }
    counter.inc(n);
  };

  async function process(job: Job): Promise<EventResult | BatchResult> {
    return job.name === BATCH_JOB ? processBatch(job) : processOne(job);
  }

  /** Sets an invalid event (or a whole malformed batch) aside with its reason. */
  async function deadLetter(job: Job, reason: string, data: unknown, problems?: unknown): Promise<void> {
    // Retrying cannot fix a malformed event: record it with the reason and move on.
    await deadLetters.add({ at: new Date(now()).toISOString(), reason, ...(job.id ? { jobId: job.id } : {}), data });
    metrics?.invalidEvents.inc({ source: 'queue' });
    logger.warn({ jobId: job.id, problems: problems ?? reason }, 'invalid event dead-lettered');
  }

  /** A single-event job (the direct-producer contract: job name = event type, data = the event). */
  async function processOne(job: Job): Promise<EventResult> {
    let event: MeetingEvent;
    try {
      // Direct producers may leave out the id: the job id keeps redeliveries of one job idempotent.
      event = parseEvent(withDefaultId(job.data, `job-${job.id ?? 'unknown'}`), new Date(receiptOf(job)), parseOptions);
    } catch (err) {
      if (!(err instanceof InvalidEventError)) throw err;
      await deadLetter(job, err.message, job.data, err.problems);
      return { status: 'invalid' };
    }
    // The owner is this job as added (id and creation time): its retries and redeliveries share
    // it, while a later job that reuses the id (a producer's own jobId) does not.
    const ruleSet = rules.current();
    const {
      observed: [facts],
      checks: [check],
    } = await observe(ruleSet, [event], [`job:${job.id ?? ''}:${job.timestamp}`], receiptOf(job));
    if (facts!.alreadyDone) {
      metrics?.duplicateEvents.inc();
      return { eventId: event.id, status: 'duplicate' };
    }
    const kept = keptOut(event, check, ruleSet.ruleSet.version, receivedAt(job));
    if (kept) {
      const removalJobId = await kept.removal;
      log.add({ event, hits: [kept.hit], rulesVersion: ruleSet.ruleSet.version });
      countProcessed(event.type, 1);
      return { eventId: event.id, status: 'processed', hits: [kept.hit], ...(removalJobId ? { removalJobId } : {}) };
    }
    await rules.syncLists(facts!.listsVersion);
    const answer = ruleSet.evaluator.evaluate(event, facts!);
    const hits = Array.isArray(answer) ? answer : await answer;
    const result: EventResult = {
      eventId: event.id,
      status: 'processed',
      hits: hits.map(({ rule, mode, action }) => ({ rule, mode, action })),
    };
    if (hits.length > 0) {
      const { removalJobId } = await consequences.decided(event, hits, ruleSet.ruleSet, facts!, rules.lists, receivedAt(job));
      if (removalJobId) result.removalJobId = removalJobId;
    }
    // A crash before the job completes leaves it to be run again (counters, strikes and removal
    // claims are idempotent); a crash within the flush delay loses log entries, never decisions.
    log.add({ event, hits: result.hits ?? [], rulesVersion: ruleSet.ruleSet.version });
    countProcessed(event.type, 1);
    return result;
  }

  /**
   * A `batch` job: every event keeps the per-event semantics of a single-event job (its own
   * marker, dedup, dead letter), while the counters of all of them go in one round trip.
   */
  async function processBatch(job: Job): Promise<BatchResult> {
    const data = job.data as unknown;
    const inputs = data !== null && typeof data === 'object' && !Array.isArray(data) ? (data as { events?: unknown }).events : undefined;
    if (!Array.isArray(inputs)) {
      await deadLetter(job, 'invalid batch: job data must be {"events": [event, ...]}', data);
      return { events: 0, processed: 0, duplicates: 0, invalid: 0, malformed: true };
    }
    if (inputs.length > batchMax) {
      await deadLetter(job, `invalid batch: ${inputs.length} events, at most ${batchMax} (AUTOMOD_EVENT_BATCH_MAX) in one batch job`, data);
      return { events: inputs.length, processed: 0, duplicates: 0, invalid: inputs.length, malformed: true };
    }
    const received = new Date(receiptOf(job));
    const events: MeetingEvent[] = [];
    const owners: string[] = [];
    const invalid: { index: number; err: InvalidEventError }[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const wait = deps.yieldToLoop?.();
      if (wait !== undefined) await wait;
      try {
        // Stable across redeliveries of this job: the job id and the event's place in it.
        events.push(parseEvent(withDefaultId(inputs[i], `job-${job.id ?? 'unknown'}-${i}`), received, parseOptions));
        // The owner is this job as added and the event's index: a redelivery of the batch goes on,
        // another job (or another place in this one) with the same event id is a duplicate.
        owners.push(`job:${job.id ?? ''}:${job.timestamp}:${i}`);
      } catch (err) {
        if (!(err instanceof InvalidEventError)) throw err;
        invalid.push({ index: i, err });
      }
    }
    const ruleSet = rules.current();
    const { observed, checks } = await observe(ruleSet, events, owners, received.getTime());
    // After the counters: a retry of a batch that failed there does not set the same ones aside twice.
    await Promise.all(invalid.map(({ index, err }) => deadLetter(job, `events[${index}]: ${err.message}`, inputs[index], err.problems)));

    let synced = -1;
    let duplicates = 0;
    const earlier = createBatchHits();
    const acting: Promise<string | undefined>[] = [];
    const byType = new Map<string, number>();
    const version = ruleSet.ruleSet.version;
    const entries: EventLogEntry[] = [];
    for (let i = 0; i < events.length; i++) {
      const facts = observed[i]!;
      if (facts.alreadyDone) {
        duplicates++;
        continue;
      }
      const event = events[i]!;
      byType.set(event.type, (byType.get(event.type) ?? 0) + 1);
      const kept = keptOut(event, checks[i], version, receivedAt(job));
      if (kept) {
        acting.push(kept.removal);
        entries.push({ event, hits: [kept.hit], rulesVersion: version });
        continue;
      }
      if (facts.listsVersion !== synced) {
        await rules.syncLists(facts.listsVersion);
        synced = facts.listsVersion;
      }
      // Answered at once nearly always: a batch's events are decided without a wait each.
      const answer = ruleSet.evaluator.evaluate(event, earlier.factsFor(event, facts));
      const hits = Array.isArray(answer) ? answer : await answer;
      earlier.add(event, hits);
      // The removals of one batch are asked for together (claims collapse repeats atomically).
      if (hits.length > 0)
        acting.push(consequences.decided(event, hits, ruleSet.ruleSet, facts, rules.lists, receivedAt(job)).then((c) => c.removalJobId));
      entries.push({
        event,
        hits: hits.length === 0 ? NO_HITS : hits.map(({ rule, mode, action }) => ({ rule, mode, action })),
        rulesVersion: version,
      });
    }
    // The batch's log entries go out together, in the background (`event-log-writer.ts`).
    log.addMany(entries);
    const removalJobIds = (await Promise.all(acting)).filter((id): id is string => id !== undefined);
    if (duplicates > 0) metrics?.duplicateEvents.inc(duplicates);
    for (const [type, n] of byType) countProcessed(type, n);
    const result: BatchResult = { events: inputs.length, processed: events.length - duplicates, duplicates, invalid: invalid.length };
    if (removalJobIds.length > 0) result.removalJobIds = [...new Set(removalJobIds)];
    return result;
  }

  /**
   * One round trip for the events' processing markers, counters, strikes and the lists version
   * (one script run per partition), with the rejoins' dedup-window ends sent beside it.
   */
  async function observe(
    ruleSet: ReturnType<RulesRuntime['current']>,
    events: readonly MeetingEvent[],
    owners: readonly string[],
    receivedAt: number,
  ): Promise<{ observed: ObservedCounts[]; checks: (ParticipantCheck | undefined)[] }> {
    if (events.length === 0) return { observed: [], checks: [] };
    // Someone who rejoins after a removal starts a new dedup window: they may be removed again.
    // Sent beside the counters (a copy of a join ends the window just as well), so it adds no wait.
    const rejoins: { sessionId: string; participantId: string }[] = [];
    const inputs: ObserveInput[] = [];
    for (let i = 0; i < events.length; i++) {
      const event = events[i]!;
      if (event.type === 'participant-joined' && event.participantId !== undefined)
        rejoins.push({ sessionId: event.sessionId, participantId: event.participantId });
      meetings.note(event);
      const plan = counterPlanFor(ruleSet.ruleSet, event.type);
      inputs.push({
        event,
        specs: plan.counterSpecs,
        strikeWindows: plan.strikeWindows,
        ruleHits: plan.ruleHits,
        receivedAt,
        marker: { key: keys.part(event.sessionId).eventDone(event.id), owner: owners[i]!, ttlSeconds: deps.dedupSeconds },
      });
    }
    // Bans and lockdowns are global keys (one hash tag), the counters live in the partitions'
    // tags: one script cannot read both under Redis Cluster, so the participants of the batch are
    // checked in one script run of their own (shared with the jobs asking in the same tick), sent
    // beside the counters: no extra wait.
    const [observed, checks] = await Promise.all([
      events.length === 1 ? counters.observe(inputs[0]!).then((o) => [o]) : counters.observeMany(inputs),
      checkParticipants ? checkParticipants(events) : [],
      rejoins.length > 0 ? claims.endWindows(rejoins) : undefined,
    ]);
    return { observed, checks };
  }

  /**
   * The removal that keeps a participant out, whatever the rules say: a ban (which wins), or a
   * lockdown of the meeting they are not admitted to. Undefined when neither applies.
   */
  function keptOut(
    event: MeetingEvent,
    check: ParticipantCheck | undefined,
    rulesVersion: string,
    received: number | undefined,
  ): { removal: Promise<string | undefined>; hit: typeof BAN_HIT | typeof LOCKDOWN_HIT } | undefined {
    if (check?.ban) return { removal: consequences.banned(event, check.ban, rulesVersion, received), hit: BAN_HIT };
    if (check?.lockedOut) return { removal: consequences.lockedOut(event, check.lockedOut, rulesVersion, received), hit: LOCKDOWN_HIT };
    return undefined;
  }

  return {
    process,
    /** Sends the log entries still waiting (call after the worker stopped). */
    flush: () => log.flush(),
  };
}

/**
 * When a job's events were received: the time the job was added (a batch job's too, added within
 * milliseconds of its events' receipt). Kept through retries and redeliveries.
 */
function receivedAt(job: Job): number | undefined {
  return Number.isFinite(job.timestamp) && job.timestamp > 0 ? job.timestamp : undefined;
}

/** The log entry's hits of an event no rule fired for (shared: written as JSON, never changed). */
const NO_HITS: EventLogEntry['hits'] = [];

/** What a ban removal shows as the event's hit (results and the processed-event log). */
const BAN_HIT = { rule: 'ban', mode: 'enforce', action: 'remove-participant' } as const;

/** What a lockdown removal shows as the event's hit. */
const LOCKDOWN_HIT = { rule: 'lockdown', mode: 'enforce', action: 'remove-participant' } as const;

export type EventProcessor = ReturnType<typeof createEventProcessor>;

/** The input with `id` filled in when it is an object without one (anything else is left to `parseEvent`). */
function withDefaultId(input: unknown, id: string): unknown {
  return input !== null && typeof input === 'object' && !Array.isArray(input) && (input as { id?: unknown }).id === undefined
    ? { ...(input as object), id }
    : input;
}
