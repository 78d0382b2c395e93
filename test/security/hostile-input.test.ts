import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

/**
 * Bad input never crashes a process or loses other work: random and hostile events (huge strings,
 * deep nesting, wrong types, unicode, prototype-pollution keys) thrown at `POST /v1/events` and
 * straight onto the events queue. The HTTP answer is 202 or 400 (413 past the body limit), never
 * a 5xx; a queued job is processed or dead-lettered with its reason, never failed or stuck; valid
 * events sent along still lead to their removals.
 */

const POISON_KEYS = ['__proto__', 'constructor', 'prototype', '__defineGetter__', 'hasOwnProperty', 'toString', 'valueOf', 'then'];
const FIELD_KEYS = [
  'id',
  'type',
  'sessionId',
  'meetingId',
  'participantId',
  'participantName',
  'timestamp',
  'data',
  'text',
  'role',
  'name',
];

const key = fc.oneof(fc.constantFrom(...POISON_KEYS), fc.constantFrom(...FIELD_KEYS), fc.string({ unit: 'binary', maxLength: 12 }));
const scalar = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', ' ', '\u202e', '\u0000', 'A\u0301', '👩‍👩‍👧', '\ud800', '$..constructor', 'participant-joined', 'chat-message'),
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const { value } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalar,
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(key, tie('value'), { maxKeys: 5 }),
  ),
}));

/** A JSON text nested `depth` levels deep, as objects or arrays. */
const deepTo = (max: number) =>
  fc
    .tuple(fc.integer({ min: 9, max }), fc.boolean())
    .map(([depth, arrays]) => (arrays ? `${'['.repeat(depth)}1${']'.repeat(depth)}` : `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`));
const deep = deepTo(20_000);

/** An object written as JSON text with a literal key (JSON.stringify cannot write `__proto__`). */
function withKey(k: string, v: unknown, rest: Record<string, unknown>): string {
  const body = JSON.stringify(rest).slice(1, -1);
  return `{${JSON.stringify(k)}:${JSON.stringify(v) ?? 'null'}${body ? `,${body}` : ''}}`;
}

/** Close to a valid event, with one field hostile: the shapes a real mistake or attack takes. */
const mutatedEvent = fc
  .record({
    field: fc.constantFrom(...FIELD_KEYS, ...POISON_KEYS),
    hostile: fc.oneof(
      value,
      fc.string({ unit: 'binary', minLength: 1000, maxLength: 5000 }).map((s) => s.repeat(20)),
    ),
    type: fc.constantFrom('participant-joined', 'chat-message', 'participant-renamed', 'custom-thing', 'session-ended'),
  })
  .map(({ field, hostile, type }) => {
    const base: Record<string, unknown> = { type, sessionId: 'fuzz-session', participantId: 'fuzz-p', data: { text: 'hi' } };
    delete base[field];
    return withKey(field, hostile, base);
  });

