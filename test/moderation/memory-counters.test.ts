import { describe, expect, it } from 'vitest';
import type { MeetingEvent } from '../../src/events/event-schema.js';
import { createMemoryCounters } from '../../src/moderation/memory-counters.js';
import type { RuleHit } from '../../src/moderation/types.js';

const T0 = Date.UTC(2026, 0, 1);
function at(ms: number, extra: Partial<MeetingEvent> = {}): MeetingEvent {
  return { id: `e${ms}`, type: 'chat-message', sessionId: 's1', meetingId: 'm1', participantId: 'p1', timestamp: new Date(T0 + ms).toISOString(), data: {}, ...extra };
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

  it('counts strikes from earlier enforced hits in (t - window, t), one per rule', () => {
    const counters = createMemoryCounters(specs);
    const first = at(0);
    expect(counters.observe(first).strikes).toEqual({ '60': 0 });
    counters.recordHits(first, [hit('a'), hit('b'), hit('b'), hit('s', 'shadow')]);
    expect(counters.observe(at(0)).strikes['60']).toBe(0); // same instant: not earlier
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
