import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutomod, type RunningAutomod } from '../../../src/app/automod.js';
import { createLogger } from '../../../src/shared/logger.js';
import { sessionId, startHarness, waitFor, type Harness } from '../../helpers/harness.js';

const CAP_MS = 2000;

let h: Harness;
let second: RunningAutomod;
beforeAll(async () => {
  h = await startHarness('retry-after', { AUTOMOD_RETRY_AFTER_MAX_MS: String(CAP_MS) });
  // Another process on the same prefix that made no API call itself: the pause shows there too.
  second = await startAutomod({ ...h.config, http: { ...h.config.http, port: 0 } }, createLogger(h.config), {
    only: 'removals',
    watchRules: false,
  });
});
afterAll(async () => {
  await second?.close();
  await h?.close();
});

async function get(url: string, path: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, text: await res.text() };
}

const gauge = (text: string) => Number(/^automod_removals_rate_limited_until_seconds (\S+)$/m.exec(text)?.[1]);

describe('Retry-After', () => {
  it('is bounded by AUTOMOD_RETRY_AFTER_MAX_MS, and the hold shows on /readyz (200, degraded) and /metrics of every worker', async () => {
    expect(gauge((await get(h.automod.url!, '/metrics')).text)).toBe(0);
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-ra', participants: [{ participantId: 'target' }] });
    h.simulator.addFault({ operation: 'remove', sessionId: sid, status: 429, retryAfter: '3600' });
    const { jobId } = await h.automod.services.requester.request({
      sessionId: sid,
      participantId: 'target',
      meetingId: 'room-ra',
      reason: 'test',
      requestedBy: 'test',
    });
    const limited = await waitFor(() => h.simulator.calls().find((c) => c.sessionId === sid && c.status === 429), 5000, 'the 429');

    for (const url of [h.automod.url!, second.url!]) {
      // Ready all the same (VideoSDK's hold must not take event intake out of a load balancer),
      // and saying so.
      const ready = await waitFor(
        async () => {
          const res = await get(url, '/readyz');
          return (JSON.parse(res.text) as { rateLimitedUntil?: string }).rateLimitedUntil ? res : undefined;
        },
        2000,
        '/readyz to say rate-limited',
      );
      expect(ready.status).toBe(200);
      const body = JSON.parse(ready.text) as { status: string; reasons: string[]; warnings: string[]; rateLimitedUntil: string };
      expect(body.status).toBe('degraded');
      expect(body.reasons).toEqual([]);
      expect(body.warnings).toContain(`removals are held by VideoSDK's Retry-After until ${body.rateLimitedUntil} (every worker waits)`);
      const until = Date.parse(body.rateLimitedUntil);
      expect(until - limited.at).toBeGreaterThan(CAP_MS - 500);
      expect(until - limited.at).toBeLessThan(CAP_MS + 1000);
      expect(gauge((await get(url, '/metrics')).text)).toBeCloseTo(until / 1000, 0);
    }

    // An hour was asked for; the removal goes ahead after the cap.
    const done = await waitFor(
      async () => ((await h.automod.services.outcomes.getOutcome(jobId))?.outcome === 'removed' ? true : undefined),
      10_000,
      'the removal',
    );
    expect(done).toBe(true);
    const retried = h.simulator.calls().filter((c) => c.sessionId === sid && c.at > limited.at);
    expect(retried[0]!.at - limited.at).toBeGreaterThanOrEqual(CAP_MS - 100);

    const after = JSON.parse((await get(h.automod.url!, '/readyz')).text) as { status: string; warnings: string[] };
    expect(after).toMatchObject({ status: 'ready', warnings: [] });
    expect(gauge((await get(second.url!, '/metrics')).text)).toBe(0);
  });
});