const body = fc.oneof(
  { weight: 3, arbitrary: mutatedEvent },
  { weight: 2, arbitrary: value.map((v) => JSON.stringify(v) ?? 'null') },
  { weight: 1, arbitrary: deep },
  { weight: 1, arbitrary: fc.array(mutatedEvent, { minLength: 1, maxLength: 5 }).map((items) => `[${items.join(',')}]`) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
  {
    weight: 1,
    arbitrary: fc.constantFrom(
      '{"__proto__":{"polluted":1},"type":"chat-message","sessionId":"s","participantId":"p"}',
      '{"constructor":{"prototype":{"polluted":1}},"type":"x","sessionId":"s"}',
      '{"type":"chat-message","sessionId":"s","participantId":"p","data":{"__proto__":{"polluted":1}}}',
    ),
  },
);

function polluted(): boolean {
  return ({} as Record<string, unknown>).polluted !== undefined || Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted');
}

describe('hostile input', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('hostile');
  });
  afterAll(async () => {
    await h?.close();
  });

  /** An impersonator joining: the valid event that must still lead to a removal. */
  async function canary(): Promise<string> {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-h', participants: [{ participantId: 'imp', name: 'Admin Canary' }] });
    return sid;
  }
  const canaryEvent = (sid: string) => ({
    type: 'participant-joined',
    meetingId: 'room-h',
    sessionId: sid,
    participantId: 'imp',
    participantName: 'Admin Canary',
    data: { role: 'participant' },
  });
  const removed = (sid: string) =>
    waitFor(
      async () => ((await h.automod.services.sessions.get(sid))?.removals.some((r) => r.outcome === 'removed') ? true : undefined),
      15_000,
      `the canary removal in ${sid}`,
    );

  it('POST /v1/events answers 202 or 400 (413 past 1 MB), never 5xx, and keeps working', async () => {
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(body, async (text) => {
        const res = await fetch(`${h.automod.url}/v1/events`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: text,
        });
        const answer = await res.text();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        expect([202, 400, 413], `${res.status} for ${text.slice(0, 200)}: ${answer.slice(0, 200)}`).toContain(res.status);
        const parsed = JSON.parse(answer) as Record<string, unknown>;
        if (res.status === 202) expect(parsed).toMatchObject({ accepted: expect.any(Number) });
        else expect(parsed.error).toEqual(expect.any(String));
        expect(polluted()).toBe(false);
      }),
      { numRuns: 200 },
    );
    // Hostile input was mostly refused, and some of it (valid by chance) accepted.
    expect(statuses.get(400) ?? 0).toBeGreaterThan(60);

    // A body over the limit, and a valid event after all of it.
    const huge = JSON.stringify({ type: 'chat-message', sessionId: 's', participantId: 'p', data: { text: 'x'.repeat(1_100_000) } });
    expect(
      (await fetch(`${h.automod.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: huge })).status,
    ).toBe(413);
    const sid = await canary();
    const ok = await fetch(`${h.automod.url}/v1/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(canaryEvent(sid)),
    });
    expect(ok.status).toBe(202);
    await removed(sid);
    expect(polluted()).toBe(false);
  });

  it('still moderates oversized or invisibly padded input: it is cut and marked, not refused', async () => {
    const post = (event: unknown) =>
      fetch(`${h.automod.url}/v1/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(event) });
    // The issue's join: a staff-like name padded with 490 zero-width characters.
    const joined = sessionId();
    h.simulator.addSession({ id: joined, meetingId: 'room-h', participants: [{ participantId: 'padded', name: 'Admin Support' }] });
    const join = await post({
      type: 'participant-joined',
      meetingId: 'room-h',
      sessionId: joined,
      participantId: 'padded',
      participantName: `Admin Support${'\u200b'.repeat(490)}`,
    });
    expect(join.status).toBe(202);
    await removed(joined);
    // A chat message over 64 KB that opens with a banned phrase.
    const chat = sessionId();
    h.simulator.addSession({ id: chat, meetingId: 'room-h', participants: [{ participantId: 'flooder' }] });
    const big = await post({
      type: 'chat-message',
      meetingId: 'room-h',
      sessionId: chat,
      participantId: 'flooder',
      data: { text: `free crypto ${'x'.repeat(70_000)}` },
    });
    expect(big.status).toBe(202);
    await removed(chat);
  });

  it('jobs put straight on the events queue are processed or dead-lettered, never failed or stuck', async () => {
    const { queues, deadLetters } = h.automod.services;
    const deadBefore = await deadLetters.count();
    const payloads = fc.sample(
      fc.oneof(
        value,
        mutatedEvent.map((t) => JSON.parse(t) as unknown),
        // A producer's own JSON.stringify gives up a few thousand levels down; stay below that.
        deepTo(1500).map((t) => JSON.parse(t) as unknown),
        fc.constant(JSON.parse('{"__proto__":{"polluted":1},"type":"chat-message","sessionId":"s","participantId":"p"}') as unknown),
        fc.constant({ type: 'chat-message', sessionId: 's', participantId: 'p', data: { text: 'y'.repeat(300_000) } }),
      ),
      { numRuns: 250 },
    );
    const names = fc.sample(fc.oneof(fc.string({ unit: 'binary', maxLength: 30 }), fc.constantFrom('__proto__', 'chat-message', '')), {
      numRuns: payloads.length,
    });
    const jobs = await queues.events.addBulk(payloads.map((data, i) => ({ name: names[i] ?? 'x', data })));
    // A valid event queued behind all of them.
    const sid = await canary();
    await queues.events.add('participant-joined', canaryEvent(sid));
    await removed(sid);

    const results = await waitFor(
      async () => {
        const states = await Promise.all(jobs.map((j) => queues.events.getJobState(j.id!)));
        return states.every((s) => s === 'completed' || s === 'failed') ? states : undefined;
      },
      20_000,
      'every hostile job to finish',
    );
    expect(results.filter((s) => s === 'failed')).toEqual([]);
    let invalid = 0;
    for (const j of jobs) {
      const done = await queues.events.getJob(j.id!);
      const status = (done?.returnvalue as { status?: string } | undefined)?.status;
      expect(['processed', 'duplicate', 'invalid']).toContain(status);
      if (status === 'invalid') invalid += 1;
    }
    // Every invalid job is on the dead-letter list with its reason.
    expect(invalid).toBeGreaterThan(100);
    expect((await deadLetters.count()) - deadBefore).toBe(invalid);
    const newest = await deadLetters.list(5);
    for (const entry of newest) expect(entry.reason).toMatch(/invalid event|must|required|deeper|larger|not allowed|__proto__/i);
    expect(polluted()).toBe(false);
  });
});
