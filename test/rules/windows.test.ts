import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { fired, send, testEvent } from '../helpers/events.js';
import { removeDir, tempRules } from '../helpers/rules-dir.js';

// Windows and counters through the real worker path: HTTP -> queue -> counters in Redis ->
// rules -> event log and audit. The shipped chat-flood rule fires at the 8th message within 10 s.

// Each test's events are stamped shortly before they are sent: further than
// AUTOMOD_CLOCK_SKEW_SECONDS from their receipt, they would be counted at their receipt.
let T0 = 0;
beforeEach(() => {
  T0 = Date.now() - 90_000;
});
const chat = (sid: string, participantId: string, ms: number, extra: Record<string, unknown> = {}) =>
  testEvent(sid, { participantId, timestamp: new Date(T0 + ms).toISOString(), data: { text: `message at ${ms}` }, ...extra });

describe('windows at their edges, through the worker', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    // The shipped rules plus one that reads another type's counter: chat after 3 joins in 60 s.
    dir = await tempRules(
      {
        'rejoin-chatter.json': {
          name: 'rejoin-chatter',
          mode: 'enforce',
          conditions: {
            all: [
              { fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' },
              {
                fact: 'eventCount',
                params: { type: 'participant-joined', windowSeconds: 60, scope: 'participant' },
                operator: 'greaterThanInclusive',
                value: 3,
              },
            ],
          },
          event: { type: 'flag', params: { reason: 'Chats after rejoining repeatedly' } },
        },
      },
      {},
      { shipped: true },
    );
    // One event at a time, so the order of processing is the order of the events.
    h = await startHarness('rules-windows', { AUTOMOD_RULES: dir, AUTOMOD_EVENT_CONCURRENCY: '1' });
  });
  afterAll(async () => {
    await h?.close();
    await removeDir(dir);
  });

  it('chat-flood fires at the 8th message within 10 s and not at the 7th', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: `room-${sid}`, participants: [{ participantId: 'fast', name: 'Fast' }] });
    const logged = await send(
      h,
      [0, 1000, 2000, 3000, 4000, 5000, 6000, 9999].map((ms) => chat(sid, 'fast', ms)),
    );
    expect(logged.map(fired)).toEqual([[], [], [], [], [], [], [], ['chat-flood']]);
    // Every decision names the rule set that made it.
    const version = h.automod.rules!.status().version;
    expect(new Set(logged.map((r) => r.rulesVersion))).toEqual(new Set([version]));
    const removal = await waitFor(
      async () => {
        const res = await h.api('GET', `/v1/sessions/${sid}`);
        const body = res.body as { removals?: { participantId: string; rule: string; outcome: string }[] };
        return body.removals?.find((r) => r.outcome === 'removed');
      },
      10_000,
      'removal',
    );
    expect(removal).toMatchObject({ participantId: 'fast', rule: 'chat-flood' });
    const audit = await h.api('GET', `/v1/audit?sessionId=${sid}&rule=chat-flood`);
    expect(
      (audit.body as { records: { kind: string; rulesVersion?: string }[] }).records.find((r) => r.kind === 'rule-hit')?.rulesVersion,
    ).toBe(version);
  });

  it('does not count a message exactly 10 s old: the window is (t - 10 s, t]', async () => {
    const sid = sessionId();
    const logged = await send(
      h,
      [0, 1000, 2000, 3000, 4000, 5000, 6000, 10_000, 10_500].map((ms) => chat(sid, 'edge', ms)),
    );
    // At 10.000 the message at 0 has left the window: 7 count. At 10.500 the window (0.5, 10.5]
    // holds 1..6, 10.0 and 10.5: 8 again.
    expect(logged.map(fired)).toEqual([[], [], [], [], [], [], [], [], ['chat-flood']]);
  });

  it('counts per participant and exempts hosts', async () => {
    const sid = sessionId();
    const events = [0, 1, 2, 3, 4, 5, 6, 7].flatMap((s) => [chat(sid, 'alice', s * 1000), chat(sid, 'bob', s * 1000 + 1)]);
    const host = [0, 1, 2, 3, 4, 5, 6, 7].map((s) => chat(sid, 'host-1', s * 100, { data: { text: 'announcement', role: 'host' } }));
    const logged = await send(h, [...events, ...host]);
    const hits = logged.filter((r) => fired(r).includes('chat-flood')).map((r) => r.event.participantId);
    expect(hits).toEqual(['alice', 'bob']);
  });

  it('counts a participant within one meeting: hopping between meetings is not a flood', async () => {
    const sid = sessionId();
    const other = sessionId();
    // 5 messages in one meeting and 3 in another within 10 s: no meeting sees 8.
    const here = [0, 1, 2, 3, 4].map((s) => chat(sid, 'hopper', s * 1000));
    const there = [5, 6, 7].map((s) => chat(other, 'hopper', s * 1000));
    const logged = await send(h, [...here, ...there]);
    expect(logged.flatMap(fired)).toEqual([]);
  });

  it('lets a rule read the counter of another event type', async () => {
    const sid = sessionId();
    const join = (ms: number) => ({ ...chat(sid, 'looper', ms), type: 'participant-joined', participantName: 'Looper', data: {} });
    const logged = await send(h, [
      join(0),
      join(10_000),
      chat(sid, 'looper', 15_000),
      join(20_000),
      chat(sid, 'looper', 25_000),
      chat(sid, 'looper', 61_000),
    ]);
    // Two joins: nothing; three joins in 60 s: the chat is flagged; at 61 s the first join is out.
    expect(logged.map(fired)).toEqual([[], [], [], [], ['rejoin-chatter'], []]);
  });
});

