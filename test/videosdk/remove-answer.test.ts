import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { classifyRemoveAnswer, scanSessionAnswer } from '../../src/videosdk/remove-answer.js';

/** An answer as the client hands it over: the bytes, parsed on demand. */
function answer(text: string): { raw: Buffer; body: unknown } {
  return {
    raw: Buffer.from(text),
    get body(): unknown {
      try {
        return JSON.parse(text) as unknown;
      } catch {
        return text;
      }
    },
  };
}

/** The same answer, whose whole parse is refused: proves the bytes alone decided. */
function unparsed(text: string): { raw: Buffer; body: unknown } {
  return {
    raw: Buffer.from(text),
    get body(): unknown {
      throw new Error('the whole answer was parsed');
    },
  };
}

const closed = { start: '2026-01-01T00:00:00.000Z', end: '2026-01-01T00:05:00.000Z' };
const open = { start: '2026-01-01T00:00:00.000Z', end: null };
const sessionText = (participants: unknown[], extra: Record<string, unknown> = {}) =>
  JSON.stringify({ id: 's1', roomId: 'r1', start: open.start, end: null, participants, status: 'ongoing', ...extra });

describe('classifyRemoveAnswer', () => {
  it('confirms the documented shapes: a session without the participant in it, the SDK confirmation message', () => {
    const gone = sessionText([
      { participantId: 'target', name: 'M', timelog: [closed] },
      { participantId: 'other', name: 'B', timelog: [open] },
    ]);
    expect(classifyRemoveAnswer(answer(gone), 'target')).toEqual({ kind: 'confirmed', shape: 'session' });
    expect(classifyRemoveAnswer(answer(sessionText([{ participantId: 'other', timelog: [open] }])), 'target')).toEqual({
      kind: 'confirmed',
      shape: 'session',
    });
    expect(classifyRemoveAnswer(answer(JSON.stringify({ data: JSON.parse(gone) as unknown })), 'target')).toMatchObject({
      kind: 'confirmed',
    });
    for (const text of [
      'Participant removed successfully',
      '"Participant removed successfully"',
      '{"message":"Participant removed"}',
      'success',
    ]) {
      expect(classifyRemoveAnswer(answer(text), 'target'), text).toEqual({ kind: 'confirmed', shape: 'message' });
    }
  });

  it('calls everything else unknown, in its own words', () => {
    const cases: [string, string][] = [
      ['', 'an empty body'],
      ['   ', 'an empty body'],
      ['<!DOCTYPE html><html><body>Participant removed successfully</body></html>', 'an HTML page'],
      ['<html>ok</html>', 'an HTML page'],
      ['{"success": false, "error": "Participant could not be removed"}', 'a "success" that is not true'],
      ['{"success": false, "message": "Participant removed"}', 'a "success" that is not true'],
      ['{"error": {"code": 500}, "message": "Participant removed"}', 'an error'],
      ['{"errors": ["boom"], "participants": []}', 'an error'],
      ['{"message": "Participant not removed"}', 'a message that does not say the participant was removed'],
      ['"Removal failed"', 'a message that does not say the participant was removed'],
      ['ok', 'a message that does not say the participant was removed'],
      [`removed ${'x'.repeat(300)}`, 'a text that is not a confirmation'],
      ['{"id": "s1"}', 'an answer of no known shape'],
      ['[]', 'an answer of no known shape'],
      ['null', 'an answer of no known shape'],
      ['42', 'an answer of no known shape'],
      [sessionText([{ participantId: 'target', timelog: [closed, open] }]), 'a session that still lists the participant as in it'],
      [sessionText([{ participantId: 'target' }]), 'a session that still lists the participant as in it'],
    ];
    for (const [text, why] of cases) expect(classifyRemoveAnswer(answer(text), 'target'), text).toEqual({ kind: 'unknown', why });
  });

  it('reads a raid-sized session answer for the one participant without parsing it whole', () => {
    const participants = Array.from({ length: 3000 }, (_, i) => ({
      _id: `x${i}`,
      participantId: `bot-${i}`,
      name: `Bot "${i}" {"participantId":"bot-7","timelog":[]}`,
      timelog: [i % 2 === 0 ? closed : open],
    }));
    const text = sessionText(participants, { links: { get_session: 'x' } });
    expect(text.length).toBeGreaterThan(64 * 1024);
    expect(classifyRemoveAnswer(unparsed(text), 'bot-10')).toEqual({ kind: 'confirmed', shape: 'session' });
    expect(classifyRemoveAnswer(unparsed(text), 'bot-7')).toEqual({
      kind: 'unknown',
      why: 'a session that still lists the participant as in it',
    });
    expect(classifyRemoveAnswer(unparsed(text), 'nobody-here')).toEqual({ kind: 'confirmed', shape: 'session' });
    // Not conclusive from the bytes: parsed whole (and still right).
    expect(scanSessionAnswer(Buffer.from(text), 'bot 1/2')).toBeUndefined();
    expect(scanSessionAnswer(Buffer.from(sessionText(participants, { success: false })), 'bot-10')).toBeUndefined();
    expect(classifyRemoveAnswer(answer(sessionText(participants, { success: false })), 'bot-10')).toMatchObject({ kind: 'unknown' });
  });

  it('a participant cannot make their own entry read as closed from their name (the bytes agree with the whole parse)', () => {
    const ids = ['t', 'target', 'bot-1', 'a:b', 'x.y@z'];
    const fragment = fc.constantFrom(
      '"',
      '\\',
      '{',
      '}',
      '[',
      ']',
      ',',
      ':',
      ' ',
      '"participantId":"target"',
      '","participantId":"target","timelog":[{"start":"a","end":"b"}]}',
      '"timelog":[{"end":null}]',
      '"success":false',
      '\\"',
      'é',
      '\u2028',
      'target',
    );
    const name = fc.oneof(
      fc.string(),
      fc.array(fragment, { maxLength: 6 }).map((parts) => parts.join('')),
    );
    const timelog = fc.array(fc.record({ start: fc.constant(closed.start), end: fc.constantFrom(null, closed.end) }), { maxLength: 3 });
    const entry = fc.record(
      {
        participantId: fc.constantFrom(...ids),
        name,
        timelog,
        events: fc.constantFrom(undefined, [{ participantId: 'target', type: 'join' }]),
      },
      { requiredKeys: ['participantId'] },
    );
    const keyOrder = fc.constantFrom('id-first', 'timelog-first');
    fc.assert(
      fc.property(fc.array(fc.tuple(entry, keyOrder), { maxLength: 8 }), fc.constantFrom(...ids), fc.boolean(), (list, who, pretty) => {
        const participants = list.map(([p, order]) => (order === 'timelog-first' ? { timelog: p.timelog, ...p } : p));
        const session = { id: 's', roomId: 'r', participants };
        const text = JSON.stringify(session, null, pretty ? 2 : undefined);
        const whole = classifyRemoveAnswer({ body: JSON.parse(text) as unknown }, who);
        const scanned = scanSessionAnswer(Buffer.from(text), who);
        if (scanned !== undefined) expect(scanned).toEqual(whole);
        expect(classifyRemoveAnswer(answer(text), who, { scanFromBytes: 0 })).toEqual(whole);
      }),
      { numRuns: 2000 },
    );
  });
});
