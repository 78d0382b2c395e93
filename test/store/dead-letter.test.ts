import { afterAll, describe, expect, it } from 'vitest';
import { createDeadLetters, DEAD_LETTER_DATA_MAX } from '../../src/store/dead-letter.js';
import { createKeys } from '../../src/store/keys.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const config = testConfig(uniquePrefix('dead'));
const { redis, cleanup } = testRedis(config);
const dead = createDeadLetters({ redis, keys: createKeys(config.keyPrefix), max: 5 });
afterAll(cleanup);

describe('dead letters', () => {
  it('keeps the newest entries up to the cap, newest first', async () => {
    for (let i = 1; i <= 8; i++) await dead.add({ at: `t${i}`, reason: 'type is required', jobId: `j${i}`, data: { i } });
    expect(await dead.count()).toBe(5);
    const list = await dead.list(3);
    expect(list.map((d) => d.jobId)).toEqual(['j8', 'j7', 'j6']);
    expect(list[0]).toEqual({ id: expect.any(String), at: 't8', reason: 'type is required', jobId: 'j8', data: { i: 8 } });
    expect(await dead.list(100)).toHaveLength(5);
  });

  it('finds an entry by id, marks it replayed, and gives entries written without an id a stable one', async () => {
    const id = await dead.add({ at: 't9', reason: 'bad', data: { n: 9 } });
    expect((await dead.get(id))?.data).toEqual({ n: 9 });
    await dead.markReplayed(id, { at: 't10', requestedBy: 'api', eventId: 'e9' });
    expect(await dead.get(id)).toMatchObject({ id, replayed: { eventId: 'e9' } });
    expect(await dead.get('nope')).toBeUndefined();

    await redis.lpush(createKeys(config.keyPrefix).deadLetter(), JSON.stringify({ at: 'old', reason: 'legacy', data: 1 }));
    const [legacy] = await dead.list(1);
    expect(legacy?.id).toMatch(/^[0-9a-f]{32}$/);
    expect((await dead.get(legacy!.id))?.reason).toBe('legacy');
  });

  it('cuts large or unserialisable data', async () => {
    await dead.add({ at: 't', reason: 'big', data: { text: 'x'.repeat(10_000) } });
    const [big] = await dead.list(1);
    expect(big?.truncated).toBe(true);
    expect(typeof big?.data).toBe('string');
    expect((big?.data as string).length).toBe(DEAD_LETTER_DATA_MAX);

    const circular: Record<string, unknown> = {};
    circular.self = circular;
    await dead.add({ at: 't', reason: 'circular', data: circular });
    expect((await dead.list(1))[0]).toMatchObject({ reason: 'circular', truncated: true });
  });
});
