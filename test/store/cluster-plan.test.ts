import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PREFIX_PATTERN } from '../../src/shared/config.js';
import { deploymentTags, evenSlotRanges, keySlot, planSlots } from '../../src/store/cluster-plan.js';
import { runCli } from '../helpers/cli.js';

describe('cluster-plan', () => {
  it('computes the slots Redis Cluster computes (CRC16 of the hash tag)', () => {
    // Redis's own documented values (CLUSTER KEYSLOT).
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('123456789')).toBe(12739);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('{automod:p3}:events:wait')).toBe(keySlot('automod:p3'));
  });

  it('gives every key of a deployment tag the slot of its name, whatever the name', () => {
    const name = fc.stringMatching(PREFIX_PATTERN);
    fc.assert(
      fc.property(name, fc.nat(1023), (base, k) => {
        for (const tag of [base, `${base}:p${k}`]) {
          expect(keySlot(`{${tag}}`)).toBe(keySlot(tag));
          expect(keySlot(`{${tag}}:events:wait`)).toBe(keySlot(tag));
        }
      }),
    );
  });

  it('splits slots as redis-cli --cluster create does', () => {
    expect(evenSlotRanges(3)).toEqual([
      [0, 5460],
      [5461, 10922],
      [10923, 16383],
    ]);
    expect(evenSlotRanges(1)).toEqual([[0, 16383]]);
  });

  it('moves the fewest slots that level the weight of tags over the masters', () => {
    const masters = evenSlotRanges(3).map((r, i) => ({ name: `m${i}`, ranges: [r] }));
    // Every tag on the third master: the plan must spread them.
    const tags = Array.from({ length: 6 }, (_, i) => ({ tag: `t${i}`, slot: 11000 + i, weight: 1 }));
    const plan = planSlots(tags, masters);
    expect(plan.load.map((l) => l.planned)).toEqual([2, 2, 2]);
    expect(plan.moves).toHaveLength(4);
    // A heavy tag counts as several partitions.
    const heavy = planSlots([{ tag: 'g', slot: 11000, weight: 3 }, ...tags.slice(1)], masters);
    expect(Math.max(...heavy.load.map((l) => l.planned)) - Math.min(...heavy.load.map((l) => l.planned))).toBeLessThanOrEqual(1);
    // Already level: nothing to move.
    expect(
      planSlots(
        [
          { tag: 'a', slot: 1, weight: 1 },
          { tag: 'b', slot: 6000, weight: 1 },
          { tag: 'c', slot: 12000, weight: 1 },
        ],
        masters,
      ).moves,
    ).toEqual([]);
  });

  it('lists the global tag and every partition tag of a deployment', () => {
    const tags = deploymentTags('automod', 12, 3);
    expect(tags.map((t) => t.tag)).toEqual(['{automod}', ...Array.from({ length: 12 }, (_, k) => `{automod:p${k}}`)]);
    expect(tags[0]!.weight).toBe(3);
    expect(deploymentTags('automod', 1, 3).map((t) => t.tag)).toEqual(['{automod}']);
  });

  it('refuses a cluster with uncovered slots, naming the slot', () => {
    expect(() => planSlots([{ tag: 'x', slot: 9000, weight: 1 }], [{ name: 'm', ranges: [[0, 100]] }])).toThrow(
      /slot 9000 is served by no master/,
    );
  });
});

describe('automod cluster-plan (the built CLI)', () => {
  it('plans a cluster about to be created: ADDSLOTSRANGE per master, every partition placed', async () => {
    const result = await runCli(['cluster-plan', '--masters', '3', '--json'], { AUTOMOD_PREFIX: 'automod', AUTOMOD_PARTITIONS: '12' });
    expect(result.code).toBe(0);
    const plan = JSON.parse(result.stdout) as { tags: { tag: string; to: string }[]; load: { planned: number }[]; moves: unknown[] };
    expect(plan.tags).toHaveLength(13);
    // The global tag weighs half the partitions: 18 in all, 6 a master.
    expect(plan.load.map((l) => l.planned)).toEqual([6, 6, 6]);
    expect(plan.moves.length).toBeGreaterThan(0);
    const text = await runCli(['cluster-plan', '--masters', '3'], { AUTOMOD_PREFIX: 'automod', AUTOMOD_PARTITIONS: '12' });
    expect(text.stdout).toMatch(/master-1: CLUSTER ADDSLOTSRANGE 0 /);
  });

  it('names a bad option value and asks for a cluster when none is given', async () => {
    const bad = await runCli(['cluster-plan', '--masters', '3', '--global-weight', 'x'], {});
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('--global-weight must be a number, got "x"');
    const none = await runCli(['cluster-plan'], {});
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('REDIS_CLUSTER_NODES');
  });
});
