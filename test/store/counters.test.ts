import { afterAll, describe, expect, it } from 'vitest';
import { counterKey } from '../../src/moderation/types.js';
import { createCounterStore, type CountedEvent } from '../../src/store/counters.js';
import { createKeys } from '../../src/store/keys.js';
import { createListStore } from '../../src/store/lists.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('counters'));
const { redis, cleanup } = testRedis(config);
const keys = createKeys(config.keyPrefix);
const counters = createCounterStore({ redis, keys });
afterAll(cleanup);

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
let seq = 0;
function event(over: Partial<CountedEvent> & { at: number }): CountedEvent {
  const { at, ...rest } = over;
  return { id: `e${++seq}`, type: 'chat-message', sessionId: 's1', participantId: 'p1', timestamp: new Date(at).toISOString(), ...rest };
}
const chat10 = { type: 'chat-message', windowSeconds: 10, scope: 'participant' } as const;
const chat60 = { type: 'chat-message', windowSeconds: 60, scope: 'participant' } as const;

describe('counter store', () => {
  it('counts events of the spec type per window, this event included, with (t - window, t] edges', async () => {
    const p = 'edges';
    const specs = [chat10, chat60];
    const observe = (at: number) => counters.observe({ event: event({ participantId: p, at }), specs, strikeWindows: [] });
    expect((await observe(T0)).eventCounts).toEqual({
      [counterKey(chat10)]: 1,
      'participant:chat-message:60': 1,
    });
    // Exactly 10 s later: the first event sits on the open edge of the 10 s window.
    expect((await observe(T0 + 10_000)).eventCounts).toEqual({ 'participant:chat-message:10': 1, 'participant:chat-message:60': 2 });
    expect((await observe(T0 + 10_001)).eventCounts).toEqual({ 'participant:chat-message:10': 2, 'participant:chat-message:60': 3 });
    // 60 s after the first: it has left the 60 s window too (and been trimmed).
    expect((await observe(T0 + 60_000)).eventCounts).toEqual({ 'participant:chat-message:10': 1, 'participant:chat-message:60': 3 });
    const members = await redis.zrange(keys.eventCounter('participant', 'chat-message', 's1', p), '0', '-1');
    expect(members).toHaveLength(3);
    const ttl = await redis.pttl(keys.eventCounter('participant', 'chat-message', 's1', p));
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('reads specs of another type without recording the event there; session scope counts every participant', async () => {
    const specs = [
      { type: 'participant-joined', windowSeconds: 30, scope: 'session' },
      { type: 'chat-message', windowSeconds: 30, scope: 'session' },
    ] as const;
    const a = await counters.observe({ event: event({ sessionId: 'sess-scope', participantId: 'a', at: T0 }), specs, strikeWindows: [] });
    const b = await counters.observe({
      event: event({ sessionId: 'sess-scope', participantId: 'b', at: T0 + 1 }),
      specs,
      strikeWindows: [],
    });
    expect(a.eventCounts).toEqual({ 'session:chat-message:30': 1, 'session:participant-joined:30': 0 });
    expect(b.eventCounts).toEqual({ 'session:chat-message:30': 2, 'session:participant-joined:30': 0 });
    // A join is recorded in the join counter, and a chat message after it reads that count.
    await counters.observe({
      event: event({ type: 'participant-joined', sessionId: 'sess-scope', participantId: 'c', at: T0 + 2 }),
      specs,
      strikeWindows: [],
    });
    const c = await counters.observe({
      event: event({ sessionId: 'sess-scope', participantId: 'c', at: T0 + 3 }),
      specs,
      strikeWindows: [],
    });
    expect(c.eventCounts).toEqual({ 'session:chat-message:30': 3, 'session:participant-joined:30': 1 });
    expect(await redis.exists(keys.eventCounter('session', 'participant-joined', 'sess-scope'))).toBe(1);
  });

  it('skips participant-scoped specs when the event has no participant', async () => {
    const e = event({ at: T0 });
    delete e.participantId;
    const result = await counters.observe({ event: e, specs: [chat10], strikeWindows: [60] });
    expect(result.eventCounts).toEqual({});
    expect(result.strikes).toEqual({ '60': 0 });
  });

  it('counts a redelivered event once', async () => {
    const e = event({ participantId: 'redelivered', at: T0 });
    const first = await counters.observe({ event: e, specs: [chat10], strikeWindows: [] });
    const again = await counters.observe({ event: e, specs: [chat10], strikeWindows: [] });
    expect(first.eventCounts['participant:chat-message:10']).toBe(1);
    expect(again.eventCounts['participant:chat-message:10']).toBe(1);
  });

  it('gives 100 concurrent events of one participant the counts 1..100 exactly', async () => {
    const results = await Promise.all(
      Array.from({ length: 100 }, () =>
        counters.observe({ event: event({ participantId: 'burst', at: T0 }), specs: [chat60], strikeWindows: [] }),
      ),
    );
    const counts = results.map((r) => r.eventCounts['participant:chat-message:60']).sort((x, y) => (x ?? 0) - (y ?? 0));
    expect(counts).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('counts the strikes of other events in (t - window, t], one per (event, rule), per meeting', async () => {
    const hit = event({ participantId: 'striker', meetingId: 'm1', at: T0 });
    await counters.recordStrikes(hit, ['a', 'b'], 3600);
    await counters.recordStrikes(hit, ['a', 'b'], 3600); // redelivery adds nothing
    const strikesAt = async (at: number, meetingId = 'm1') =>
      (await counters.observe({ event: event({ participantId: 'striker', meetingId, at }), specs: [], strikeWindows: [60, 600] })).strikes;
    // Another event of this very moment counts them: events sent at once all count.
    expect(await strikesAt(T0)).toEqual({ '60': 2, '600': 2 });
    // The event's own strikes (a redelivery, after they were recorded) never count.
    const again = await counters.observe({ event: hit, specs: [], strikeWindows: [60, 600] });
    expect(again.strikes).toEqual({ '60': 0, '600': 0 });
    expect(await strikesAt(T0 + 1)).toEqual({ '60': 2, '600': 2 });
    expect(await strikesAt(T0 + 60_000)).toEqual({ '60': 0, '600': 2 });
    expect(await strikesAt(T0 + 1, 'm2')).toEqual({ '60': 0, '600': 0 });
    expect(await redis.pttl(keys.strikes('m1', 'striker'))).toBeGreaterThan(3_500_000);
  });

  it('never counts an event id that ends like a strike of this one as its own', async () => {
    const mine = event({ id: 'x', participantId: 'colon', at: T0 });
    await counters.recordStrikes({ ...mine, id: 'x:y' }, ['r'], 3600); // member "x:y:r", another event's
    const observed = await counters.observe({ event: mine, specs: [], strikeWindows: [60] });
    expect(observed.strikes).toEqual({ '60': 1 });
  });

  it('counts the hits of a counted rule per participant in (t - window, t], this event excluded', async () => {
    const counted = new Map([['link', 3600]]);
    const at = (ms: number, id = `h${ms}`) => event({ id, participantId: 'linker', meetingId: 'm1', at: T0 + ms });
    const record = (e: CountedEvent, rules: string[]) => counters.recordStrikes(e, rules, 3600, { rules, keep: counted });
    await record(at(0), ['link', 'other']);
    await record(at(0, 'h0b'), ['link']);
    await record(at(30_000), ['other']);
    const hits = async (e: CountedEvent) =>
      (
        await counters.observe({
          event: e,
          specs: [],
          strikeWindows: [],
          ruleHits: [
            { rule: 'link', windowSeconds: 60 },
            { rule: 'link', windowSeconds: 10 },
          ],
        })
      ).ruleHits;
    expect(await hits(at(0, 'h0'))).toEqual({ 'link:60': 1, 'link:10': 1 });
    expect(await hits(at(5_000))).toEqual({ 'link:60': 2, 'link:10': 2 });
    expect(await hits(at(59_999))).toEqual({ 'link:60': 2, 'link:10': 0 });
    expect(await hits(at(60_000))).toEqual({ 'link:60': 0, 'link:10': 0 });
    expect(await hits({ ...at(5_000), participantId: 'someone-else' })).toEqual({ 'link:60': 0, 'link:10': 0 });
    // Only counted rules get a set of their own.
    expect(await redis.exists(keys.ruleHits('m1', 'linker', 'other'))).toBe(0);
  });

  it('trims a window from no later than the receipt: an event stamped ahead cannot empty it', async () => {
    const p = 'ahead';
    const specs = [chat10];
    const observe = (at: number, receivedAt: number) =>
      counters.observe({ event: event({ participantId: p, at }), specs, strikeWindows: [], receivedAt });
    for (let i = 0; i < 5; i++) await observe(T0 + i, T0 + i);
    // Within the clock skew, 4 minutes ahead: counted where it says, and nothing trimmed for it.
    await observe(T0 + 240_000, T0 + 5);
    expect((await observe(T0 + 6, T0 + 6)).eventCounts).toEqual({ 'participant:chat-message:10': 6 });
  });

  it('reports the lists version', async () => {
    const before = await counters.observe({ event: event({ at: T0 }), specs: [], strikeWindows: [] });
    await createListStore({ redis, keys }).add('words', ['x']);
    const after = await counters.observe({ event: event({ at: T0 }), specs: [], strikeWindows: [] });
    expect(after.listsVersion).toBe(before.listsVersion + 1);
  });

  it('refuses an event whose timestamp is not a date', async () => {
    await expect(counters.observe({ event: { ...event({ at: T0 }), timestamp: 'soon' }, specs: [], strikeWindows: [] })).rejects.toThrow(
      /timestamp/,
    );
  });
});

describe('counter store, the events hot path', () => {
  it('takes the processing marker, lets its owner through again, and stops any other owner', async () => {
    const marker = (id: string, owner: string) => ({ key: keys.eventDone(id), owner, ttlSeconds: 60 });
    const e = event({ id: 'marked', participantId: 'done-check', at: T0 });
    const first = await counters.observe({ event: e, specs: [chat10], strikeWindows: [60], marker: marker('marked', 'job:1') });
    expect(first).toMatchObject({ alreadyDone: false, eventCounts: { 'participant:chat-message:10': 1 }, strikes: { '60': 0 } });
    expect(await redis.get(keys.eventDone('marked'))).toBe('job:1');
    const ttl = await redis.ttl(keys.eventDone('marked'));
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    // The same job run again (a retry, a stalled run) goes on, and counts the event once.
    const again = await counters.observe({ event: e, specs: [chat10], strikeWindows: [60], marker: marker('marked', 'job:1') });
    expect(again).toMatchObject({ alreadyDone: false, eventCounts: { 'participant:chat-message:10': 1 } });
    // Another job carrying the same event stops: nothing is recorded or read.
    const copy = await counters.observe({
      event: { ...e, participantId: 'copy-check' },
      specs: [chat10],
      strikeWindows: [60],
      marker: marker('marked', 'job:2'),
    });
    expect(copy).toMatchObject({ alreadyDone: true, eventCounts: {}, strikes: {} });
    expect(await redis.exists(keys.eventCounter('participant', 'chat-message', 's1', 'copy-check'))).toBe(0);
  });

  it('answers each of many concurrent calls (sharing script runs) with its own counts, in call order', async () => {
    const specs = [chat10, { type: 'chat-message', windowSeconds: 10, scope: 'session' } as const];
    const results = await Promise.all(
      Array.from({ length: 150 }, (_, i) =>
        counters.observe({
          event: event({ sessionId: `batch-s${i % 3}`, participantId: `batch-p${i % 5}`, at: T0 + i }),
          specs,
          strikeWindows: [],
        }),
      ),
    );
    // Calls run in order within the batch: the i-th call sees the events before it.
    results.forEach((r, i) => {
      const sameParticipant = Array.from({ length: i + 1 }, (_, j) => j).filter((j) => j % 3 === i % 3 && j % 5 === i % 5).length;
      const sameSession = Array.from({ length: i + 1 }, (_, j) => j).filter((j) => j % 3 === i % 3).length;
      expect(r.eventCounts, `call ${i}`).toEqual({
        'participant:chat-message:10': sameParticipant,
        'session:chat-message:10': sameSession,
      });
    });
  });

  it('counts events whose id JSON cannot carry as-is (any producer text is an id)', async () => {
    const ids = ['emoji-😀', 'lone-\ud800-surrogate', 'quote"and\\backslash', 'x'.repeat(200)];
    for (const [i, id] of ids.entries()) {
      const r = await counters.observe({
        event: event({ id, participantId: 'odd-ids', at: T0 + i }),
        specs: [chat60],
        strikeWindows: [],
        marker: { key: keys.eventDone(id), owner: `job:${id}`, ttlSeconds: 60 },
      });
      expect(r.eventCounts['participant:chat-message:60']).toBe(i + 1);
    }
  });
});
