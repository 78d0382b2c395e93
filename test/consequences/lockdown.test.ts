import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { startReceiver, type Receiver } from '../helpers/receiver.js';

type Gate = { allowed: boolean; permission: string | null; reason: string | null; until: string | null };

describe('lockdown (raid mode) and the gate', () => {
  let h: Harness;
  let hook: Receiver;
  const removeCalls = (sid: string) => h.simulator.calls().filter((c) => c.sessionId === sid && c.operation === 'remove');
  const gate = async (meetingId: string, participantId: string) =>
    (await h.api('GET', `/v1/gate?meetingId=${meetingId}&participantId=${participantId}`)).body as Gate;

  beforeAll(async () => {
    hook = await startReceiver();
    h = await startHarness('lockdown', { AUTOMOD_NOTIFY_URLS: hook.url });
  });
  afterAll(async () => {
    await h?.close();
    hook?.server.close();
  });

  it('by hand: the gate refuses the unadmitted, their joins are removed, the regulars stay; admit, 409, lift', async () => {
    const sid = sessionId();
    const meeting = `m-${sid.slice(0, 8)}`;
    h.simulator.addSession({ id: sid, meetingId: meeting, participants: [{ participantId: 'host-1' }, { participantId: 'reg-1' }] });
    await h.api('POST', '/v1/events', {
      type: 'participant-joined',
      meetingId: meeting,
      sessionId: sid,
      participantId: 'host-1',
      data: { role: 'host' },
    });
    expect(await gate(meeting, 'newbie')).toEqual({ allowed: true, permission: 'allow_join', reason: null, until: null });

    const made = await h.api('POST', '/v1/lockdowns', { meetingId: meeting, for: '10m', reason: 'raid in progress' });
    expect(made.status).toBe(201);
    const lockdown = (made.body as { lockdown: { mode: string; until: string; by: string; reason: string } }).lockdown;
    expect(lockdown).toEqual(expect.objectContaining({ meetingId: meeting, mode: 'closed', by: 'api', reason: 'raid in progress' }));
    // The regular (in VideoSDK's session before the lockdown) and the host are admitted; nobody in it was removed.
    expect(await gate(meeting, 'reg-1')).toEqual({ allowed: true, permission: 'allow_join', reason: null, until: null });
    expect(await gate(meeting, 'host-1')).toEqual(expect.objectContaining({ allowed: true, reason: null }));
    expect(await gate(meeting, 'newbie')).toEqual({ allowed: false, permission: null, reason: 'lockdown', until: lockdown.until });
    expect(removeCalls(sid)).toEqual([]);

    // A raider holding a token minted before joins anyway: removed at once with rule lockdown.
    h.simulator.join(sid, 'raider-1');
    await h.api('POST', '/v1/events', { type: 'participant-joined', meetingId: meeting, sessionId: sid, participantId: 'raider-1' });
    const removal = await waitFor(async () =>
      (await h.automod.services.sessions.get(sid))?.removals.find((r) => r.participantId === 'raider-1'),
    );
    expect(removal).toEqual(
      expect.objectContaining({ rule: 'lockdown', outcome: 'removed', reason: expect.stringContaining('raid in progress') }),
    );
    // The regular chatting is untouched (their message is processed: a flag rule records it).
    await h.api('POST', '/v1/events', {
      type: 'chat-message',
      meetingId: meeting,
      sessionId: sid,
      participantId: 'reg-1',
      data: { text: 'what is going on, check out my channel' },
    });
    await waitFor(async () => {
      const { body } = await h.api('GET', `/v1/audit?sessionId=${sid}&participantId=reg-1`);
      return (body as { records: { rule?: string }[] }).records.some((r) => r.rule === 'spam-phrase') ? true : undefined;
    });

    // A ban wins over an admission.
    await h.api('POST', '/v1/bans', { participantId: 'reg-1', meetingId: meeting, for: '1h', reason: 'test' });
    expect(await gate(meeting, 'reg-1')).toEqual(expect.objectContaining({ allowed: false, reason: 'banned' }));
    await h.api('DELETE', `/v1/bans/${meeting}/reg-1`);

    expect((await h.api('POST', '/v1/lockdowns', { meetingId: meeting, for: '5m' })).status).toBe(409);
    expect((await h.api('POST', `/v1/lockdowns/${meeting}/admit`, { participantIds: ['newbie'] })).body).toEqual({ admitted: 1 });
    expect(await gate(meeting, 'newbie')).toEqual(expect.objectContaining({ allowed: true, permission: 'allow_join' }));
    const listed = (await h.api('GET', '/v1/lockdowns')).body as { lockdowns: { meetingId: string }[] };
    expect(listed.lockdowns.map((l) => l.meetingId)).toContain(meeting);
    expect(String((await h.api('GET', '/metrics')).body)).toMatch(/automod_lockdowns_active [1-9]/);

    expect((await h.api('DELETE', `/v1/lockdowns/${meeting}`)).status).toBe(204);
    expect((await h.api('DELETE', `/v1/lockdowns/${meeting}`)).status).toBe(404);
    expect(await gate(meeting, 'stranger')).toEqual({ allowed: true, permission: 'allow_join', reason: null, until: null });
    expect(removeCalls(sid).map((c) => c.participantId)).toEqual(['raider-1']);
    const told = await waitFor(() => {
      const types = hook
        .bodies()
        .filter((b) => (b.lockdown as { meetingId?: string } | undefined)?.meetingId === meeting)
        .map((b) => b.type);
      return types.includes('lockdown.ended') ? types : undefined;
    });
    // Delivered by a queue with several deliveries at once: in either order, each once.
    expect([...told].sort()).toEqual(['lockdown.ended', 'lockdown.started']);
  });

  it('a join wave locks the meeting (ask mode): the raiders are removed, the host and the regulars untouched', async () => {
    const sid = sessionId();
    const meeting = `w-${sid.slice(0, 8)}`;
    const before = new Date(Date.now() - 60_000).toISOString();
    const regulars = ['host-w', 'reg-a', 'reg-b', 'reg-c'];
    h.simulator.addSession({ id: sid, meetingId: meeting, participants: regulars.map((participantId) => ({ participantId })) });
    await h.api(
      'POST',
      '/v1/events',
      regulars.map((p) => ({
        type: 'participant-joined',
        meetingId: meeting,
        sessionId: sid,
        participantId: p,
        timestamp: before,
        data: { role: p === 'host-w' ? 'host' : 'participant' },
      })),
    );
    const bots = Array.from({ length: 40 }, (_, i) => `bot-${i}`);
    for (const b of bots) h.simulator.join(sid, b);
    const now = Date.now();
    await h.api(
      'POST',
      '/v1/events',
      bots.map((b, i) => ({
        type: 'participant-joined',
        meetingId: meeting,
        sessionId: sid,
        participantId: b,
        timestamp: new Date(now + i * 50).toISOString(),
      })),
    );
    const lockdown = await waitFor(async () => {
      const { body } = await h.api('GET', '/v1/lockdowns');
      return (body as { lockdowns: { meetingId: string; mode: string; rule?: string }[] }).lockdowns.find((l) => l.meetingId === meeting);
    });
    expect(lockdown).toEqual(expect.objectContaining({ mode: 'ask', rule: 'join-wave', by: 'rule:join-wave' }));
    await waitFor(
      async () => {
        const removed = new Set(
          ((await h.automod.services.sessions.get(sid))?.removals ?? []).filter((r) => r.outcome === 'removed').map((r) => r.participantId),
        );
        return bots.every((b) => removed.has(b)) ? true : undefined;
      },
      20_000,
      'every bot removed',
    );
    const calls = removeCalls(sid).map((c) => c.participantId);
    for (const r of regulars) expect(calls).not.toContain(r);
    // Every bot once: the purge and the joins' own checks collapse into one removal each.
    expect(h.simulator.stats().removalsApplied).toBeGreaterThanOrEqual(bots.length);
    for (const b of bots) expect(h.simulator.stats().removalsByParticipant[`${sid}/${b}`]).toBe(1);
    // In ask mode a newcomer is sent to the waiting room, and their join (let in there) then stands.
    expect(await gate(meeting, 'newcomer')).toEqual(expect.objectContaining({ allowed: true, permission: 'ask_join', reason: 'lockdown' }));
    h.simulator.join(sid, 'newcomer');
    await h.api('POST', '/v1/events', { type: 'participant-joined', meetingId: meeting, sessionId: sid, participantId: 'newcomer' });
    // Processed after the join (a flag rule records it): the newcomer was let stand, not removed.
    await h.api('POST', '/v1/events', {
      type: 'chat-message',
      meetingId: meeting,
      sessionId: sid,
      participantId: 'newcomer',
      data: { text: 'check out my channel' },
    });
    const records = await waitFor(async () => {
      const { body } = await h.api('GET', `/v1/audit?sessionId=${sid}&participantId=newcomer`);
      const found = (body as { records: { rule?: string }[] }).records;
      return found.some((r) => r.rule === 'spam-phrase') ? found : undefined;
    });
    // (The join may count in the wave's window again: `join-wave` then records `already-locked`.)
    expect(records.map((r) => r.rule)).not.toContain('lockdown');
    expect(removeCalls(sid).map((c) => c.participantId)).not.toContain('newcomer');
    await h.api('DELETE', `/v1/lockdowns/${meeting}`);
  });

  it('with endSession the live session ends in one call; rejoining raiders are removed, the admitted come back', async () => {
    const sid = sessionId();
    const meeting = `e-${sid.slice(0, 8)}`;
    h.simulator.addSession({ id: sid, meetingId: meeting, participants: [{ participantId: 'reg-e' }, { participantId: 'bot-e1' }] });
    await h.api('POST', '/v1/events', {
      type: 'participant-joined',
      meetingId: meeting,
      sessionId: sid,
      participantId: 'reg-e',
      timestamp: new Date(Date.now() - 120_000).toISOString(),
    });
    await h.api('POST', '/v1/events', { type: 'participant-joined', meetingId: meeting, sessionId: sid, participantId: 'bot-e1' });
    // Both joins processed (recorded for admission) before the lockdown: nothing is left to remove but by the session's end.
    const { redis, keys } = h.automod.services;
    await waitFor(async () =>
      (await redis.hmget(keys.meetingMembers(meeting), 'j:reg-e', 'j:bot-e1')).every((v) => v !== null) ? true : undefined,
    );
    const made = await h.api('POST', '/v1/lockdowns', { meetingId: meeting, for: '10m', endSession: true, admitJoinedBefore: '1m' });
    expect(made.body).toEqual(expect.objectContaining({ effects: expect.objectContaining({ sessionEnded: true, removals: 0 }) }));
    expect(h.simulator.getSession(sid)!.end).not.toBeNull();
    expect(h.simulator.calls().filter((c) => c.operation === 'end-session')).toHaveLength(1);
    expect(removeCalls(sid)).toEqual([]);

    // A raider's join of the ended session handled late (a raid's joins are still on their way):
    // they left with the session, so no remove call is spent on them.
    await h.api('POST', '/v1/events', { type: 'participant-joined', meetingId: meeting, sessionId: sid, participantId: 'bot-e2' });
    const late = await waitFor(async () => {
      const records = (await h.automod.services.audit.query({ sessionId: sid, participantId: 'bot-e2' })).filter(
        (r) => r.rule === 'lockdown',
      );
      return records.length > 0 ? records : undefined;
    });
    expect(late.map((r) => r.outcome)).toEqual(['session-ended']);
    // A removal of the ended session not yet sent (a rule's, queued before the end) sends nothing.
    const queued = await h.automod.services.requester.request({
      sessionId: sid,
      participantId: 'bot-e3',
      meetingId: meeting,
      reason: 'spam',
      requestedBy: 'test',
      rule: 'spam',
    });
    const outcome = await waitFor(async () => (await h.automod.services.outcomes.getOutcome(queued.jobId))?.outcome);
    expect(outcome).toBe('already-gone');
    expect(removeCalls(sid)).toEqual([]);

    // Both come back into a new session of the room: only the admitted one stays.
    const next = sessionId();
    h.simulator.addSession({ id: next, meetingId: meeting, participants: [{ participantId: 'reg-e' }, { participantId: 'bot-e1' }] });
    for (const p of ['reg-e', 'bot-e1'])
      await h.api('POST', '/v1/events', { type: 'participant-joined', meetingId: meeting, sessionId: next, participantId: p });
    await waitFor(async () => ((await h.automod.services.sessions.get(next))?.removals.length === 1 ? true : undefined));
    expect(removeCalls(next).map((c) => c.participantId)).toEqual(['bot-e1']);
    await h.api('DELETE', `/v1/lockdowns/${meeting}`);
  });

  it('refuses bad requests by naming the field', async () => {
    expect((await h.api('POST', '/v1/lockdowns', { meetingId: 'x', for: 'soon' })).status).toBe(400);
    expect((await h.api('POST', '/v1/lockdowns', { meetingId: 'x', for: '10m', mode: 'open' })).body).toEqual(
      expect.objectContaining({ error: expect.stringContaining('mode') }),
    );
    expect((await h.api('GET', '/v1/gate?meetingId=x')).status).toBe(400);
    expect((await h.api('POST', '/v1/lockdowns/nowhere/admit', { participantIds: ['a'] })).status).toBe(404);
  });
});
