import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutomod, type RunningAutomod } from '../../../src/app/automod.js';
import { createLogger } from '../../../src/shared/logger.js';
import { sessionId, startHarness, waitFor, type Harness } from '../../helpers/harness.js';

const RATE = 8;
const COUNT = 24;

let h: Harness;
let second: RunningAutomod;
beforeAll(async () => {
  h = await startHarness('rate', { AUTOMOD_API_RATE_PER_SEC: String(RATE), AUTOMOD_REMOVAL_CONCURRENCY: '20' });
  // A second removal worker on the same Redis: the limit is for all of them together.
  second = await startAutomod(h.config, createLogger(h.config), { only: 'removals', http: false, watchRules: false });
});
afterAll(async () => {
  await second?.close();
  await h?.close();
});

describe('AUTOMOD_API_RATE_PER_SEC', () => {
  it('caps removal jobs started in any second across two workers (BullMQ limiter), measured at the simulator', async () => {
    const sid = sessionId();
    const people = Array.from({ length: COUNT }, (_, i) => `rl-${i}`);
    h.simulator.addSession({ id: sid, participants: people.map((participantId) => ({ participantId })) });
    const posted = await h.api('POST', '/v1/removals', { removals: people.map((participantId) => ({ sessionId: sid, participantId })) });
    expect(posted.status).toBe(202);

    await waitFor(
      () =>
        h.simulator.calls().filter((c) => c.operation === 'remove' && c.sessionId === sid && c.applied).length === COUNT ? true : undefined,
      15_000,
      'every removal',
    );

    // Every operator removal starts with a state check: the simulator sees each job's start.
    const calls = h.simulator
      .calls()
      .filter((c) => c.operation === 'get-session' && c.sessionId === sid)
      .map((c) => c.at)
      .sort((a, b) => a - b);
    expect(calls).toHaveLength(COUNT);
    // BullMQ records when each job started (the limiter admits it in the same script).
    const jobIds = (posted.body as { jobs: string[] }).jobs;
    const starts = (await Promise.all(jobIds.map((id) => h.automod.services.queues.removals.getJob(id))))
      .map((job) => job?.processedOn ?? Number.NaN)
      .sort((a, b) => a - b);

    const mostInASecond = (times: readonly number[]) => Math.max(...times.map((t) => times.filter((u) => u >= t && u < t + 1000).length));
    // The limiter lets one job start per 1000 / RATE ms (see removalLimiter): no second, wherever it
    // falls, holds more than RATE starts (one more for clock jitter between the script and the
    // recorded time). BullMQ's plain 1 s window lets a burst of RATE through at each window's start.
    expect(mostInASecond(starts)).toBeLessThanOrEqual(RATE + 1);
    // At the simulator, the calls follow the starts; a busy test process can bunch a few of them.
    expect(mostInASecond(calls)).toBeLessThanOrEqual(2 * RATE);
    // And so the whole run took about (COUNT - 1) / RATE seconds, spread evenly: without the limiter
    // it takes ~100 ms, with 1 s windows about COUNT / RATE - 1 seconds.
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(((COUNT - 1) / RATE) * 1000 - 200);
  });
});

describe('bulk lists and the removals rules ask for', () => {
  it('a bulk list waits behind a rule’s removal queued after it', async () => {
    const sid = sessionId();
    const listed = ['list-0', 'list-1', 'list-2', 'list-3'];
    h.simulator.addSession({ id: sid, participants: [...listed, 'raider'].map((participantId) => ({ participantId })) });
    const { queues, requester } = h.automod.services;
    await queues.removals.pause();
    try {
      const posted = await h.api('POST', '/v1/removals', { removals: listed.map((participantId) => ({ sessionId: sid, participantId })) });
      expect(posted.status).toBe(202);
      await requester.request({ sessionId: sid, participantId: 'raider', reason: 'raid', requestedBy: 'test', rule: 'test' });
    } finally {
      await queues.removals.resume();
    }
    await waitFor(
      () =>
        h.simulator.calls().filter((c) => c.sessionId === sid && c.operation === 'remove' && c.applied).length === 5 ? true : undefined,
      15_000,
      'every removal',
    );
    const calls = h.simulator.calls().filter((c) => c.sessionId === sid);
    const raider = calls.find((c) => c.participantId === 'raider' && c.operation === 'remove')!;
    // Each listed removal reads the session first; the limiter spaces starts 125 ms apart, so the
    // order of starts is the order the queue gave them out.
    const firstListed = Math.min(...calls.filter((c) => c.operation === 'get-session').map((c) => c.at));
    expect(raider.at).toBeLessThan(firstListed);
  });
});
