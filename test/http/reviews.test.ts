import { createHmac } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

const RULES = fileURLToPath(new URL('../fixtures/review-rules', import.meta.url));
const NOTIFY_SECRET = 'notify-secret-for-tests';

interface Review {
  id: string;
  state: string;
  rule: string;
  participantId: string;
  participantName?: string;
  evidence: { text?: string; matched?: string[]; counts?: Record<string, number> }[];
  hits: number;
  expiresAt: string;
  createdAt: string;
}

describe('review queue over HTTP, with signed notifications', () => {
  let h: Harness;
  let receiver: Receiver;
  beforeAll(async () => {
    receiver = await startReceiver();
    h = await startHarness('reviews', {
      AUTOMOD_RULES: RULES,
      AUTOMOD_NOTIFY_URLS: receiver.url,
      AUTOMOD_NOTIFY_SECRET: NOTIFY_SECRET,
    });
  });
  afterAll(async () => {
    await h?.close();
    receiver?.server.close();
  });

  const chat = (sid: string, id: string, participantId: string, text: string, participantName = 'Mallory') => ({
    id,
    type: 'chat-message',
    meetingId: 'room-r',
    sessionId: sid,
    participantId,
    participantName,
    data: { text },
  });

  async function pendingFor(sid: string): Promise<Review[]> {
    const res = await h.api('GET', '/v1/reviews?state=pending');
    expect(res.status).toBe(200);
    return (res.body as { reviews: (Review & { sessionId: string })[] }).reviews.filter((r) => r.sessionId === sid);
  }

  it('holds a hit as one pending item per participant + session + rule, with the matched words as evidence', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-r', participants: [{ participantId: 'p-bad', name: 'Mallory' }] });
    await h.api('POST', '/v1/events', [
      chat(sid, `${sid}-1`, 'p-bad', 'this is no SCAM, honest'),
      chat(sid, `${sid}-2`, 'p-bad', 'get free money here'),
      chat(sid, `${sid}-3`, 'p-bad', 'see http://example.test'),
    ]);
    const items = await waitFor(async () => {
      const found = await pendingFor(sid);
      return found.length === 1 && found[0]!.hits === 2 ? found : undefined;
    });
    const item = items[0]!;
    expect(item).toMatchObject({ rule: 'doubtful-language', participantId: 'p-bad', participantName: 'Mallory', state: 'pending' });
    expect(item.evidence.map((e) => e.matched)).toEqual([['scam'], ['free money']]);
    expect(Date.parse(item.expiresAt) - Date.parse(item.createdAt)).toBe(24 * 3600 * 1000);
    // The shadow review rule only records what it would have done.
    const audit = await h.api('GET', `/v1/audit?sessionId=${sid}&rule=shadow-review-links`);
    expect((audit.body as { records: { outcome: string }[] }).records.map((r) => r.outcome)).toEqual(['would-review']);

    // Who decides is the caller's token, never a name typed beside it (this worker takes no token: `api`).
    const named = await h.api('POST', `/v1/reviews/${item.id}/approve`, { note: 'clear scam', by: 'Alice' });
    expect(named.status).toBe(400);
    expect((named.body as { error: string }).error).toBe(
      'invalid decision: $.by: is not taken: the token names who decides (recorded as token:<name>) (the body takes "note" and "ban")',
    );
    // The moderator approves: a removal job like the rule's, requested by the moderator.
    const approved = await h.api('POST', `/v1/reviews/${item.id}/approve`, { note: 'clear scam' });
    expect(approved.status).toBe(200);
    const { review, removalJobId } = approved.body as { review: Review & { decidedBy: string }; removalJobId: string };
    expect(review).toMatchObject({ state: 'approved', decidedBy: 'api', note: 'clear scam' });
    const job = await waitFor(async () => {
      const res = await h.api('GET', `/v1/jobs/${removalJobId}`);
      const body = res.body as { outcome: string | null; data: Record<string, unknown> };
      return body.outcome ? body : undefined;
    });
    expect(job.outcome).toBe('removed');
    expect(job.data).toMatchObject({ rule: 'doubtful-language', reason: 'Possible scam', requestedBy: 'api' });
    expect(h.simulator.calls().filter((c) => c.operation === 'remove' && c.sessionId === sid && c.applied)).toHaveLength(1);

    // Decided once: a second approval or a dismissal is refused with 409, and nothing is queued again.
    expect((await h.api('POST', `/v1/reviews/${item.id}/approve`, {})).status).toBe(409);
    const again = await h.api('POST', `/v1/reviews/${item.id}/dismiss`, {});
    expect(again.status).toBe(409);
    expect((again.body as { error: string }).error).toMatch(/already approved/);
    const decisions = await h.api('GET', `/v1/audit?sessionId=${sid}&kind=review`);
    expect((decisions.body as { records: { outcome: string; requestedBy: string }[] }).records).toEqual([
      expect.objectContaining({ outcome: 'approved', requestedBy: 'api' }),
    ]);

    // Signed notifications arrived for the new item and the removal's final outcome.
    const got = await waitFor(() => {
      const types = receiver.received.map((r) => JSON.parse(r.body) as { type: string; text: string });
      return types.some((t) => t.type === 'removal.completed') ? receiver.received : undefined;
    });
    for (const r of got) {
      expect(r.signature).toBe(`sha256=${createHmac('sha256', NOTIFY_SECRET).update(r.body).digest('hex')}`);
    }
    const bodies = got.map((r) => JSON.parse(r.body) as { type: string; text: string; at: string; review?: { id: string } });
    const created = bodies.find((b) => b.type === 'review.created' && b.review?.id === item.id);
    expect(created?.text).toMatch(/Review needed: Mallory/);
    expect(bodies.find((b) => b.type === 'removal.completed')).toMatchObject({ removal: { jobId: removalJobId, outcome: 'removed' } });
  });

  it('concurrent decisions: exactly one wins', async () => {
    const sid = sessionId();
    await h.api('POST', '/v1/events', [chat(sid, `${sid}-1`, 'p-x', 'scam')]);
    const [item] = await waitFor(async () => ((await pendingFor(sid)).length === 1 ? pendingFor(sid) : undefined));
    const answers = await Promise.all(
      Array.from({ length: 8 }, (_, i) => h.api('POST', `/v1/reviews/${item!.id}/${i % 2 ? 'dismiss' : 'approve'}`, {})),
    );
    expect(answers.filter((a) => a.status === 200)).toHaveLength(1);
    expect(answers.filter((a) => a.status === 409)).toHaveLength(7);
  });

  it('dismisses with a note; refuses unknown ids, unknown body fields and bad bans', async () => {
    const sid = sessionId();
    await h.api('POST', '/v1/events', [chat(sid, `${sid}-1`, 'p-y', 'scam?', 'Bob')]);
    const [item] = await waitFor(async () => ((await pendingFor(sid)).length === 1 ? pendingFor(sid) : undefined));
    const bad = await h.api('POST', `/v1/reviews/${item!.id}/dismiss`, { note: 'fine', reason: 'x' });
    expect(bad.status).toBe(400);
    expect((bad.body as { error: string }).error).toMatch(/reason/);
    const badBan = await h.api('POST', `/v1/reviews/${item!.id}/approve`, { ban: '400d' });
    expect(badBan.status).toBe(400);
    expect((badBan.body as { error: string }).error).toMatch(/ban must be at most 365 days/);
    expect((await h.api('POST', `/v1/reviews/${item!.id}/approve`, { ban: 'forever' })).status).toBe(400);
    const dismissed = await h.api('POST', `/v1/reviews/${item!.id}/dismiss`, { note: 'a joke among friends' });
    expect(dismissed.status).toBe(200);
    expect(dismissed.body).toMatchObject({ review: { state: 'dismissed', note: 'a joke among friends', decidedBy: 'api' } });
    expect(dismissed.body).not.toHaveProperty('removalJobId');
    expect((await h.api('GET', `/v1/reviews/${item!.id}`)).body).toMatchObject({ state: 'dismissed' });
    expect((await h.api('GET', '/v1/reviews/no-such-item')).status).toBe(404);
    expect((await h.api('POST', '/v1/reviews/no-such-item/approve', {})).status).toBe(404);
    expect((await h.api('GET', '/v1/reviews?state=maybe')).status).toBe(400);
    // A later hit after the decision makes a new item.
    await h.api('POST', '/v1/events', [chat(sid, `${sid}-2`, 'p-y', 'scam again', 'Bob')]);
    await waitFor(async () => ((await pendingFor(sid)).length === 1 ? true : undefined));
  });

  it('exposes pending items and decision latency on /metrics', async () => {
    const metrics = (await h.api('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/^automod_reviews_pending \d+/m);
    expect(metrics).toMatch(/^automod_review_decision_seconds_count\{decision="approved"\} [1-9]/m);
  });
});
