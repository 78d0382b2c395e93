import { afterAll, describe, expect, it } from 'vitest';
import { createEventLog, type EventLogRecord } from '../../src/store/event-log.js';
import { createKeys } from '../../src/store/keys.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('eventlog'));
const { redis, cleanup } = testRedis(config);
afterAll(cleanup);

async function collect(iterable: AsyncIterable<EventLogRecord>): Promise<EventLogRecord[]> {
  const out: EventLogRecord[] = [];
  for await (const record of iterable) out.push(record);
  return out;
}

const entry = (i: number) => ({
  event: { id: `e${i}`, type: 'chat-message' },
  hits: [{ rule: 'r', mode: 'enforce', action: 'flag' }],
  rulesVersion: 'v1',
});

describe('event log', () => {
  it('appends and reads back in order across pages, one stream entry per batch', async () => {
    const keys = createKeys(`${config.keyPrefix}:a`);
    const log = createEventLog({ redis, keys, retentionHours: 1 });
    const start = Date.now() - 1;
    await log.appendMany([entry(0)]);
    await log.appendMany(Array.from({ length: 24 }, (_, i) => entry(i + 1)));
    await log.appendMany([entry(25)]);

    // A batch costs Redis one entry; records of one batch share its id and time.
    expect(await redis.xlen(keys.eventLog())).toBe(3);
    const read = await collect(log.read({ since: start, count: 1 }));
    expect(read.map((r) => r.event.id)).toEqual(Array.from({ length: 26 }, (_, i) => `e${i}`));
    expect(new Set(read.slice(1, 25).map((r) => r.id)).size).toBe(1);
    expect(read[0]?.id).not.toBe(read[1]?.id);
    expect(read[0]?.hits).toEqual([{ rule: 'r', mode: 'enforce', action: 'flag' }]);
    expect(read[0]?.rulesVersion).toBe('v1');
    expect(read[0]?.at).toBeGreaterThanOrEqual(start - 1000);

    const ttl = await redis.pttl(keys.eventLog());
    expect(ttl).toBeGreaterThan(3_500_000);
    expect(await collect(log.read({ since: start, until: start - 1 }))).toEqual([]);
  });

  it('writes a batch as one value, and skips the unreadable records of one', async () => {
    const keys = createKeys(`${config.keyPrefix}:one-value`);
    const log = createEventLog({ redis, keys, retentionHours: 1 });
    const start = Date.now() - 1;
    await log.appendMany([entry(1), entry(2), entry(3)]);
    const stream = await redis.xrange(keys.eventLog(), '-', '+');
    expect(stream).toHaveLength(1);
    const fields = stream[0]![1];
    expect(fields).toHaveLength(2);
    expect(fields[0]).toBe('b');
    await redis.xadd(keys.eventLog(), '*', 'b', JSON.stringify([entry(4), { hits: [] }, null, 5, entry(5)]), 'b', '[not json');
    const read = await collect(log.read({ since: start }));
    expect(read.map((r) => r.event.id)).toEqual(['e1', 'e2', 'e3', 'e4', 'e5']);
  });

  it('skips unreadable records and keeps the rest of their batch', async () => {
    const keys = createKeys(`${config.keyPrefix}:d`);
    const log = createEventLog({ redis, keys, retentionHours: 1 });
    const start = Date.now() - 1;
    await redis.xadd(
      keys.eventLog(),
      '*',
      'e',
      JSON.stringify(entry(1)),
      'e',
      '{not json',
      'x',
      'other field',
      'e',
      JSON.stringify({ hits: [] }),
      'e',
      JSON.stringify(entry(2)),
    );
    const read = await collect(log.read({ since: start }));
    expect(read.map((r) => r.event.id)).toEqual(['e1', 'e2']);
  });

  it('drops entries older than the retention', async () => {
    const keys = createKeys(`${config.keyPrefix}:b`);
    // Old entries, written as if long ago.
    for (let i = 0; i < 300; i++) await redis.xadd(keys.eventLog(), `${1000 + i}-0`, 'e', JSON.stringify(entry(i)));
    const log = createEventLog({ redis, keys, retentionHours: 1 });
    await log.appendMany([entry(999)]);
    // MINID ~ trims whole stream nodes: most old entries are gone, the new one stays.
    expect(await redis.xlen(keys.eventLog())).toBeLessThan(301);
    const recent = await collect(log.read({ since: Date.now() - 60_000 }));
    expect(recent.map((r) => r.event.id)).toEqual(['e999']);
  });

  it('does nothing when retention is 0', async () => {
    const keys = createKeys(`${config.keyPrefix}:c`);
    const log = createEventLog({ redis, keys, retentionHours: 0 });
    expect(log.enabled).toBe(false);
    await log.appendMany([entry(1), entry(2)]);
    expect(await redis.exists(keys.eventLog())).toBe(0);
  });

  it('caps the events kept (AUTOMOD_EVENT_LOG_MAX_ENTRIES) whatever their age, counting events, not batches', async () => {
    const keys = createKeys(`${config.keyPrefix}:cap`);
    const log = createEventLog({ redis, keys, retentionHours: 24, maxEvents: 500 });
    // 1000 batches of 5 events, all young: only the count can bound them.
    for (let b = 0; b < 1000; b += 50) {
      await Promise.all(Array.from({ length: 50 }, (_, i) => log.appendMany([0, 1, 2, 3, 4].map((j) => entry((b + i) * 5 + j)))));
    }
    const kept = await collect(log.read({ since: 0 }));
    // 500 events = 100 entries of 5; `~` trims whole stream nodes (100 entries each), so up to one
    // node more stays. Without the cap all 5000 would.
    expect(kept.length).toBeGreaterThanOrEqual(500);
    expect(kept.length).toBeLessThanOrEqual(1000);
    expect(kept.at(-1)?.event.id).toBe('e4999');
  });
});
