import type { MeetingEvent } from '../shared/event-schema.js';
import {
  counterKey,
  DEFAULT_CLOCK_SKEW_SECONDS,
  ruleHitsKey,
  strikeRetentionSeconds,
  type EvaluationFacts,
  type RuleHit,
  type RuleSet,
} from './types.js';

/**
 * In-memory counters and strikes with exactly the meaning of the Redis ones (`store/counters.ts`),
 * driven by event times. `test/rules/counter-parity.test.ts` holds the two to the same answers.
 */
export interface MemoryCounters {
  /**
   * Counts `event` and returns the facts for evaluating it:
   * - `eventCount(type, window, scope)`: events of that type with a timestamp in
   *   (t - window, t], this one included, for the same participant in the same meeting
   *   (`meetingId ?? sessionId`; scope participant; 0 for an event without a participant) or the
   *   same `sessionId` (scope session). An event id seen again replaces its
   *   earlier entry (as Redis' ZADD does), so a repeated event counts once.
   * - `strikes(window)`: enforced hits of this participant in this meeting (`meetingId ??
   *   sessionId`) with a timestamp in (t - window, t], from other events.
   * - `ruleHits(rule, window)`: enforced hits of that rule for this participant in this meeting in
   *   (t - window, t], from other events.
   */
  observe(event: MeetingEvent): EvaluationFacts;
  /**
   * Records the hits for `event`: each enforce-mode rule that fired is one strike, and one hit of
   * that rule when a `ruleHits` fact counts it.
   */
  recordHits(event: MeetingEvent, hits: readonly RuleHit[]): void;
}

/** Options of `createMemoryCounters`. */
export interface MemoryCountersOptions {
  /** `AUTOMOD_CLOCK_SKEW_SECONDS`: strikes and rule hits are kept this much past their windows, as in Redis. */
  clockSkewSeconds?: number;
}

/**
 * Counters for `rules test` and backtests, where time comes from the events themselves. Only the
 * counters and strike windows `ruleSet` uses are kept. Entries are trimmed the way the Redis
 * counters trim them (on each insert, what is older than the longest window before the inserted
 * time), so even events that arrive out of order count the same.
 */
export function createMemoryCounters(
  ruleSet: Pick<RuleSet, 'counterSpecs' | 'strikeWindows'> & Partial<Pick<RuleSet, 'ruleHitSpecs' | 'countedRules'>>,
  options: MemoryCountersOptions = {},
): MemoryCounters {
  const skewMs = Math.max(1, Math.round((options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS) * 1000));
  const ruleHitSpecs = ruleSet.ruleHitSpecs ?? [];
  const countedRules = ruleSet.countedRules ?? new Map<string, number>();
  const ruleHits = new Map<string, Timeline>();
  // Longest window per (scope, type): how far back a timeline must reach.
  const tracked = new Map<string, { scope: 'participant' | 'session'; type: string; windowMs: number }>();
  for (const spec of ruleSet.counterSpecs) {
    const key = `${spec.scope}:${spec.type}`;
    const windowMs = spec.windowSeconds * 1000;
    const current = tracked.get(key);
    if (current === undefined || current.windowMs < windowMs) tracked.set(key, { scope: spec.scope, type: spec.type, windowMs });
  }
  const strikeKeepMs = strikeRetentionSeconds(ruleSet.strikeWindows) * 1000;
  const events = new Map<string, Timeline>();
  const strikes = new Map<string, Timeline>();

  // A participant is counted within one meeting, as strikes are (the same keys as in Redis).
  const subject = (event: MeetingEvent, scope: 'participant' | 'session'): string | undefined =>
    scope === 'session'
      ? event.sessionId
      : event.participantId === undefined
        ? undefined
        : `${event.meetingId ?? event.sessionId}\u0000${event.participantId}`;
  const strikeKey = (event: MeetingEvent): string | undefined =>
    event.participantId === undefined ? undefined : `${event.meetingId ?? event.sessionId}\u0000${event.participantId}`;

  return {
    observe(event) {
      const t = Date.parse(event.timestamp);
      for (const { scope, type, windowMs } of tracked.values()) {
        const id = subject(event, scope);
        if (type !== event.type || id === undefined) continue;
        timelineOf(events, `${scope}\u0000${type}\u0000${id}`).insert(event.id, t, windowMs);
      }
      const eventCounts: Record<string, number> = {};
      for (const spec of ruleSet.counterSpecs) {
        const id = subject(event, spec.scope);
        const timeline = id === undefined ? undefined : events.get(`${spec.scope}\u0000${spec.type}\u0000${id}`);
        eventCounts[counterKey(spec)] = timeline === undefined ? 0 : timeline.count(t - spec.windowSeconds * 1000, t, true);
      }
      const strikeCounts: Record<string, number> = {};
      const key = strikeKey(event);
      const timeline = key === undefined ? undefined : strikes.get(key);
      // Equal times count; this event's own strikes (`id:rule`, on a repeated id) do not.
      const own = timeline === undefined ? 0 : timeline.countAt(t, (id) => isOwnStrike(id, event.id));
      for (const w of ruleSet.strikeWindows) {
        strikeCounts[String(w)] = timeline === undefined ? 0 : timeline.count(t - w * 1000, t, true) - own;
      }
      const hitCounts: Record<string, number> = {};
      for (const spec of ruleHitSpecs) {
        const hitTimeline = key === undefined ? undefined : ruleHits.get(`${key}\u0000${spec.rule}`);
        const mine = hitTimeline === undefined ? 0 : hitTimeline.countAt(t, (id) => id === event.id);
        hitCounts[ruleHitsKey(spec)] = hitTimeline === undefined ? 0 : hitTimeline.count(t - spec.windowSeconds * 1000, t, true) - mine;
      }
      return ruleHitSpecs.length === 0
        ? { eventCounts, strikes: strikeCounts }
        : { eventCounts, strikes: strikeCounts, ruleHits: hitCounts };
    },

    recordHits(event, hits) {
      const key = strikeKey(event);
      if (key === undefined) return;
      const t = Date.parse(event.timestamp);
      const enforced = new Set(hits.filter((h) => h.mode === 'enforce').map((h) => h.rule));
      // One strike per (event, rule), as the Redis members `eventId:rule` are; kept a clock skew
      // past the windows, as in Redis. A lockdown the event set off is no strike of its sender's.
      if (ruleSet.strikeWindows.length > 0) {
        const timeline = timelineOf(strikes, key);
        for (const h of hits) {
          if (h.mode === 'enforce' && h.action !== 'lockdown') timeline.insert(`${event.id}:${h.rule}`, t, strikeKeepMs + skewMs);
        }
      }
      for (const rule of enforced) {
        const seconds = countedRules.get(rule);
        if (seconds !== undefined) timelineOf(ruleHits, `${key}\u0000${rule}`).insert(event.id, t, seconds * 1000 + skewMs);
      }
    },
  };
}