describe('event time a producer cannot bend, through the worker', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('rules-time', { AUTOMOD_EVENT_CONCURRENCY: '1' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('counts a chat stamped in the year 9999 at its receipt: it cannot wipe the flood window', async () => {
    const sid = sessionId();
    const now = Date.now();
    // The others are stamped a minute ahead (within the skew): the warped one counts before them.
    const burst = Array.from({ length: 14 }, (_, i) =>
      testEvent(sid, { participantId: 'timewarp', timestamp: i === 7 ? '9999-12-31T00:00:00Z' : new Date(now + 60_000 + i).toISOString() }),
    );
    const logged = await send(h, burst);
    expect(logged.findIndex((r) => fired(r).includes('chat-flood'))).toBe(8);
    expect(logged[7]!.event).toMatchObject({ skewed: true, claimedTimestamp: '9999-12-31T00:00:00.000Z' });
    expect(Math.abs(Date.parse(logged[7]!.event.timestamp as string) - now)).toBeLessThan(30_000);
    expect(logged[8]!.event.skewed).toBeUndefined();
  });

  it('counts chats sent at once but stamped an hour apart together', async () => {
    const sid = sessionId();
    const now = Date.now();
    const logged = await send(
      h,
      Array.from({ length: 12 }, (_, i) =>
        testEvent(sid, { participantId: 'spread', timestamp: new Date(now - (12 - i) * 3_600_000).toISOString() }),
      ),
    );
    expect(logged.filter((r) => fired(r).includes('chat-flood'))).toHaveLength(5);
  });

  it('refuses a bare number and an impossible date as a time, naming the field', async () => {
    const sid = sessionId();
    const res = await h.api('POST', '/v1/events', [
      testEvent(sid, { timestamp: '12' }),
      testEvent(sid, { timestamp: '2026-02-30T10:00:00Z' }),
    ]);
    expect(res.status).toBe(400);
    expect((res.body as { details: { path: string; message: string }[] }).details).toEqual([
      { path: '$[0].timestamp', message: expect.stringContaining('is a number in a string') },
      { path: '$[1].timestamp', message: expect.stringContaining('is not a real time ("2026-02-30T10:00:00Z")') },
    ]);
  });

  it('counts the strikes of insults sent at the same moment: the ladder climbs', async () => {
    const sid = sessionId();
    const at = new Date().toISOString();
    const logged = await send(
      h,
      [0, 1, 2].map(() => testEvent(sid, { participantId: 'heckler', timestamp: at, data: { text: 'you clown' } })),
    );
    expect(logged.map(fired)).toEqual([['insult-warning'], ['insult-removal'], ['insult-ban']]);
  });
});

describe('counters under concurrency, through the worker', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('rules-concurrency', { AUTOMOD_EVENT_CONCURRENCY: '50' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('counts 12 simultaneous messages of one participant exactly: messages 8 to 12 fire, one removal', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: `room-${sid}`, participants: [{ participantId: 'burst', name: 'Burst' }] });
    const logged = await send(
      h,
      Array.from({ length: 12 }, () => chat(sid, 'burst', 0)),
    );
    expect(logged.filter((r) => fired(r).includes('chat-flood'))).toHaveLength(5);
    await waitFor(
      async () => {
        const body = (await h.api('GET', `/v1/sessions/${sid}`)).body as { removals?: { outcome: string }[] };
        return body.removals?.some((r) => r.outcome === 'removed') ? true : undefined;
      },
      10_000,
      'removal',
    );
    const removes = h.simulator.calls().filter((c) => c.operation === 'remove' && c.sessionId === sid);
    expect(removes).toHaveLength(1);
  });
});
