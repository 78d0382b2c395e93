import { describe, expect, it } from 'vitest';
import { InvalidEventError } from '../../src/shared/errors.js';
import { EVENT_LIMITS, eventTypeLabel, isParticipantEvent, parseEvent, parseEvents } from '../../src/shared/event-schema.js';

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
    const event = {
      id: 'optional idempotency key',
      type: 'chat-message',
      meetingId: 'abcd-efgh-ijkl',
      sessionId: '61adc697a239e84d0aaa7e15',
      participantId: 'c7wgj9sd',
      participantName: 'John',
      timestamp: '2026-11-25T10:00:00.000Z',
      data: { text: 'hello' },
    };
    expect(parseEvent(event, NOW)).toEqual(event);
  });

  it('fills in the id, the timestamp and data, and normalizes the time', () => {
    const event = parseEvent({ type: 'session-started', sessionId: 's' }, NOW);
    expect(event).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      type: 'session-started',
      sessionId: 's',
      timestamp: NOW.toISOString(),
      data: {},
    });
    expect(parseEvent({ type: 'custom-x', sessionId: 's', timestamp: Date.parse('2026-01-02T03:04:05Z') }, NOW).timestamp).toBe(
      '2026-01-02T03:04:05.000Z',
    );
    expect(parseEvent({ type: 'x', sessionId: ' s ' }, NOW).sessionId).toBe('s');
  });

  it('names the path of every problem', () => {
    expect(
      problemsOf(() => parseEvent({ sessionId: 5, data: [] }, NOW))
        .map((p) => p.path)
        .sort(),
    ).toEqual(['$.data', '$.sessionId', '$.type']);
    expect(problemsOf(() => parseEvent({ type: 'has space', sessionId: 's' }, NOW))).toEqual([
      { path: '$.type', message: expect.stringMatching(/letters, digits/) },
    ]);
    expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', timestamp: 'yesterday' }, NOW))).toEqual([
      { path: '$.timestamp', message: expect.stringMatching(/ISO 8601/) },
    ]);
    expect(problemsOf(() => parseEvent('text', NOW))).toEqual([{ path: '$', message: 'must be a JSON object' }]);
    // Missing and mistyped fields read as what to fix, all of them at once.
    expect(problemsOf(() => parseEvent({ type: 'chat-message', participantName: 7 }, NOW))).toEqual([
      { path: '$.sessionId', message: 'is required' },
      { path: '$.participantName', message: 'must be a string' },
      { path: '$.participantId', message: 'is required for "chat-message" events' },
    ]);
    expect(problemsOf(() => parseEvent([], NOW))).toEqual([{ path: '$', message: 'must be a JSON object' }]);
  });

  it('refuses a number written as a string and a date that does not exist, naming the field', () => {
    expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', timestamp: '12' }, NOW))).toEqual([
      { path: '$.timestamp', message: expect.stringMatching(/^is a number in a string: send epoch milliseconds as a JSON number/) },
    ]);
    for (const timestamp of ['2026-02-30T10:00:00Z', '2025-02-29', '2026-04-31T00:00:00.000Z', '2026-11-25T24:00:00Z']) {
      expect(
        problemsOf(() => parseEvent({ type: 'x', sessionId: 's', timestamp }, NOW)),
        timestamp,
      ).toEqual([
        { path: '$.timestamp', message: `is not a real time ("${timestamp}"): write an ISO 8601 time such as 2026-11-25T10:00:00Z` },
      ]);
    }
    expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', timestamp: Number.NaN }, NOW))).toEqual([
      { path: '$.timestamp', message: expect.stringMatching(/ISO 8601/) },
    ]);
    // Leap days, offsets, fractions and epoch milliseconds stay valid.
    for (const [timestamp, iso] of [
      ['2024-02-29T10:00:00Z', '2024-02-29T10:00:00.000Z'],
      ['2026-11-25T12:00:00+02:00', '2026-11-25T10:00:00.000Z'],
      ['2026-11-25T10:00:00.123456Z', '2026-11-25T10:00:00.123Z'],
      [Date.parse('2026-11-25T09:59:00Z'), '2026-11-25T09:59:00.000Z'],
    ] as const) {
      expect(parseEvent({ type: 'x', sessionId: 's', timestamp }, NOW).timestamp).toBe(iso);
    }
  });

  it('counts an event whose time is further than the clock skew from its receipt at its receipt, and marks it', () => {
    const skew = { clockSkewMs: 300_000 };
    const far = parseEvent({ type: 'x', sessionId: 's', timestamp: '9999-12-31T00:00:00Z' }, NOW, skew);
    expect(far).toMatchObject({ timestamp: NOW.toISOString(), skewed: true, claimedTimestamp: '9999-12-31T00:00:00.000Z' });
    const past = parseEvent({ type: 'x', sessionId: 's', timestamp: Date.parse('2026-11-25T08:00:00Z') }, NOW, skew);
    expect(past).toMatchObject({ timestamp: NOW.toISOString(), skewed: true, claimedTimestamp: '2026-11-25T08:00:00.000Z' });
    const near = parseEvent({ type: 'x', sessionId: 's', timestamp: '2026-11-25T10:04:59Z' }, NOW, skew);
    expect(near.timestamp).toBe('2026-11-25T10:04:59.000Z');
    expect(near.skewed).toBeUndefined();
    // Parsed again off the queue (a later receipt), it keeps the mark and the time it was given.
    expect(parseEvent(JSON.parse(JSON.stringify(far)), new Date(NOW.getTime() + 60_000), skew)).toEqual(far);
    // A mark the producer writes itself spares nothing.
    const forged = parseEvent({ type: 'x', sessionId: 's', timestamp: '9999-12-31T00:00:00Z', skewed: true }, NOW, skew);
    expect(forged).toMatchObject({ timestamp: NOW.toISOString(), skewed: true, claimedTimestamp: '9999-12-31T00:00:00.000Z' });
  });

  it('requires participantId on participant events and checks the typed data fields', () => {
    for (const type of ['participant-joined', 'participant-left', 'participant-renamed', 'chat-message']) {
      expect(isParticipantEvent(type)).toBe(true);
      expect(problemsOf(() => parseEvent({ type, sessionId: 's' }, NOW))).toEqual([
        { path: '$.participantId', message: `is required for "${type}" events` },
      ]);
    }
    expect(isParticipantEvent('session-ended')).toBe(false);
    expect(
      problemsOf(() => parseEvent({ type: 'chat-message', sessionId: 's', participantId: 'p', data: { text: 5, role: ['host'] } }, NOW)),
    ).toEqual([
      { path: '$.data.text', message: 'must be a string' },
      { path: '$.data.role', message: 'must be a string' },
    ]);
    expect(
      problemsOf(() => parseEvent({ type: 'participant-renamed', sessionId: 's', participantId: 'p', data: { name: {} } }, NOW)),
    ).toEqual([{ path: '$.data.name', message: 'must be a string' }]);
  });

  it('bounds what one event may cost', () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let i = 0; i < EVENT_LIMITS.depth + 2; i++) deep = deep.x = {};
    expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', data: root }, NOW))[0]?.message).toMatch(/nested deeper than 8 levels/);
    // Ids stay strictly bounded: an oversized one is refused, naming it.
    expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', id: 'i'.repeat(201) }, NOW))).toEqual([
      { path: '$.id', message: 'must be at most 200 characters' },
    ]);
    for (const field of ['sessionId', 'participantId', 'meetingId']) {
      expect(problemsOf(() => parseEvent({ type: 'x', sessionId: 's', [field]: 'i'.repeat(201) }, NOW))).toEqual([
        { path: `$.${field}`, message: 'must be at most 200 characters' },
      ]);
    }
  });
});

