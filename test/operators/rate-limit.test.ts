import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutomod, type RunningAutomod } from '../../src/automod.js';
import { createLogger } from '../../src/logger.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

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

    await waitFor(() => (h.simulator.calls().filter((c) => c.operation === 'remove' && c.sessionId === sid && c.applied).length === COUNT ? true : undefined), 15_000, 'every removal');

    // Every operator removal starts with a state check: its time is when the job started.
    const starts = h.simulator
      .calls()
      .filter((c) => c.operation === 'get-session' && c.sessionId === sid)
      .map((c) => c.at)
      .sort((a, b) => a - b);
    expect(starts).toHaveLength(COUNT);

    // The limiter lets one job start per 1000 / RATE ms (see removalLimiter): no second, wherever
    // it falls, holds more than RATE starts. Measured at the simulator, a start whose first call was
    // a little late can crowd the next second by one.
    for (let i = 0; i < starts.length; i++) {
      const inSecond = starts.filter((t) => t >= starts[i]! && t < starts[i]! + 1000).length;
      expect(inSecond, `second from ${starts[i]}`).toBeLessThanOrEqual(RATE + 1);
    }
    // And so the whole run took about (COUNT - 1) / RATE seconds: without the limiter it takes
    // ~100 ms. (Slack for a first call delayed on a busy machine.)
    expect(starts.at(-1)! - starts[0]!).toBeGreaterThanOrEqual(((COUNT - 1) / RATE) * 1000 - 400);
  });
});
