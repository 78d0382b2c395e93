import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

describe('the rule budget (blast radius)', () => {
  let h: Harness;
  let hook: Receiver;
  beforeAll(async () => {
    hook = await startReceiver();
    h = await startHarness('rule-budget', { AUTOMOD_RULES: 'test/fixtures/budget-rules', AUTOMOD_NOTIFY_URLS: hook.url });
  });
  afterAll(async () => {
    await h?.close();
    hook?.server.close();
  });

  it('a rule that matches everyone removes its budget, then trips: the rest held for review, told, shown, until re-armed', async () => {
    const sid = sessionId();
    const people = Array.from({ length: 7 }, (_, i) => `p${i}`);
    h.simulator.addSession({ id: sid, meetingId: 'room-budget', participants: people.map((p) => ({ participantId: p })) });
    const joins = people.map((p) => ({
      type: 'participant-joined',
      meetingId: 'room-budget',
      sessionId: sid,
      participantId: p,
      data: { role: p === 'p0' ? 'host' : 'participant' },
    }));
    expect((await h.api('POST', '/v1/events', joins.slice(0, 6))).status).toBe(202);

    // Exactly the budget's 3 are taken out; the other 3 are held for a moderator.
    const held = await waitFor(
      async () => {
        const { body } = await h.api('GET', '/v1/reviews?state=pending');
        const reviews = (body as { reviews: { participantId: string; rule: string }[] }).reviews.filter(
          (r) => r.rule === 'remove-everyone',
        );
        return reviews.length === 3 ? reviews : undefined;
      },
      10_000,
      'three review items',
    );
    const removals = await waitFor(async () => {
      const r = (await h.automod.services.sessions.get(sid))?.removals ?? [];
      return r.length === 3 ? r : undefined;
    });
    expect(new Set([...removals.map((r) => r.participantId), ...held.map((r) => r.participantId)])).toEqual(new Set(people.slice(0, 6)));
    const records = (await h.api('GET', `/v1/audit?sessionId=${sid}&rule=remove-everyone&kind=rule-hit`)).body as {
      records: { outcome: string; detail?: { budget?: string; tripped?: boolean; reviewId?: string } }[];
    };
    expect(records.records.filter((r) => r.outcome === 'queued')).toHaveLength(3);
    const heldRecords = records.records.filter((r) => r.outcome === 'held-for-review');
    expect(heldRecords).toHaveLength(3);
    expect(heldRecords[0]!.detail).toEqual(expect.objectContaining({ budget: '3/60s', tripped: true, reviewId: expect.any(String) }));
    // The held ones were not banned; the removed ones were (the rule says so, and a host is refused).
    const { body: bansBody } = await h.api('GET', '/v1/bans');
    const banned = (bansBody as { bans: { participantId: string }[] }).bans.map((b) => b.participantId);
    for (const r of held) expect(banned).not.toContain(r.participantId);

    // Tripped: said once to the moderators, shown by the API and the metric.
    const tripped = await waitFor(
      () =>
        hook
          .bodies()
          .filter((b) => b.type === 'rule.tripped')
          .at(0),
      10_000,
      'the rule.tripped notification',
    );
    expect(tripped).toEqual(expect.objectContaining({ rule: 'remove-everyone', budget: '3/60s', sessionId: sid }));
    const list = (await h.api('GET', '/v1/rules/tripped')).body as { tripped: { rule: string; budget: string; until: string }[] };
    expect(list.tripped).toEqual([expect.objectContaining({ rule: 'remove-everyone', budget: '3/60s' })]);
    expect(String((await h.api('GET', '/metrics')).body)).toMatch(/automod_rule_tripped\{rule="remove-everyone"\} 1/);

    // A seventh join while tripped: held too, no new trip notification.
    expect((await h.api('POST', '/v1/events', joins[6])).status).toBe(202);
    await waitFor(async () => {
      const { body } = await h.api('GET', '/v1/reviews?state=pending');
      return (body as { reviews: { participantId: string }[] }).reviews.some((r) => r.participantId === 'p6') ? true : undefined;
    });
    expect(hook.bodies().filter((b) => b.type === 'rule.tripped')).toHaveLength(1);

    // Re-armed by an operator: the next join is removed again.
    const rearm = await h.api('POST', '/v1/rules/remove-everyone/rearm');
    expect(rearm).toEqual({ status: 200, body: expect.objectContaining({ rule: 'remove-everyone', rearmed: true }) });
    expect((await h.api('GET', '/v1/rules/tripped')).body).toEqual({ tripped: [] });
    expect(String((await h.api('GET', '/metrics')).body)).toMatch(/automod_rule_tripped\{rule="remove-everyone"\} 0/);
    h.simulator.addSession({ id: `${sid}-2`, meetingId: 'room-budget', participants: [{ participantId: 'late' }] });
    await h.api('POST', '/v1/events', {
      type: 'participant-joined',
      meetingId: 'room-budget',
      sessionId: `${sid}-2`,
      participantId: 'late',
    });
    await waitFor(async () => ((await h.automod.services.sessions.get(`${sid}-2`))?.removals.length === 1 ? true : undefined));
    expect((await h.api('POST', '/v1/rules/remove-everyone/rearm')).body).toEqual({ rule: 'remove-everyone', rearmed: false });
    const audit = (await h.api('GET', '/v1/audit?rule=remove-everyone&kind=rule-rearmed')).body as { records: { requestedBy: string }[] };
    expect(audit.records).toEqual([expect.objectContaining({ requestedBy: 'api' })]);
  });

  it('a rule ban from an event without meetingId is keyed by the meeting, so the gate and the rejoin find it', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-resolve', participants: [{ participantId: 'troll' }] });
    // No meetingId on the event: the worker asks VideoSDK which meeting the session is in.
    await h.api('POST', '/v1/events', { type: 'chat-message', sessionId: sid, participantId: 'troll', data: { text: 'a forbidden word' } });
    const ban = await waitFor(async () => {
      const { body } = await h.api('GET', '/v1/bans/check?meetingId=room-resolve&participantId=troll');
      return (body as { banned: boolean }).banned ? body : undefined;
    });
    expect(ban).toEqual(expect.objectContaining({ banned: true, scope: 'meeting', rule: 'word-ban' }));
    expect((await h.api('GET', `/v1/bans/check?meetingId=${sid}&participantId=troll`)).body).toEqual({ banned: false });
  });

  it('refuses a rule name that is no rule name', async () => {
    const bad = await h.api('POST', '/v1/rules/Not%20A%20Rule/rearm');
    expect(bad.status).toBe(400);
  });
});