describe('parseEvent with oversized or invisible text (moderated, not refused)', () => {
  const zeroWidth = '\u200b'.repeat(490);

  it('strips invisible characters from names and chat text, so padding neither hides a name nor refuses the event', () => {
    const event = parseEvent(
      { type: 'participant-joined', sessionId: 's', participantId: 'p', participantName: `Admin Support${zeroWidth}` },
      NOW,
    );
    expect(event.participantName).toBe('Admin Support');
    expect(event.truncated).toBeUndefined();
    const bidi = parseEvent(
      {
        type: 'participant-renamed',
        sessionId: 's',
        participantId: 'p',
        participantName: '\u2066\u202eAd\u200dmin\u2069',
        data: { name: '\ufeffSup\u00adport', text: 'b\u200ca\u200bd' },
      },
      NOW,
    );
    expect(bidi).toMatchObject({ participantName: 'Admin', data: { name: 'Support', text: 'bad' } });
  });

  it('cuts an oversized name or chat text to its limit and records it in `truncated`', () => {
    const event = parseEvent(
      {
        type: 'chat-message',
        sessionId: 's',
        participantId: 'p',
        participantName: `Admin ${'x'.repeat(600)}`,
        data: { text: `spam ${'y'.repeat(70_000)}`, role: 'participant' },
      },
      NOW,
    );
    expect(event.participantName).toHaveLength(EVENT_LIMITS.nameLength);
    expect(event.participantName?.startsWith('Admin x')).toBe(true);
    expect(event.data.text).toHaveLength(EVENT_LIMITS.textLength);
    expect(event.data.role).toBe('participant');
    expect(event.truncated?.sort()).toEqual(['data.text', 'participantName']);
    // Parsed again (HTTP, then off the queue) it keeps the record of what was cut.
    expect(parseEvent(JSON.parse(JSON.stringify(event)), NOW)).toEqual(event);
  });

  it('keeps a chat text of 64 KB whole, whatever its script, beside fields at their limits', () => {
    const text = 'Дмитрий 😀\u0001'.repeat(Math.floor(EVENT_LIMITS.textLength / 11));
    const event = parseEvent(
      {
        type: 'chat-message',
        sessionId: 's',
        participantId: 'p',
        participantName: 'n'.repeat(EVENT_LIMITS.nameLength),
        data: { text, note: 'z'.repeat(EVENT_LIMITS.stringLength) },
      },
      NOW,
    );
    expect(event.data.text).toBe(text);
    expect(event.data.note).toHaveLength(EVENT_LIMITS.stringLength);
    expect(event.truncated).toBeUndefined();
  });

  it('cuts any long string of data, never splitting a surrogate pair', () => {
    const event = parseEvent(
      {
        type: 'x',
        sessionId: 's',
        data: { blob: 'x'.repeat(EVENT_LIMITS.bytes), nested: { list: [`${'a'.repeat(EVENT_LIMITS.stringLength - 1)}😀`] } },
      },
      NOW,
    );
    expect((event.data.blob as string).length).toBe(EVENT_LIMITS.stringLength);
    expect((event.data.nested as { list: string[] }).list[0]).toBe('a'.repeat(EVENT_LIMITS.stringLength - 1));
    expect(event.truncated).toEqual(['data.blob', 'data.nested.list[0]']);
  });

  it('keeps only the moderated data fields when many fields under their limit add up past the event limit', () => {
    const data: Record<string, unknown> = { text: 'buy now', role: 'participant' };
    for (let i = 0; i < 30; i++) data[`field${i}`] = 'z'.repeat(4000);
    const event = parseEvent({ type: 'chat-message', sessionId: 's', participantId: 'p', data }, NOW);
    expect(event.data).toEqual({ text: 'buy now', role: 'participant' });
    expect(event.truncated).toEqual(['data']);
    expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(EVENT_LIMITS.bytes);
  });

  it('bounds the truncated list itself and keeps a __proto__ key of data a plain key', () => {
    const list = Array.from({ length: 50 }, () => 'q'.repeat(EVENT_LIMITS.stringLength + 1));
    const event = parseEvent({ type: 'x', sessionId: 's', data: { list } }, NOW);
    expect(event.truncated).toHaveLength(EVENT_LIMITS.truncatedEntries + 1);
    expect(event.truncated).toContain('data');
    expect(parseEvent(JSON.parse(JSON.stringify(event)), NOW).truncated).toEqual(event.truncated);
    const poisoned = parseEvent(JSON.parse('{"type":"x","sessionId":"s","data":{"__proto__":{"polluted":1}}}'), NOW);
    expect(Object.getPrototypeOf(poisoned.data)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('parseEvents', () => {
  it('takes one event or an array, and reports problems with the index of each bad one', () => {
    expect(parseEvents({ type: 'x', sessionId: 's' }, NOW)).toHaveLength(1);
    expect(
      parseEvents(
        [
          { type: 'x', sessionId: 's' },
          { type: 'y', sessionId: 't' },
        ],
        NOW,
      ),
    ).toHaveLength(2);
    expect(
      problemsOf(() => parseEvents([{ type: 'x', sessionId: 's' }, { type: 'chat-message', sessionId: 's' }, { sessionId: 's' }], NOW)),
    ).toEqual([
      { path: '$[1].participantId', message: expect.any(String) },
      { path: '$[2].type', message: expect.any(String) },
    ]);
    expect(problemsOf(() => parseEvents([], NOW))).toEqual([{ path: '$', message: 'must hold at least one event' }]);
  });
});

describe('eventTypeLabel', () => {
  it('keeps known types and folds custom ones, so metric labels stay bounded', () => {
    for (const type of ['participant-joined', 'chat-message', 'session-ended', 'recording-started', 'hls-stopped', 'livestream-started'])
      expect(eventTypeLabel(type)).toBe(type);
    for (const type of ['my-thing', 'participant-danced', 'chat-message2']) expect(eventTypeLabel(type)).toBe('custom');
  });
});
