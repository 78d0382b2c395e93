import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutomod, type RunningAutomod } from '../../src/app/automod.js';
import { DEFAULT_REMOVAL_RATE_PER_SEC, InFlightBound } from '../../src/removals/in-flight.js';
import { createLogger } from '../../src/shared/logger.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

describe('the in-flight bound', () => {
  it('follows the time a removal takes so that the cap can be reached (Little’s law, with room)', () => {
    const bound = new InFlightBound({ ratePerSec: 200, max: 100 });
    for (let i = 0; i < 200; i++) bound.observe(150);
    // 200/s × 0.15 s × 1.25 = 37.5 → 38, + 1.
    expect(bound.bound).toBe(39);
    for (let i = 0; i < 200; i++) bound.observe(30);
    // 200/s × 0.03 s × 1.25 = 7.5 → 8, + 1.
    expect(bound.bound).toBe(9);
  });

  it('is shared by the workers consuming the queue, never above the configured most nor below one', () => {
    const bound = new InFlightBound({ ratePerSec: 200, max: 100 });
    for (let i = 0; i < 200; i++) bound.observe(150);
    expect(bound.shareWith(2)).toBe(20);
    expect(bound.shareWith(undefined)).toBe(39);
    for (let i = 0; i < 200; i++) bound.observe(5_000);
    expect(bound.bound).toBe(100);
    expect(new InFlightBound({ ratePerSec: 1, max: 100 }).observe(1)).toBe(2);
  });

  it('aims at the documented default rate without a cap', () => {
    const bound = new InFlightBound({ ratePerSec: undefined, max: 1000 });
    for (let i = 0; i < 200; i++) bound.observe(400);
    expect(bound.bound).toBe(Math.ceil(DEFAULT_REMOVAL_RATE_PER_SEC * 0.4 * 1.25) + 1);
  });
});

const RATE = 200;
const LATENCY_MS = 150;

describe('removals at a real API latency (simulator answering after 150 ms, cap 200/s)', () => {
  let h: Harness;
  let second: RunningAutomod;
  beforeAll(async () => {
    h = await startHarness('in-flight', { AUTOMOD_API_RATE_PER_SEC: String(RATE) });
    // A second removal worker on the same Redis: the rate is shared, the cap holds for both.
    second = await startAutomod(h.config, createLogger(h.config), { only: 'removals', http: false, watchRules: false });
  });
  afterAll(async () => {
    await second?.close();
    await h?.close();
  });

  it('keeps as many removals in flight as the cap needs (more than two workers at the old fixed 10), under the cap in every second, each participant once', async () => {
    const sid = sessionId();
    const people = Array.from({ length: 300 }, (_, i) => `bot-${i}`);
    h.simulator.addSession({ id: sid, meetingId: 'room-1', participants: people.map((participantId) => ({ participantId })) });
    h.simulator.addFault({ operation: 'remove', sessionId: sid, delayMs: LATENCY_MS, times: Infinity });
    // Rule-like removals (no priority), as a raid's hits arrive.
    const { requester } = h.automod.services;
    const requested = await Promise.all(
      people.map((participantId) =>
        requester.request({ sessionId: sid, participantId, meetingId: 'room-1', reason: 'raid', requestedBy: 'test', rule: 'test' }),
      ),
    );
    await waitFor(() => (h.simulator.stats().removalsApplied >= people.length ? true : undefined), 30_000, 'every removal');
    // Each taken out once (a POST that timed out on a busy machine may be sent again; it then finds them gone).
    const applied = h.simulator.stats().removalsByParticipant;
    expect(people.filter((p) => applied[`${sid}/${p}`] === 1)).toHaveLength(people.length);

    // BullMQ records when each job started and finished: the most running at one moment.
    const jobs = await waitFor(async () => {
      const all = await Promise.all(requested.map((r) => h.automod.services.queues.removals.getJob(r.jobId)));
      return all.every((job) => job?.finishedOn !== undefined)
        ? all.map((job) => ({ from: job!.processedOn!, to: job!.finishedOn! }))
        : undefined;
    });
    const running = Math.max(...jobs.map(({ from }) => jobs.filter((j) => j.from <= from && j.to > from).length));
    // Two workers at the old fixed 10 each could never pass 20.
    expect(running).toBeGreaterThan(20);
    // The limiter still holds every second, wherever it falls (one more for clock jitter).
    const starts = jobs.map((j) => j.from).sort((x, y) => x - y);
    expect(Math.max(...starts.map((t) => starts.filter((u) => u >= t && u < t + 1000).length))).toBeLessThanOrEqual(RATE + 1);
    // Each worker sized its bound for its share of the rate at the time a removal took (≥ 150 ms).
    const bounds = await Promise.all(
      [h.automod, second].map(async (a) => (await a.services.metrics.removalConcurrency.get()).values[0]?.value ?? 0),
    );
    for (const bound of bounds) expect(bound).toBeGreaterThanOrEqual(Math.ceil((RATE * 0.14 * 1.25) / 2));
    expect(Math.max(...bounds)).toBeLessThanOrEqual(100);
  });
});
