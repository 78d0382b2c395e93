import { describe, expect, it } from 'vitest';
import { activeParticipantIds, isParticipantActive, parseSession } from '../../src/videosdk/session.js';

const session = {
  id: '61adc697a239e84d0aaa7e15',
  meetingId: 'abcd-efgh-ijkl',
  start: '2026-11-25T10:00:00.000Z',
  end: null,
  participants: [
    { participantId: 'a', name: 'Ann', timelog: [{ start: '2026-11-25T10:00:00.000Z', end: null }] },
    {
      participantId: 'b',
      name: 'Bob',
      timelog: [
        { start: '2026-11-25T10:00:00.000Z', end: null },
        { start: '2026-11-25T10:01:00.000Z', end: '2026-11-25T10:02:00.000Z' },
      ],
    },
    {
      participantId: 'c',
      timelog: [
        { start: '2026-11-25T10:00:00.000Z', end: '2026-11-25T10:01:00.000Z' },
        { start: '2026-11-25T10:03:00.000Z', end: null },
      ],
    },
  ],
};

describe('parseSession', () => {
  it('reads the session object itself', () => {
    const parsed = parseSession(session);
    expect(parsed?.id).toBe(session.id);
    expect(parsed?.meetingId).toBe('abcd-efgh-ijkl');
    expect(parsed?.participants.map((p) => p.participantId)).toEqual(['a', 'b', 'c']);
    expect(parsed?.participants[0]).toEqual({ participantId: 'a', name: 'Ann', timelog: [{ start: session.start, end: null }] });
  });

  it('reads {data: session} and {data: [session]}', () => {
    expect(parseSession({ data: session })?.id).toBe(session.id);
    expect(parseSession({ pageInfo: { currentPage: 1, lastPage: 1 }, data: [session] })?.participants).toHaveLength(3);
  });

  it('reads v2 shapes: _id and roomId, extra fields ignored', () => {
    const parsed = parseSession({
      pageInfo: {},
      data: [
        { _id: 'sess-1', apiKey: 'x', roomId: 'room-1', region: 'in', participants: [{ participantId: 'p', deviceInfo: {}, timelog: [] }] },
      ],
    });
    expect(parsed).toEqual({ id: 'sess-1', roomId: 'room-1', participants: [{ participantId: 'p', timelog: [] }] });
  });

  it('treats an empty data array as a session with nobody in it', () => {
    expect(parseSession({ pageInfo: { total: 0 }, data: [] })).toEqual({ participants: [] });
  });

  it('reads a JSON string body', () => {
    expect(parseSession(JSON.stringify({ data: session }))?.id).toBe(session.id);
  });

  it('tolerates missing and odd fields', () => {
    const parsed = parseSession({
      id: 's',
      participants: [
        { participantId: 'x' },
        { name: 'no id' },
        null,
        'junk',
        { participantId: 'y', timelog: [{ start: 1764064800000 }, 'junk', { start: null, end: 5 }] },
      ],
    });
    expect(parsed?.participants).toEqual([
      { participantId: 'x', timelog: [] },
      {
        participantId: 'y',
        timelog: [
          { start: '2025-11-25T10:00:00.000Z', end: null },
          { start: null, end: '1970-01-01T00:00:00.005Z' },
        ],
      },
    ]);
    expect(parseSession({ id: 's' })).toEqual({ id: 's', participants: [] });
  });

  it('answers undefined for anything that is not a session, and never throws', () => {
    for (const body of [
      'Participant removed',
      '',
      'null',
      '<html>502</html>',
      42,
      null,
      undefined,
      [],
      { message: 'Not found' },
      { data: 'ok' },
      { data: [1, 2] },
    ]) {
      expect(parseSession(body)).toBeUndefined();
    }
    const hostile = {
      get participants(): never {
        throw new Error('boom');
      },
    };
    expect(parseSession(hostile)).toBeUndefined();
  });
});

describe('isParticipantActive / activeParticipantIds', () => {
  const parsed = parseSession(session)!;

  it('uses the end of the last timelog entry', () => {
    expect(isParticipantActive(parsed, 'a')).toBe(true);
    expect(isParticipantActive(parsed, 'b')).toBe(false);
    expect(isParticipantActive(parsed, 'c')).toBe(true);
    expect(isParticipantActive(parsed, 'nobody')).toBe(false);
    expect(activeParticipantIds(parsed)).toEqual(['a', 'c']);
  });

  it('counts a listed participant without a timelog as active', () => {
    const s = { participants: [{ participantId: 'z', timelog: [] }] };
    expect(isParticipantActive(s, 'z')).toBe(true);
    expect(activeParticipantIds(s)).toEqual(['z']);
  });
});
