import type { Job } from 'bullmq';
import { InvalidEventError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { Consequences } from '../consequences/consequences.js';
import type { MeetingResolver } from '../consequences/meeting-resolver.js';
import { counterPlanFor, DEFAULT_CLOCK_SKEW_SECONDS } from '../moderation/types.js';
import type { RulesRuntime } from '../rules/rules-runtime.js';
import type { LockdownStore, ParticipantCheck } from '../store/lockdowns.js';
import type { CounterStore, ObservedCounts } from '../store/counters.js';
import type { DeadLetters } from '../store/dead-letter.js';
import type { EventLog, EventLogEntry } from '../store/event-log.js';
import type { Keys } from '../store/keys.js';
import type { RemovalClaims } from '../store/removal-claims.js';
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
  const { keys, rules, counters, claims, consequences, meetings, eventLog, deadLetters, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const batchMax = deps.batchMax ?? DEFAULT_BATCH_MAX;
  const parseOptions = { clockSkewMs: (deps.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000 };
  // When the job was added: the receipt of its events. Never later than now (a producer's clock
  // ahead of ours), and the same on every retry, so a redelivered event counts where it did.
  const receiptOf = (job: Job): number => Math.min(receivedAt(job) ?? now(), now());
  const log = createBackgroundLog(eventLog, logger);

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
      metrics?.events.inc({ type: eventTypeLabel(event.type) });
      return { eventId: event.id, status: 'processed', hits: [kept.hit], ...(removalJobId ? { removalJobId } : {}) };
    }
    await rules.syncLists(facts!.listsVersion);
    const hits = await ruleSet.evaluator.evaluate(event, facts!);
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
    metrics?.events.inc({ type: eventTypeLabel(event.type) });
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
    // The counters of every event of the batch were read before any of them was decided: the hits
    // of earlier events are added here, so a batch decides as its events would one by one.
    const earlier = createBatchHits();
    const acting: Promise<string | undefined>[] = [];
    const byType = new Map<string, number>();
    for (let i = 0; i < events.length; i++) {
      const facts = observed[i]!;
      if (facts.alreadyDone) {
        duplicates++;
        continue;
      }
      const kept = keptOut(events[i]!, checks[i], ruleSet.ruleSet.version, receivedAt(job));
      if (kept) {
        const event = events[i]!;
        acting.push(kept.removal);
        log.add({ event, hits: [kept.hit], rulesVersion: ruleSet.ruleSet.version });
        const label = eventTypeLabel(event.type);
        byType.set(label, (byType.get(label) ?? 0) + 1);
        continue;
      }
      if (facts.listsVersion !== synced) {
        await rules.syncLists(facts.listsVersion);
        synced = facts.listsVersion;
      }
      const event = events[i]!;
      const hits = await ruleSet.evaluator.evaluate(event, earlier.factsFor(event, facts));
      earlier.add(event, hits);
      // The removals of one batch are asked for together (claims collapse repeats atomically).
      if (hits.length > 0)
        acting.push(consequences.decided(event, hits, ruleSet.ruleSet, facts, rules.lists, receivedAt(job)).then((c) => c.removalJobId));
      log.add({
        event,
        hits: hits.length === 0 ? [] : hits.map(({ rule, mode, action }) => ({ rule, mode, action })),
        rulesVersion: ruleSet.ruleSet.version,
      });
      const label = eventTypeLabel(event.type);
      byType.set(label, (byType.get(label) ?? 0) + 1);
    }
    const removalJobIds = (await Promise.all(acting)).filter((id): id is string => id !== undefined);
    if (duplicates > 0) metrics?.duplicateEvents.inc(duplicates);
    for (const [type, n] of byType) metrics?.events.inc({ type }, n);
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
    const inputs = events.map((event, i) => {
      if (event.type === 'participant-joined' && event.participantId !== undefined)
        rejoins.push({ sessionId: event.sessionId, participantId: event.participantId });
      const plan = counterPlanFor(ruleSet.ruleSet, event.type);
      return {
        event,
        specs: plan.counterSpecs,
        strikeWindows: plan.strikeWindows,
        ruleHits: plan.ruleHits,
        receivedAt,
        marker: { key: keys.part(event.sessionId).eventDone(event.id), owner: owners[i]!, ttlSeconds: deps.dedupSeconds },
      };
    });
    // Bans and lockdowns are global keys (one hash tag), the counters live in the partitions'
    // tags: one script cannot read both under Redis Cluster, so the participants of the batch are
    // checked in one script run of their own, sent beside the counters: no extra wait.
    for (const event of events) meetings.note(event);
    const checked = deps.lockdowns ? checkParticipants(deps.lockdowns, events, meetings) : Promise.resolve([]);
    const [observed, checks] = await Promise.all([
      events.length === 1 ? counters.observe(inputs[0]!).then((o) => [o]) : counters.observeMany(inputs),
      checked,
      claims.endWindows(rejoins),
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
 * The enforced hits of a batch's events so far, as strikes and rule hits of the events after
 * them: (t - window, t] of the same participant in the same meeting, never an event's own.
 */
function createBatchHits() {
  const hits: { who: string; t: number; id: string; rules: ReadonlySet<string>; strikes: number }[] = [];
  const whoOf = (event: MeetingEvent): string | undefined =>
    event.participantId === undefined ? undefined : `${event.meetingId ?? event.sessionId}\u0000${event.participantId}`;
  return {
    add(event: MeetingEvent, fired: readonly { rule: string; mode: string; action: string }[]): void {
      const who = whoOf(event);
      const enforced = fired.filter((h) => h.mode === 'enforce');
      const rules = new Set(enforced.map((h) => h.rule));
      // As the consequences record them: a lockdown is no strike of its sender's.
      const strikes = new Set(enforced.filter((h) => h.action !== 'lockdown').map((h) => h.rule)).size;
      if (who !== undefined && rules.size > 0) hits.push({ who, t: Date.parse(event.timestamp), id: event.id, rules, strikes });
    },
    factsFor(event: MeetingEvent, facts: ObservedCounts): ObservedCounts {
      const who = whoOf(event);
      if (hits.length === 0 || who === undefined) return facts;
      const t = Date.parse(event.timestamp);
      const mine = hits.filter((h) => h.who === who && h.id !== event.id && h.t <= t);
      if (mine.length === 0) return facts;
      const within = (seconds: number) => mine.filter((h) => h.t > t - seconds * 1000);
      const strikes = { ...facts.strikes };
      for (const w of Object.keys(strikes)) strikes[w]! += within(Number(w)).reduce((n, h) => n + h.strikes, 0);
      const ruleHits = { ...facts.ruleHits };
      for (const key of Object.keys(ruleHits)) {
        const at = key.lastIndexOf(':');
        const rule = key.slice(0, at);
        ruleHits[key]! += within(Number(key.slice(at + 1))).filter((h) => h.rules.has(rule)).length;
      }
      return { ...facts, strikes, ruleHits };
    },
  };
}

/**
 * When a job's events were received: the time the job was added (a batch job's too, added within
 * milliseconds of its events' receipt). Kept through retries and redeliveries.
 */
function receivedAt(job: Job): number | undefined {
  return Number.isFinite(job.timestamp) && job.timestamp > 0 ? job.timestamp : undefined;
}

/** What a ban removal shows as the event's hit (results and the processed-event log). */
const BAN_HIT = { rule: 'ban', mode: 'enforce', action: 'remove-participant' } as const;

/** What a lockdown removal shows as the event's hit. */
const LOCKDOWN_HIT = { rule: 'lockdown', mode: 'enforce', action: 'remove-participant' } as const;

/** Each participant event's ban and lockdown (undefined for other events), in one script run; joins recorded. */
async function checkParticipants(
  lockdowns: Pick<LockdownStore, 'check'>,
  events: readonly MeetingEvent[],
  meetings: MeetingResolver,
): Promise<(ParticipantCheck | undefined)[]> {
  // An event without a meeting id is checked by the meeting its session is known to be in (no
  // I/O here); when none is known, only an every-meeting ban can match it.
  const asked = events.flatMap((e) =>
    e.participantId === undefined
      ? []
      : [
          {
            meetingId: meetings.known(e),
            participantId: e.participantId,
            sessionId: e.sessionId,
            ...(e.type === 'participant-joined' ? { joinedAt: Date.parse(e.timestamp) } : {}),
            ...(typeof e.data.role === 'string' ? { role: e.data.role.toLowerCase() } : {}),
          },
        ],
  );
  const found = await lockdowns.check(asked);
  let next = 0;
  return events.map((e) => (e.participantId === undefined ? undefined : found[next++]));
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

/** The input with `id` filled in when it is an object without one (anything else is left to `parseEvent`). */
function withDefaultId(input: unknown, id: string): unknown {
  return input !== null && typeof input === 'object' && !Array.isArray(input) && (input as { id?: unknown }).id === undefined
    ? { ...(input as object), id }
    : input;
}
