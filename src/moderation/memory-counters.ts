import type { MeetingEvent } from '../events/event-schema.js';
import { counterKey, type EvaluationFacts, type RuleHit, type RuleSet } from './types.js';

/** In-memory counters and strikes with the same meaning as the Redis ones, driven by event times. */
export interface MemoryCounters {
  /**
   * Counts `event` and returns the facts for evaluating it:
   * - `eventCount(type, window, scope)`: events of that type with a timestamp in
   *   (t - window, t], this one included, for the same `participantId` (scope participant; 0 for
   *   an event without one) or `sessionId` (scope session);
   * - `strikes(window)`: enforced hits of this participant in this meeting (`meetingId ??
   *   sessionId`) with a timestamp in (t - window, t), from earlier events.
   */
  observe(event: MeetingEvent): EvaluationFacts;
  /** Records the hits for `event`: each enforce-mode rule that fired is one strike. */
  recordHits(event: MeetingEvent, hits: readonly RuleHit[]): void;
}

/**
 * Counters for `rules test` and backtests, where time comes from the events themselves. Only the
 * counters and strike windows `ruleSet` uses are kept, and nothing older than the longest window.
 */
export function createMemoryCounters(ruleSet: Pick<RuleSet, 'counterSpecs' | 'strikeWindows'>): MemoryCounters {
  // Longest window per (scope, type): how far back a timeline must reach.
  const tracked = new Map<string, { scope: 'participant' | 'session'; type: string; windowMs: number }>();
  for (const spec of ruleSet.counterSpecs) {
    const key = `${spec.scope}:${spec.type}`;
    const windowMs = spec.windowSeconds * 1000;
    const current = tracked.get(key);
    if (current === undefined || current.windowMs < windowMs) tracked.set(key, { scope: spec.scope, type: spec.type, windowMs });
  }
  const maxStrikeMs = Math.max(0, ...ruleSet.strikeWindows) * 1000;
  const events = new Map<string, number[]>();
  const strikes = new Map<string, number[]>();

  const subject = (event: MeetingEvent, scope: 'participant' | 'session'): string | undefined =>
    scope === 'session' ? event.sessionId : event.participantId;
  const strikeKey = (event: MeetingEvent): string | undefined =>
    event.participantId === undefined ? undefined : `${event.meetingId ?? event.sessionId}\u0000${event.participantId}`;

  return {
    observe(event) {
      const t = Date.parse(event.timestamp);
      for (const { scope, type, windowMs } of tracked.values()) {
        const id = subject(event, scope);
        if (type !== event.type || id === undefined) continue;
        insert(events, `${scope}\u0000${type}\u0000${id}`, t, windowMs);
      }
      const eventCounts: Record<string, number> = {};
      for (const spec of ruleSet.counterSpecs) {
        const id = subject(event, spec.scope);
        const times = id === undefined ? undefined : events.get(`${spec.scope}\u0000${spec.type}\u0000${id}`);
        eventCounts[counterKey(spec)] = times === undefined ? 0 : upperBound(times, t) - upperBound(times, t - spec.windowSeconds * 1000);
      }
      const strikeCounts: Record<string, number> = {};
      const key = strikeKey(event);
      const times = key === undefined ? undefined : strikes.get(key);
      for (const w of ruleSet.strikeWindows) {
        strikeCounts[String(w)] = times === undefined ? 0 : lowerBound(times, t) - upperBound(times, t - w * 1000);
      }
      return { eventCounts, strikes: strikeCounts };
    },

    recordHits(event, hits) {
      const key = strikeKey(event);
      if (key === undefined || maxStrikeMs === 0) return;
      const t = Date.parse(event.timestamp);
      const rules = new Set(hits.filter((h) => h.mode === 'enforce').map((h) => h.rule));
      for (let i = 0; i < rules.size; i++) insert(strikes, key, t, maxStrikeMs);
    },
  };
}

/** Inserts `t` in time order (events may arrive slightly out of order) and drops what aged out. */
function insert(timelines: Map<string, number[]>, key: string, t: number, keepMs: number): void {
  let times = timelines.get(key);
  if (times === undefined) {
    times = [];
    timelines.set(key, times);
  }
  times.splice(upperBound(times, t), 0, t);
  const newest = times[times.length - 1]!;
  const stale = upperBound(times, newest - keepMs);
  if (stale > 0) times.splice(0, stale);
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
