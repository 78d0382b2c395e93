import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../src/errors.js';
import { EVENT_LIMITS, eventTypeLabel, isParticipantEvent, parseEvent, parseEvents } from '../../src/events/event-schema.js';

const NOW = new Date('2026-11-25T10:00:00.000Z');

function problemsOf(fn: () => unknown): { path: string; message: string }[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(InvalidEventError);
    return [...(err as InvalidEventError).problems];
  }
  throw new Error('expected an InvalidEventError');
}

describe('parseEvent', () => {
  it('accepts the contract example as it is', () => {
    const event = { id: 'optional idempotency key', type: 'chat-message', meetingId: 'abcd-efgh-ijkl', sessionId: '61adc697a239e84d0aaa7e15', participantId: 'c7wgj9sd', participantName: 'John', timestamp: '2026-11-25T10:00:00.000Z', data: { text: 'hello' } };
    expect(parseEvent(event, NOW)).toEqual(event);
  });

  it('fills in the id, the timestamp and data, and normalizes the time', () => {
    const event = parseEvent({ type: 'session-started', sessionId: 's' }, NOW);
    expect(event).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), type: 'session-started', sessionId: 's', timestamp: NOW.toISOString(), data: {} });
    expect(parseEvent({ type: 'custom-x', sessionId: 's', timestamp: Date.parse('2026-01-02T03:04:05Z') }, NOW).timestamp).toBe('2026-01-02T03:04:05.000Z');
    expect(parseEvent({ type: 'x', sessionId: ' s ' }, NOW).sessionId).toBe('s');
  });

  it('names the path of every problem', () => {
    expect(problemsOf(() => parseEvent({ sessionId: 5, data: [] }, NOW)).map((p) => p.path).sort()).toEqual(['$.data', '$.sessionId', '$.type']);
    expect(problemsOf(() => parseEvent({ type: 'has space', sessionId: 's' }, NOW))).toEqual([{ path: '$.type', message: expect.stringMatching(/letters, digits/) }]);
    expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', timestamp: 'yesterday' }, NOW))).toEqual([{ path: '$.timestamp', message: expect.stringMatching(/ISO 8601/) }]);
    expect(problemsOf(() => parseEvent('text', NOW))).toEqual([{ path: '$', message: 'must be a JSON object' }]);
    // Missing and mistyped fields read as what to fix, all of them at once.
    expect(problemsOf(() => parseEvent({ type: 'chat-message', participantName: 7 }, NOW))).toEqual([
      { path: '$.sessionId', message: 'is required' },
      { path: '$.participantName', message: 'must be a string' },
      { path: '$.participantId', message: 'is required for "chat-message" events' },
    ]);
    expect(problemsOf(() => parseEvent([], NOW))).toEqual([{ path: '$', message: 'must be a JSON object' }]);
  });

  it('requires participantId on participant events and checks the typed data fields', () => {
    for (const type of ['participant-joined', 'participant-left', 'participant-renamed', 'chat-message']) {
      expect(isParticipantEvent(type)).toBe(true);
      expect(problemsOf(() => parseEvent({ type, sessionId: 's' }, NOW))).toEqual([{ path: '$.participantId', message: `is required for "${type}" events` }]);
    }
    expect(isParticipantEvent('session-ended')).toBe(false);
    expect(problemsOf(() => parseEvent({ type: 'chat-message', sessionId: 's', participantId: 'p', data: { text: 5, role: ['host'] } }, NOW))).toEqual([
      { path: '$.data.text', message: 'must be a string' },
      { path: '$.data.role', message: 'must be a string' },
    ]);
    expect(problemsOf(() => parseEvent({ type: 'participant-renamed', sessionId: 's', participantId: 'p', data: { name: {} } }, NOW))).toEqual([{ path: '$.data.name', message: 'must be a string' }]);
  });

  it('bounds what one event may cost', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < EVENT_LIMITS.depth + 2; i++) deep = deep.x = {};
    expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', data: root }, NOW))[0]?.message).toMatch(/nested deeper than 8 levels/);
    expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', data: { blob: 'x'.repeat(EVENT_LIMITS.bytes) } }, NOW))).toEqual([{ path: '$', message: 'is larger than 65536 bytes' }]);
    expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', id: 'i'.repeat(201) }, NOW))[0]?.path).toBe('$.id');
  });
});

describe('parseEvents', () => {
  it('takes one event or an array, and reports problems with the index of each bad one', () => {
    expect(parseEvents({ type: 'x', sessionId: 's' }, NOW)).toHaveLength(1);
    expect(parseEvents([{ type: 'x', sessionId: 's' }, { type: 'y', sessionId: 't' }], NOW)).toHaveLength(2);
    expect(problemsOf(() => parseEvents([{ type: 'x', sessionId: 's' }, { type: 'chat-message', sessionId: 's' }, { sessionId: 's' }], NOW))).toEqual([
      { path: '$[1].participantId', message: expect.any(String) },
      { path: '$[2].type', message: expect.any(String) },
    ]);
    expect(problemsOf(() => parseEvents([], NOW))).toEqual([{ path: '$', message: 'must hold at least one event' }]);
  });
});

describe('eventTypeLabel', () => {
  it('keeps known types and folds custom ones, so metric labels stay bounded', () => {
    for (const type of ['participant-joined', 'chat-message', 'session-ended', 'recording-started', 'hls-stopped', 'livestream-started']) expect(eventTypeLabel(type)).toBe(type);
    for (const type of ['my-thing', 'participant-danced', 'chat-message2']) expect(eventTypeLabel(type)).toBe('custom');
  });
});
