import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { sessionId, startHarness, waitFor, type Harness } from '../../helpers/harness.js';
import { REDIS_URL } from '../../helpers/redis.js';

const RULES = fileURLToPath(new URL('../../fixtures/review-rules', import.meta.url));

describe('automod reviews / automod review', () => {
  let h: Harness;
  let env: Record<string, string>;
  const sid = sessionId();
  beforeAll(async () => {
    h = await startHarness('cli-reviews', { AUTOMOD_RULES: RULES });
    env = { REDIS_URL, AUTOMOD_PREFIX: h.config.prefix, LOG_LEVEL: 'silent', USER: 'carol' };
    h.simulator.addSession({ id: sid, meetingId: 'room-c', participants: [{ participantId: 'p1', name: 'Zed' }] });
    await h.api('POST', '/v1/events', [
      { id: `${sid}-1`, type: 'chat-message', meetingId: 'room-c', sessionId: sid, participantId: 'p1', data: { text: 'scam' } },
      { id: `${sid}-2`, type: 'chat-message', meetingId: 'room-c', sessionId: sid, participantId: 'p2', data: { text: 'scam' } },
    ]);
    await waitFor(async () => {
      const res = await h.api('GET', '/v1/reviews?state=pending');
      return (res.body as { reviews: unknown[] }).reviews.length === 2 ? true : undefined;
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  it("lists, approves with a ban (made in the item's meeting), refuses a second decision (exit 1) and a bad ban (exit 2)", async () => {
    const listed = await runCli(['reviews', '--state', 'pending', '--json'], env);
    expect(listed.code).toBe(0);
    const reviews = (JSON.parse(listed.stdout) as { reviews: { id: string; participantId: string }[] }).reviews;
    const p1 = reviews.find((r) => r.participantId === 'p1')!;
    const p2 = reviews.find((r) => r.participantId === 'p2')!;
    const text = await runCli(['reviews'], env);
    expect(text.stdout).toContain(p1.id);

    const badBan = await runCli(['review', 'approve', p1.id, '--ban', '400d'], env);
    expect(badBan.code).toBe(2);
    expect(badBan.stderr).toMatch(/--ban must be at most 365 days/);

    const approved = await runCli(['review', 'approve', p1.id, '--ban', '24h', '--note', 'repeat offender', '--json'], env);
    expect(approved.code, approved.stderr).toBe(0);
    const { removalJobId } = JSON.parse(approved.stdout) as { removalJobId: string };
    const job = await h.api('GET', `/v1/jobs/${removalJobId}`);
    expect((job.body as { data: unknown }).data).toMatchObject({ requestedBy: 'operator:carol', rule: 'doubtful-language' });
    const bans = await h.api('GET', '/v1/bans?participantId=p1');
    const [ban] = (bans.body as { bans: { by: string; until: string | null; scope: string }[] }).bans;
    expect(ban).toMatchObject({ by: 'operator:carol' });
    expect(Date.parse(ban!.until!) - Date.now()).toBeGreaterThan(23.9 * 3600_000);

    const again = await runCli(['review', 'dismiss', p1.id], env);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already approved/);

    const dismissed = await runCli(['review', 'dismiss', p2.id, '--note', 'ok'], env);
    expect(dismissed.code).toBe(0);
    expect(dismissed.stdout).toMatch(/dismissed/);
    const unknown = await runCli(['review', 'approve', 'nope'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no review item nope/);
  });
});
