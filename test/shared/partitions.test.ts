import { describe, expect, it } from 'vitest';
import { concurrencyPerPartition, fnv1a32, parsePartitionList, partitionOf, partitionPrefix } from '../../src/shared/partitions.js';
import { createKeys } from '../../src/store/keys.js';

describe('partitions', () => {
  it('hash sessions with FNV-1a 32 over UTF-8 (published test vectors), unsigned', () => {
    expect(fnv1a32('')).toBe(2166136261);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
    // UTF-8 bytes, not UTF-16 code units: "é" is c3 a9.
    expect(fnv1a32('é')).toBe(Math.imul(Math.imul(0x811c9dc5 ^ 0xc3, 16777619) ^ 0xa9, 16777619) >>> 0);
    expect(partitionOf('foobar', 12)).toBe(0xbf9cf968 % 12);
    expect(partitionOf('anything', 1)).toBe(0);
    expect(() => partitionOf('s', 0)).toThrow(/partitions must be/);
  });

  it('keep today’s tag with one partition and use {BASE:pK} with more', () => {
    expect(partitionPrefix('automod', 0, 1)).toBe('{automod}');
    expect(partitionPrefix('automod', 3, 12)).toBe('{automod:p3}');
    const one = createKeys('{automod}');
    expect(one.part('s1').eventDone('e')).toBe('{automod}:event-done:e');
    const many = createKeys('{automod}', 4);
    const k = partitionOf('s1', 4);
    expect(many.part('s1').eventDone('e')).toBe(`{automod:p${k}}:event-done:e`);
    expect(many.part('s1').strikes('m', 'p')).toBe(`{automod:p${k}}:strikes:m:p`);
    // Global keys keep {BASE}.
    expect(many.audit()).toBe('{automod}:audit');
    expect(many.listsVersion()).toBe('{automod}:lists-version');
  });

  it('parse --partitions lists and ranges, and refuse what is not a partition of the deployment', () => {
    expect(parsePartitionList('3', 6)).toEqual([3]);
    expect(parsePartitionList('0-5', 6)).toEqual([0, 1, 2, 3, 4, 5]);
    expect(parsePartitionList('0,2,4-6', 8)).toEqual([0, 2, 4, 5, 6]);
    expect(parsePartitionList(' 2 , 2,1', 3)).toEqual([1, 2]);
    expect(() => parsePartitionList('6', 6)).toThrow(/6 is not a partition of this deployment \(AUTOMOD_PARTITIONS=6: 0 to 5\)/);
    expect(() => parsePartitionList('3-1', 6)).toThrow(/ends before it starts/);
    expect(() => parsePartitionList('a', 6)).toThrow(/"a" is not a partition number or range/);
    expect(() => parsePartitionList('', 6)).toThrow(/is not a partition number/);
  });

  it('share the event concurrency out between consumed partitions', () => {
    expect(concurrencyPerPartition(200, 1)).toBe(200);
    expect(concurrencyPerPartition(200, 12)).toBe(17);
    expect(concurrencyPerPartition(5, 12)).toBe(1);
  });
});
