import type { MeetingEvent } from '../shared/event-schema.js';
import type { ObservedCounts } from '../store/counters.js';

/**
 * The enforced hits of a batch's events so far, as strikes and rule hits of the events after
 * them: (t - window, t] of the same participant in the same meeting, never an event's own. The
 * counters of every event of a batch are read before any of them is decided; with these added, a
 * batch decides as its events would one by one.
 */
export function createBatchHits() {
  const hits: { who: string; t: number; id: string; rules: ReadonlySet<string>; strikes: number }[] = [];
  const whoOf = (event: MeetingEvent): string | undefined =>
    event.participantId === undefined ? undefined : `${event.meetingId ?? event.sessionId}\u0000${event.participantId}`;
  return {
    add(event: MeetingEvent, fired: readonly { rule: string; mode: string; action: string }[]): void {
      if (fired.length === 0) return;
      const who = whoOf(event);
      const enforced = fired.filter((h) => h.mode === 'enforce');
      const rules = new Set(enforced.map((h) => h.rule));
      // As the consequences record them: a lockdown is no strike of its sender's.
      const strikes = new Set(enforced.filter((h) => h.action !== 'lockdown').map((h) => h.rule)).size;
      if (who !== undefined && rules.size > 0) hits.push({ who, t: Date.parse(event.timestamp), id: event.id, rules, strikes });
    },
    factsFor(event: MeetingEvent, facts: ObservedCounts): ObservedCounts {
      if (hits.length === 0) return facts;
      const who = whoOf(event);
      if (who === undefined) return facts;
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
