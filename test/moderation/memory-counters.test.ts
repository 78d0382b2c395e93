import { describe, expect, it } from 'vitest';
import type { MeetingEvent } from '../../src/shared/event-schema.js';
import { createMemoryCounters } from '../../src/moderation/memory-counters.js';
import type { RuleHit } from '../../src/moderation/types.js';

const T0 = Date.UTC(2026, 0, 1);
function at(ms: number, extra: Partial<MeetingEvent> = {}): MeetingEvent {
  return {
    id: `e${ms}`,
    type: 'chat-message',
    sessionId: 's1',
    meetingId: 'm1',
    participantId: 'p1',
    timestamp: new Date(T0 + ms).toISOString(),
    data: {},
    ...extra,
  };
}
const hit = (rule: string, mode: 'enforce' | 'shadow' = 'enforce'): RuleHit => ({ rule, mode, action: 'flag', reason: rule, priority: 1 });

describe('createMemoryCounters', () => {
  const specs = {
    counterSpecs: [
      { type: 'chat-message', windowSeconds: 10, scope: 'participant' as const },
      { type: 'chat-message', windowSeconds: 10, scope: 'session' as const },
    ],
    strikeWindows: [60],
  };

  it('counts this event and those in (t - window, t]: an event exactly one window old is out', () => {
    const counters = createMemoryCounters(specs);
    expect(counters.observe(at(0)).eventCounts['participant:chat-message:10']).toBe(1);
    expect(counters.observe(at(1)).eventCounts['participant:chat-message:10']).toBe(2);
    expect(counters.observe(at(10_000)).eventCounts['participant:chat-message:10']).toBe(2); // 0 is out, 1 in
    expect(counters.observe(at(10_001)).eventCounts['participant:chat-message:10']).toBe(2); // 1 is out
  });

  it('counts per participant and per session, and only the counted type', () => {
    const counters = createMemoryCounters(specs);
    counters.observe(at(0));
    counters.observe(at(1, { type: 'participant-joined' }));
    const other = counters.observe(at(2, { participantId: 'p2' }));
    expect(other.eventCounts).toEqual({ 'participant:chat-message:10': 1, 'session:chat-message:10': 2 });
    const elsewhere = counters.observe(at(3, { sessionId: 's2', participantId: 'p3' }));
    expect(elsewhere.eventCounts).toEqual({ 'participant:chat-message:10': 1, 'session:chat-message:10': 1 });
  });

  it('counts a participant within one meeting: the same id in another meeting is counted apart', () => {
    const counters = createMemoryCounters(specs);
    counters.observe(at(0));
    counters.observe(at(1, { meetingId: 'm2', sessionId: 's9' }));
    expect(counters.observe(at(2)).eventCounts['participant:chat-message:10']).toBe(2);
    expect(counters.observe(at(3, { meetingId: 'm2', sessionId: 's9' })).eventCounts['participant:chat-message:10']).toBe(2);
  });

  it('counts strikes from the enforced hits of other events in (t - window, t], one per rule', () => {
    const counters = createMemoryCounters(specs);
    const first = at(0);
    expect(counters.observe(first).strikes).toEqual({ '60': 0 });
    counters.recordHits(first, [hit('a'), hit('b'), hit('b'), hit('s', 'shadow')]);
    expect(counters.observe(at(0)).strikes['60']).toBe(0); // the same event again: its own hits never count
    expect(counters.observe(at(0, { id: 'same-instant' })).strikes['60']).toBe(2); // another event at the same instant
    expect(counters.observe(at(1)).strikes['60']).toBe(2);
    expect(counters.observe(at(59_999)).strikes['60']).toBe(2);
    expect(counters.observe(at(60_000)).strikes['60']).toBe(0); // exactly one window old: out
  });

  it('keeps strikes per participant and meeting (session when no meeting)', () => {
    const counters = createMemoryCounters(specs);
    counters.recordHits(at(0), [hit('a')]);
    expect(counters.observe(at(1, { participantId: 'p2' })).strikes['60']).toBe(0);
    expect(counters.observe(at(1, { meetingId: 'm2' })).strikes['60']).toBe(0);
    expect(counters.observe(at(1, { sessionId: 'another-session-same-meeting' })).strikes['60']).toBe(1);
  });

  it('handles events slightly out of order', () => {
    const counters = createMemoryCounters(specs);
    counters.observe(at(5_000));
    expect(counters.observe(at(4_000)).eventCounts['participant:chat-message:10']).toBe(1);
    expect(counters.observe(at(6_000)).eventCounts['participant:chat-message:10']).toBe(3);
  });
});

describe('createMemoryCounters, like the Redis counters', () => {
  const specs = { counterSpecs: [{ type: 'chat-message', windowSeconds: 10, scope: 'participant' as const }], strikeWindows: [60] };

  it('counts a repeated event id once, at its latest time (as ZADD moves a member)', () => {
    const counters = createMemoryCounters(specs);
    counters.observe(at(0, { id: 'same' }));
    expect(counters.observe(at(1_000, { id: 'same' })).eventCounts['participant:chat-message:10']).toBe(1);
    // Moved to 1 s: still in the window at 10.5 s, where 0 s would not be.
    expect(counters.observe(at(10_500, { id: 'other' })).eventCounts['participant:chat-message:10']).toBe(2);
  });

  it('records one strike per (event, rule) however often the hits are recorded', () => {
    const counters = createMemoryCounters(specs);
    const event = at(0);
    counters.recordHits(event, [hit('a')]);
    counters.recordHits(event, [hit('a'), hit('b')]);
    expect(counters.observe(at(1)).strikes['60']).toBe(2);
  });

  it('trims at each insert what is a longest window older than the inserted event, so a late event counts what Redis counts', () => {
    const counters = createMemoryCounters(specs);
    counters.observe(at(0, { id: 'a' }));
    counters.observe(at(30_000, { id: 'b' })); // trims up to 20 s: 'a' is gone
    // A late event at 5 s: Redis has dropped 'a' too, so it counts only itself.
    expect(counters.observe(at(5_000, { id: 'late' })).eventCounts['participant:chat-message:10']).toBe(1);
  });
});

describe('createMemoryCounters, rule hits', () => {
  const specs = {
    counterSpecs: [],
    strikeWindows: [],
    ruleHitSpecs: [{ rule: 'link', windowSeconds: 60 }],
    countedRules: new Map([['link', 3600]]),
  };

  it("counts the enforced hits of a counted rule in (t - window, t], never this event's own", () => {
    const counters = createMemoryCounters(specs);
    counters.recordHits(at(0), [hit('link'), hit('other')]);
    counters.recordHits(at(0, { id: 'twin' }), [hit('link', 'shadow')]);
    expect(counters.observe(at(0)).ruleHits).toEqual({ 'link:60': 0 });
    expect(counters.observe(at(0, { id: 'twin' })).ruleHits).toEqual({ 'link:60': 1 });
    expect(counters.observe(at(59_999)).ruleHits).toEqual({ 'link:60': 1 });
    expect(counters.observe(at(60_000)).ruleHits).toEqual({ 'link:60': 0 });
    expect(counters.observe(at(1, { participantId: 'p2' })).ruleHits).toEqual({ 'link:60': 0 });
  });
});
