import { afterAll, describe, expect, it } from 'vitest';
import { partitionOf } from '../../src/shared/partitions.js';
import { createCounterStore, type CountedEvent } from '../../src/store/counters.js';
import { createKeys } from '../../src/store/keys.js';
import { createListStore, mirrorListsVersion } from '../../src/store/lists.js';
import type { RedisClient } from '../../src/store/redis.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('counters-batch'));
const { redis, cleanup } = testRedis(config);
afterAll(cleanup);

/** The test's connection, counting script runs and the keys each touched (instrumentation, not a mock). */
function counting(client: RedisClient): { redis: RedisClient; runs: string[][] } {
  const runs: string[][] = [];
  const redisProxy = new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if ((prop === 'evalsha' || prop === 'eval') && typeof value === 'function') {
        return (...args: unknown[]) => {
          const n = Number(args[1]);
          if (prop === 'evalsha') runs.push(args.slice(2, 2 + n) as string[]);
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { redis: redisProxy, runs };
}

const T0 = Date.parse('2026-11-25T10:00:00.000Z');
const chat = { type: 'chat-message', windowSeconds: 60, scope: 'participant' } as const;
const ev = (i: number, sessionId: string): CountedEvent => ({
  id: `b-${sessionId}-${i}`,
  type: 'chat-message',
  sessionId,
  participantId: `p${i % 7}`,
  timestamp: new Date(T0 + i).toISOString(),
});

describe('counters of a batch', () => {
  it('observe a whole batch in one script run (one lists-version read), never split, with exact per-event counts', async () => {
    const keys = createKeys(config.keyPrefix);
    const { redis: r, runs } = counting(redis);
    const counters = createCounterStore({ redis: r, keys });
    const events = Array.from({ length: 700 }, (_, i) => ev(i, 'one'));
    // A concurrent single observe in the same tick rides along; the batch itself stays whole.
    const [batch, single] = await Promise.all([
      counters.observeMany(
        events.map((event, i) => ({
          event,
          specs: [chat],
          strikeWindows: [60],
          marker: { key: keys.part('one').eventDone(event.id), owner: `o:${i}`, ttlSeconds: 60 },
        })),
      ),
      counters.observe({ event: ev(9999, 'other'), specs: [chat], strikeWindows: [] }),
    ]);
    expect(runs.filter((keysOfRun) => keysOfRun.includes(keys.part('one').eventDone(events[0]!.id)))).toHaveLength(1);
    const run = runs.find((keysOfRun) => keysOfRun.includes(keys.part('one').eventDone(events[0]!.id)))!;
    expect(run.filter((k) => k.endsWith(':lists-version'))).toHaveLength(1);
    expect(run).toContain(keys.part('one').eventDone(events[699]!.id));
    // Participant p0 sent events 0, 7, 14, ...: the n-th of them counts n.
    expect(batch[0]!.eventCounts['participant:chat-message:60']).toBe(1);
    expect(batch[7]!.eventCounts['participant:chat-message:60']).toBe(2);
    expect(batch[699]!.eventCounts['participant:chat-message:60']).toBe(100);
    expect(single.alreadyDone).toBe(false);
    // The same owners again (a redelivery) go on; another owner is a duplicate.
    const again = await counters.observeMany([
      {
        event: events[0]!,
        specs: [chat],
        strikeWindows: [],
        marker: { key: keys.part('one').eventDone(events[0]!.id), owner: 'o:0', ttlSeconds: 60 },
      },
    ]);
    expect(again[0]!.alreadyDone).toBe(false);
    expect(again[0]!.eventCounts['participant:chat-message:60']).toBe(1);
    const other = await counters.observeMany([
      {
        event: events[0]!,
        specs: [chat],
        strikeWindows: [],
        marker: { key: keys.part('one').eventDone(events[0]!.id), owner: 'someone-else', ttlSeconds: 60 },
      },
    ]);
    expect(other[0]!.alreadyDone).toBe(true);
  });

  it('with partitions, run once per partition, each on its own tag with its own copy of the lists version', async () => {
    const keys = createKeys(config.keyPrefix, 3);
    await redis.set(keys.listsVersion(), '7');
    await mirrorListsVersion(redis, keys, { force: true });
    const { redis: r, runs } = counting(redis);
    const counters = createCounterStore({ redis: r, keys });
    const sessions = ['s-a', 's-b', 's-c', 's-d', 's-e', 's-f'];
    const events = sessions.flatMap((s) => [0, 1, 2].map((i) => ev(i, s)));
    const observed = await counters.observeMany(events.map((event) => ({ event, specs: [chat], strikeWindows: [] })));
    const used = new Set(sessions.map((s) => partitionOf(s, 3)));
    expect(runs).toHaveLength(used.size);
    for (const run of runs) {
      const tags = new Set(run.map((k) => /^\{[^}]+\}/.exec(k)![0]));
      expect(tags.size).toBe(1);
      expect([...tags][0]).toMatch(new RegExp(`^\\{${config.prefix}:p\\d\\}$`));
    }
    expect(observed.every((o) => o.listsVersion === 7)).toBe(true);
    // Counters live under the session's partition tag.
    const k = partitionOf('s-a', 3);
    expect(await redis.zcard(`{${config.prefix}:p${k}}:count:participant:chat-message:s-a:p0`)).toBe(1);
  });

  it('a live-list change copies the new lists version to every partition’s tag', async () => {
    const keys = createKeys(config.keyPrefix, 3);
    const lists = createListStore({ redis, keys });
    await lists.add('blocked', ['x', 'y']);
    const version = await redis.get(keys.listsVersion());
    for (const pk of keys.all()) expect(await redis.get(pk.listsVersion())).toBe(version);
    await lists.remove('blocked', ['x']);
    const after = await redis.get(keys.listsVersion());
    expect(after).not.toBe(version);
    for (const pk of keys.all()) expect(await redis.get(pk.listsVersion())).toBe(after);
  });
});