/** A strike member `id:rule` of event `id` (rule names hold no colon; ids may). */
function isOwnStrike(member: string, id: string): boolean {
  return member.length > id.length + 1 && member.startsWith(`${id}:`) && !member.includes(':', id.length + 1);
}

/** A sorted set of (time, id), like a Redis sorted set scored by time. */
interface Timeline {
  /** Adds (or moves) `id` at `t`, then drops entries at or before `t - keepMs`. */
  insert(id: string, t: number, keepMs: number): void;
  /** Entries with a time in (from, to] (`toInclusive`) or (from, to). */
  count(from: number, to: number, toInclusive: boolean): number;
  /** Entries at exactly `t` whose id passes `test`. */
  countAt(t: number, test: (id: string) => boolean): number;
}

function timelineOf(timelines: Map<string, Timeline>, key: string): Timeline {
  let timeline = timelines.get(key);
  if (timeline === undefined) {
    timeline = createTimeline();
    timelines.set(key, timeline);
  }
  return timeline;
}

function createTimeline(): Timeline {
  const times: number[] = [];
  const ids: string[] = [];
  const at = new Map<string, number>();
  return {
    insert(id, t, keepMs) {
      const previous = at.get(id);
      if (previous !== undefined) {
        let i = lowerBound(times, previous);
        while (i < ids.length && ids[i] !== id) i++;
        times.splice(i, 1);
        ids.splice(i, 1);
      }
      const index = upperBound(times, t);
      times.splice(index, 0, t);
      ids.splice(index, 0, id);
      at.set(id, t);
      const stale = upperBound(times, t - keepMs);
      if (stale > 0) {
        for (const old of ids.splice(0, stale)) at.delete(old);
        times.splice(0, stale);
      }
    },
    count(from, to, toInclusive) {
      return (toInclusive ? upperBound(times, to) : lowerBound(times, to)) - upperBound(times, from);
    },
    countAt(t, test) {
      let n = 0;
      for (let i = lowerBound(times, t); i < times.length && times[i] === t; i++) if (test(ids[i]!)) n++;
      return n;
    },
  };
}

/** Index of the first element > x. */
function upperBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of the first element >= x. */
function lowerBound(sorted: readonly number[], x: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
