import { describe, expect, it } from 'vitest';
import { createTickBatcher } from '../../src/store/tick-batcher.js';

describe('tick batcher', () => {
  it('runs the calls of one tick as one batch, in call order, and answers each its own result', async () => {
    const batches: number[][] = [];
    const double = createTickBatcher<number, number>(async (items) => {
      batches.push([...items]);
      return items.map((x) => x * 2);
    });
    expect(await Promise.all([1, 2, 3].map((x) => double(x)))).toEqual([2, 4, 6]);
    expect(await double(4)).toBe(8);
    expect(batches).toEqual([[1, 2, 3], [4]]);
  });

  it('splits a large tick into batches of at most maxBatch', async () => {
    const sizes: number[] = [];
    const echo = createTickBatcher<number, number>(
      async (items) => {
        sizes.push(items.length);
        return items;
      },
      { maxBatch: 4 },
    );
    expect(await Promise.all(Array.from({ length: 10 }, (_, i) => echo(i)))).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sizes).toEqual([4, 4, 2]);
  });

  it('fails every call of a failed batch (thrown or rejected), and only those', async () => {
    let calls = 0;
    const flaky = createTickBatcher<string, string>((items) => {
      calls += 1;
      if (calls === 1) throw new Error('boom');
      if (calls === 2) return Promise.reject(new Error('later boom'));
      return Promise.resolve(items);
    });
    const first = await Promise.allSettled([flaky('a'), flaky('b')]);
    expect(first.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    await expect(flaky('c')).rejects.toThrow('later boom');
    await expect(flaky('d')).resolves.toBe('d');
  });

  it('rejects when the batch answers fewer results than items', async () => {
    const short = createTickBatcher<number, number>(async (items) => items.slice(1));
    const results = await Promise.allSettled([short(1), short(2)]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 2 });
    expect(results[1]?.status).toBe('rejected');
  });
});
