import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutomod, type RunningAutomod } from '../../src/app/automod.js';
import { createLogger } from '../../src/shared/logger.js';
import { partitionOf } from '../../src/shared/partitions.js';
import type { AuditRecord } from '../../src/store/audit.js';
import { fired, send } from '../helpers/events.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

const rule = (name: string, word: string, params: Record<string, unknown>, mode = 'enforce') => ({
  name,
  mode,
  conditions: {
    all: [
      { fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' },
      { fact: 'event', path: '$.data.text', operator: 'equal', value: word },
    ],
  },
  event: { type: 'remove-participant', params: { reason: `${name} fired`, ...params } },
});

let rulesDir: string;
let h: Harness;
let seq = 0;

async function post(events: Record<string, unknown>[]) {
  const res = await h.api(
    'POST',
    '/v1/events',
    events.map((e) => ({ id: `ev-${seq++}-${Math.random()}`, ...e })),
  );
  expect(res.status).toBe(202);
}

const removalsOf = (sid: string, pid: string) => h.simulator.stats().removalsByParticipant[`${sid}/${pid}`] ?? 0;
const check = async (meetingId: string, participantId: string) =>
  (await h.api('GET', `/v1/bans/check?meetingId=${meetingId}&participantId=${participantId}`)).body as Record<string, unknown>;

beforeAll(async () => {
  rulesDir = await mkdtemp(join(tmpdir(), 'bans-rules-'));
  await writeFile(
    join(rulesDir, 'bans.json'),
    JSON.stringify([
      rule('short-ban', 'BANME', { banFor: '3s' }),
      rule('long-ban', 'BANLONG', { banFor: '1h', banScope: 'all' }),
      rule('shadow-ban', 'SHADOWBAN', { banFor: '1h' }, 'shadow'),
    ]),
  );
  h = await startHarness('bans', { AUTOMOD_RULES: rulesDir, AUTOMOD_PARTITIONS: '2' });
});
afterAll(async () => {
  await h?.close();
  await rm(rulesDir, { recursive: true, force: true });
});

describe('bans made by a rule', () => {
  it('ban -> rejoin removed on its join event -> expiry -> rejoin allowed; the gate agrees', async () => {
    const sid = sessionId();
    const meetingId = `room-${sid}`;
    h.simulator.addSession({ id: sid, meetingId, participants: [{ participantId: 'p1' }] });
    await post([{ type: 'chat-message', sessionId: sid, meetingId, participantId: 'p1', data: { text: 'BANME' } }]);
    await waitFor(() => (removalsOf(sid, 'p1') === 1 ? true : undefined), 10_000, 'first removal');
    const gate = await check(meetingId, 'p1');
    expect(gate).toMatchObject({ banned: true, scope: 'meeting', rule: 'short-ban', reason: 'short-ban fired' });
    expect(Date.parse(gate.until as string)).toBeGreaterThan(Date.now());
    // Another meeting is not covered by a meeting ban.
    expect(await check('room-other', 'p1')).toEqual({ banned: false });

    // The claim of the first removal is done; the join ends its window, so the ban removes again.
    h.simulator.join(sid, 'p1');
    await post([{ type: 'participant-joined', sessionId: sid, meetingId, participantId: 'p1', data: { role: 'participant' } }]);
    await waitFor(() => (removalsOf(sid, 'p1') === 2 ? true : undefined), 5000, 'rejoin removal');
    const audit = (await h.api('GET', `/v1/audit?sessionId=${sid}&rule=ban&kind=rule-hit`)).body as { records: AuditRecord[] };
    expect(audit.records[0]).toMatchObject({ rule: 'ban', participantId: 'p1', outcome: 'queued' });
    expect(audit.records[0]!.reason).toMatch(/^banned until \d{4}-.*Z: short-ban fired$/);

    // After the end (Redis expiry), the gate says no and a rejoin stays.
    await waitFor(async () => ((await check(meetingId, 'p1')).banned === false ? true : undefined), 6000, 'ban expiry');
    h.simulator.join(sid, 'p1');
    const [rejoin] = await send(h, [
      {
        id: `ev-${seq++}-rejoin`,
        type: 'participant-joined',
        sessionId: sid,
        meetingId,
        participantId: 'p1',
        data: { role: 'participant' },
      },
    ]);
    // Processed, and nothing fired on it (a ban's removal is a hit of the rule `ban`): no removal asked for.
    expect(fired(rejoin!)).toEqual([]);
    expect(removalsOf(sid, 'p1')).toBe(2);
    const bans = (await h.api('GET', `/v1/bans?participantId=p1`)).body as { bans: unknown[] };
    expect(bans.bans).toEqual([]);
  });

  it('shadow mode records would-ban and makes nothing; a host is not banned by a rule without banHosts', async () => {
    const sid = sessionId();
    const meetingId = `room-${sid}`;
    h.simulator.addSession({ id: sid, meetingId, participants: [{ participantId: 'p-sh' }, { participantId: 'p-host' }] });
    await post([
      { type: 'chat-message', sessionId: sid, meetingId, participantId: 'p-sh', data: { text: 'SHADOWBAN' } },
      { type: 'chat-message', sessionId: sid, meetingId, participantId: 'p-host', data: { text: 'BANLONG', role: 'host' } },
    ]);
    const records = await waitFor(
      async () => {
        const body = (await h.api('GET', `/v1/audit?sessionId=${sid}&kind=ban`)).body as { records: AuditRecord[] };
        return body.records.length === 2 ? body.records : undefined;
      },
      5000,
      'ban records',
    );
    expect(records.find((r) => r.participantId === 'p-sh')).toMatchObject({ outcome: 'would-ban', mode: 'shadow', rule: 'shadow-ban' });
    expect(records.find((r) => r.participantId === 'p-host')).toMatchObject({ outcome: 'refused-host', rule: 'long-ban' });
    expect(await check(meetingId, 'p-sh')).toEqual({ banned: false });
    expect(await check(meetingId, 'p-host')).toEqual({ banned: false });
  });

  it('undo lifts the bans of a rule, marks its records reverted and keeps them, lists whom it removed; dry run changes nothing', async () => {
    const sid = sessionId();
    const meetingId = `room-${sid}`;
    h.simulator.addSession({ id: sid, meetingId, participants: [{ participantId: 'p-u' }] });
    await post([{ type: 'chat-message', sessionId: sid, meetingId, participantId: 'p-u', data: { text: 'BANLONG' } }]);
    await waitFor(async () => {
      const body = (await h.api('GET', `/v1/audit?sessionId=${sid}&kind=removal`)).body as { records: AuditRecord[] };
      return body.records.some((r) => r.outcome === 'removed') ? true : undefined;
    });
    expect(await check('any-meeting', 'p-u')).toMatchObject({ banned: true, scope: 'all', rule: 'long-ban' });

    const dry = await h.api('POST', '/v1/undo', { rule: 'long-ban', since: '10m', dryRun: true });
    expect(dry.status).toBe(200);
    const dryBody = dry.body as {
      bans: { participantId: string }[];
      reverted: number;
      removed: { participantId: string; meetingId: string }[];
    };
    expect(dryBody.bans.map((b) => b.participantId)).toContain('p-u');
    expect(dryBody.removed).toContainEqual(expect.objectContaining({ participantId: 'p-u', meetingId, sessionId: sid }));
    expect(await check('any-meeting', 'p-u')).toMatchObject({ banned: true });

    const done = await h.api('POST', '/v1/undo', { rule: 'long-ban', since: '10m' });
    expect(done.status).toBe(200);
    expect((done.body as { reverted: number }).reverted).toBeGreaterThanOrEqual(2);
    expect((done.body as { note: string }).note).toMatch(/cannot be taken back/);
    expect(await check('any-meeting', 'p-u')).toEqual({ banned: false });
    const trail = (await h.api('GET', `/v1/audit?participantId=p-u&limit=100`)).body as { records: AuditRecord[] };
    expect(trail.records.filter((r) => r.kind === 'revert' && r.rule === 'long-ban').length).toBeGreaterThanOrEqual(2);
    expect(trail.records.some((r) => r.kind === 'rule-hit' && r.rule === 'long-ban')).toBe(true);
    expect(trail.records.some((r) => r.kind === 'unban' && r.outcome === 'lifted')).toBe(true);
    // A second undo finds nothing left to revert.
    const again = await h.api('POST', '/v1/undo', { rule: 'long-ban', since: '10m' });
    expect(again.body).toMatchObject({ bans: [], reverted: 0 });
  });
});

describe('operator bans over HTTP', () => {
  it('POST, GET, DELETE; 404 for a ban that does not exist; an operator may ban a host', async () => {
    const made = await h.api('POST', '/v1/bans', { participantId: 'p-op', meetingId: 'room-op', for: '24h', reason: 'trolling' });
    expect(made.status).toBe(201);
    expect((made.body as { ban: Record<string, unknown> }).ban).toMatchObject({
      participantId: 'p-op',
      scope: 'meeting',
      meetingId: 'room-op',
      reason: 'trolling',
      by: 'api',
    });
    const perm = await h.api('POST', '/v1/bans', { participantId: 'p-op', scope: 'all', for: 'permanent', reason: 'repeat' });
    expect(perm.status).toBe(201);
    expect(await check('room-x', 'p-op')).toEqual({ banned: true, until: null, reason: 'repeat', scope: 'all', rule: null });
    const listed = (await h.api('GET', '/v1/bans?participantId=p-op')).body as { bans: { scope: string }[] };
    expect(listed.bans.map((b) => b.scope).sort()).toEqual(['all', 'meeting']);
    const byMeeting = (await h.api('GET', '/v1/bans?meetingId=room-op')).body as { bans: { participantId: string }[] };
    expect(byMeeting.bans.map((b) => b.participantId)).toEqual(['p-op']);
    expect((await h.api('DELETE', '/v1/bans/all/p-op')).status).toBe(204);
    expect((await h.api('DELETE', '/v1/bans/all/p-op')).status).toBe(404);
    expect((await h.api('DELETE', '/v1/bans/room-op/p-op')).status).toBe(204);
    expect(await check('room-op', 'p-op')).toEqual({ banned: false });
    const trail = (await h.api('GET', '/v1/audit?participantId=p-op')).body as { records: AuditRecord[] };
    expect(trail.records.map((r) => `${r.kind}:${r.outcome}`).sort()).toEqual(['ban:banned', 'ban:banned', 'unban:lifted', 'unban:lifted']);
  });

  it.each([
    [{ participantId: 'p', meetingId: 'm', for: '0m' }, /longer than zero/],
    [{ participantId: 'p', meetingId: 'm', for: '-5m' }, /longer than zero/],
    [{ participantId: 'p', meetingId: 'm', for: 'soon' }, /duration like "10m"/],
    [{ participantId: 'p', meetingId: 'm', for: '366d' }, /at most 365 days/],
    [{ participantId: 'p', meetingId: 'm', scope: 'galaxy', for: '1h' }, /scope: must be "meeting" or "all"/],
    [{ participantId: 'p', for: '1h' }, /give "meetingId"/],
    [{ meetingId: 'm', for: '1h' }, /participantId: is required/],
    [{ participantId: 'p', meetingId: 'm' }, /for: is required/],
    [{ participantId: 'p', scope: 'all', meetingId: 'm', for: '1h' }, /takes no "meetingId"/],
  ])('refuses a bad ban %j with a clear 400', async (body, message) => {
    const res = await h.api('POST', '/v1/bans', body);
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toMatch(message);
  });

  it('the gate needs both ids; undo needs a rule', async () => {
    const res = await h.api('GET', '/v1/bans/check?meetingId=m');
    expect(res.status).toBe(400);
    expect((res.body as { error: string }).error).toMatch(/participantId: is required/);
    const undo = await h.api('POST', '/v1/undo', { dryRun: true });
    expect(undo.status).toBe(400);
    expect((undo.body as { error: string }).error).toMatch(/rule: is required/);
  });

  it('/metrics has the active bans gauge and the ban removals counter', async () => {
    const metrics = (await h.api('GET', '/metrics')).body as string;
    expect(metrics).toMatch(/^automod_bans_active \d+/m);
    expect(metrics).toMatch(/automod_ban_removals_total\{result="queued"\} [1-9]/);
  });
});

describe('two workers', () => {
  let second: RunningAutomod;
  afterAll(async () => {
    await second?.close();
  });

  it('each enforces the same ban on the partitions it consumes', async () => {
    // A second process (another consumer of partition 1 only) beside the harness's worker.
    second = await startAutomod(h.config, createLogger(h.config), { http: false, watchRules: false, partitions: [1] });
    const sessions: string[] = [];
    for (let k = 0; sessions.length < 2; k++) {
      const sid = sessionId();
      if (partitionOf(sid, 2) === sessions.length) sessions.push(sid);
    }
    const made = await h.api('POST', '/v1/bans', { participantId: 'p-2w', scope: 'all', for: '1h', reason: 'raid' });
    expect(made.status).toBe(201);
    for (const sid of sessions) h.simulator.addSession({ id: sid, meetingId: `room-${sid}`, participants: [{ participantId: 'p-2w' }] });
    await post(
      sessions.map((sid) => ({ type: 'participant-joined', sessionId: sid, meetingId: `room-${sid}`, participantId: 'p-2w', data: {} })),
    );
    for (const sid of sessions) await waitFor(() => (removalsOf(sid, 'p-2w') === 1 ? true : undefined), 5000, `removal in ${sid}`);
  });
});
