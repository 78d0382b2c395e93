import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { MeetingEvent } from '../../src/shared/event-schema.js';
import { createMemoryCounters } from '../../src/moderation/memory-counters.js';
import {
  counterKey,
  ruleHitsKey,
  strikeRetentionSeconds,
  type CounterSpec,
  type RuleHit,
  type RuleHitSpec,
} from '../../src/moderation/types.js';
import { createCounterStore } from '../../src/store/counters.js';
import { createKeys } from '../../src/store/keys.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

// The Redis counters (what the worker uses) and the in-memory ones (what `rules test` and
// backtests use) must give the same facts for any sequence of events, including events out of
// order, repeated ids, window edges and strikes.

const config = testConfig(uniquePrefix('counter-parity'));
const { redis, cleanup } = testRedis(config);
afterAll(cleanup);

const SPECS: CounterSpec[] = [
  { type: 'chat-message', windowSeconds: 3, scope: 'participant' },
  { type: 'chat-message', windowSeconds: 10, scope: 'participant' },
  { type: 'chat-message', windowSeconds: 5, scope: 'session' },
  { type: 'participant-joined', windowSeconds: 10, scope: 'participant' },
];
const STRIKE_WINDOWS = [2, 8];
const RULE_HITS: RuleHitSpec[] = [
  { rule: 'r1', windowSeconds: 3 },
  { rule: 'r1', windowSeconds: 9 },
  { rule: 'r2', windowSeconds: 5 },
];
const COUNTED = new Map([
  ['r1', 3600],
  ['r2', 3600],
]);
const T0 = Date.UTC(2026, 0, 1, 10);

const step = fc.record({
  // Mostly forward in time, sometimes back (late events); whole seconds hit the window edges.
  dt: fc.oneof(
    fc.integer({ min: 0, max: 4 }).map((s) => s * 1000),
    fc.integer({ min: -3000, max: 3000 }),
    fc.integer({ min: -15_000, max: 15_000 }),
  ),
  type: fc.constantFrom('chat-message', 'chat-message', 'participant-joined', 'session-started'),
  participant: fc.constantFrom('a', 'b', undefined),
  session: fc.constantFrom('s1', 's2'),
  meeting: fc.constantFrom('m1', 'm2', undefined),
  repeat: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  strikes: fc.subarray(['r1', 'r2']),
});

let run = 0;

describe('Redis counters and in-memory counters', () => {
  it('give the same counts and strikes for any sequence of events', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 40 }), async (steps) => {
        const keys = createKeys(`${config.keyPrefix}:${++run}`);
        const store = createCounterStore({ redis, keys });
        const memory = createMemoryCounters({
          counterSpecs: SPECS,
          strikeWindows: STRIKE_WINDOWS,
          ruleHitSpecs: RULE_HITS,
          countedRules: COUNTED,
        });
        let t = T0;
        const seen: MeetingEvent[] = [];
        for (const [i, s] of steps.entries()) {
          t += s.dt;
          const earlier = s.repeat && seen.length > 0 ? seen[i % seen.length] : undefined;
          const event: MeetingEvent = {
            id: earlier?.id ?? `e${i}`,
            type: s.type,
            sessionId: s.session,
            ...(s.meeting === undefined ? {} : { meetingId: s.meeting }),
            ...(s.participant === undefined ? {} : { participantId: s.participant }),
            timestamp: new Date(t).toISOString(),
            data: {},
          };
          seen.push(event);
          const fromRedis = await store.observe({ event, specs: SPECS, strikeWindows: STRIKE_WINDOWS, ruleHits: RULE_HITS });
          const fromMemory = memory.observe(event);
          for (const spec of SPECS) {
            const key = counterKey(spec);
            expect(fromRedis.eventCounts[key] ?? 0, `step ${i} ${key}`).toBe(fromMemory.eventCounts[key]);
          }
          expect(fromRedis.strikes, `step ${i} strikes`).toEqual(fromMemory.strikes);
          for (const spec of RULE_HITS) {
            const key = ruleHitsKey(spec);
            expect(fromRedis.ruleHits[key] ?? 0, `step ${i} ${key}`).toBe(fromMemory.ruleHits?.[key] ?? 0);
          }
          if (s.strikes.length > 0) {
            const hits: RuleHit[] = s.strikes.map((rule) => ({ rule, mode: 'enforce', action: 'flag', reason: rule, priority: 1 }));
            await store.recordStrikes(event, s.strikes, strikeRetentionSeconds(STRIKE_WINDOWS), { rules: s.strikes, keep: COUNTED });
            memory.recordHits(event, hits);
          }
        }
      }),
      { numRuns: 60 },
    );
  });

  it('agree at the exact window edges', async () => {
    const keys = createKeys(`${config.keyPrefix}:edges`);
    const store = createCounterStore({ redis, keys });
    const memory = createMemoryCounters({ counterSpecs: SPECS, strikeWindows: STRIKE_WINDOWS });
    const offsets = [0, 2_999, 3_000, 3_001, 9_999, 10_000, 10_001, 13_000];
    const counts: number[][] = [];
    for (const [i, ms] of offsets.entries()) {
      const event: MeetingEvent = {
        id: `edge${i}`,
        type: 'chat-message',
        sessionId: 's',
        participantId: 'p',
        timestamp: new Date(T0 + ms).toISOString(),
        data: {},
      };
      const r = await store.observe({ event, specs: SPECS, strikeWindows: [] });
      const m = memory.observe(event);
      const row = [r.eventCounts['participant:chat-message:3'] ?? -1, r.eventCounts['participant:chat-message:10'] ?? -1];
      expect(row).toEqual([m.eventCounts['participant:chat-message:3'], m.eventCounts['participant:chat-message:10']]);
      counts.push(row);
    }
    // (t - window, t]: an event exactly one window old is out.
    expect(counts).toEqual([
      [1, 1], // 0
      [2, 2], // 2.999: 0 in both
      [2, 3], // 3.000: 0 is out of 3 s
      [3, 4], // 3.001
      [1, 5], // 9.999: alone in its 3 s window; 0 still in the 10 s one
      [2, 5], // 10.000: 0 is out of 10 s
      [3, 6], // 10.001
      [2, 5], // 13.000
    ]);
  });
});
