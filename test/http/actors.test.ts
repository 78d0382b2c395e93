import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/removals/job-view.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { tokensFixture, type TokensFixture } from '../helpers/tokens.js';

const RULES = fileURLToPath(new URL('../fixtures/review-rules', import.meta.url));

interface AuditRecord {
  kind: string;
  outcome?: string;
  requestedBy?: string;
  meetingId?: string;
  participantId?: string;
  sessionId?: string;
  jobId?: string;
}

/**
 * Who did it, as the audit trail and the records say: the caller's token name (`token:<name>`), for
 * each kind of action a person takes over HTTP, never a name typed beside it and never the token.
 */
describe('the actor of every action is the token that asked for it', () => {
  let h: Harness;
  let fixture: TokensFixture;
  const sid = sessionId();
  const as = (name: string) => (method: string, path: string, body?: unknown) => h.api(method, path, body, fixture.bearer(name));
  const alice = as('alice');
  const oncall = as('oncall');
  const producer = as('app-backend');
  const audit = async (query: string) => ((await alice('GET', `/v1/audit?${query}`)).body as { records: AuditRecord[] }).records;

  beforeAll(async () => {
    fixture = await tokensFixture({ alice: 'moderator', oncall: 'operator', 'app-backend': 'ingest' });
    h = await startHarness('actors', { AUTOMOD_RULES: RULES, AUTOMOD_TOKENS_FILE: fixture.path });
    h.simulator.addSession({
      id: sid,
      meetingId: 'room-actors',
      participants: [{ participantId: 'p-scam' }, { participantId: 'p-raid-1' }, { participantId: 'p-raid-2' }],
    });
  });
  afterAll(async () => {
    await h?.close();
    await fixture?.cleanup();
  });

  it('a review decision: token:alice decided, and asked for the removal', async () => {
    const posted = await producer('POST', '/v1/events', {
      id: `${sid}-1`,
      type: 'chat-message',
      meetingId: 'room-actors',
      sessionId: sid,
      participantId: 'p-scam',
      data: { text: 'free money, no scam' },
    });
    expect(posted.status).toBe(202);
    const item = await waitFor(async () => {
      const pending = (await alice('GET', '/v1/reviews?state=pending')).body as { reviews: { id: string; sessionId: string }[] };
      return pending.reviews.find((r) => r.sessionId === sid);
    });
    const approved = await alice('POST', `/v1/reviews/${item.id}/approve`, { note: 'clear scam' });
    expect(approved.status).toBe(200);
    const { review, removalJobId } = approved.body as { review: { decidedBy: string }; removalJobId: string };
    expect(review.decidedBy).toBe('token:alice');
    const job = (await alice('GET', `/v1/jobs/${removalJobId}`)).body as JobView;
    expect(job.data).toMatchObject({ requestedBy: 'token:alice' });
    expect(await audit(`sessionId=${sid}&kind=review`)).toEqual([
      expect.objectContaining({ outcome: 'approved', requestedBy: 'token:alice' }),
    ]);
  });

  it('a ban and its lifting: token:alice', async () => {
    const made = await alice('POST', '/v1/bans', { participantId: 'p-banned', meetingId: 'room-actors', for: '1h', reason: 'raid bot' });
    expect(made.status).toBe(201);
    expect((made.body as { ban: { by: string } }).ban.by).toBe('token:alice');
    expect((await alice('DELETE', '/v1/bans/room-actors/p-banned')).status).toBe(204);
    const records = await audit('participantId=p-banned');
    expect(records.map((r) => [r.kind, r.outcome, r.requestedBy])).toEqual([
      ['unban', 'lifted', 'token:alice'],
      ['ban', 'banned', 'token:alice'],
    ]);
  });

  it('a lockdown: token:alice locked, admitted and lifted', async () => {
    const locked = await alice('POST', '/v1/lockdowns', { meetingId: 'room-actors-2', for: '10m', reason: 'raid' });
    expect(locked.status).toBe(201);
    expect((locked.body as { lockdown: { by: string } }).lockdown.by).toBe('token:alice');
    expect((await alice('POST', '/v1/lockdowns/room-actors-2/admit', { participantIds: ['friend'] })).status).toBe(200);
    expect((await alice('DELETE', '/v1/lockdowns/room-actors-2')).status).toBe(204);
    const records = await audit('kind=lockdown');
    // (The worker's own notes, such as "no live session", name nobody.)
    const people = records.filter((r) => r.meetingId === 'room-actors-2' && r.requestedBy !== undefined);
    expect(people.map((r) => r.requestedBy)).toEqual(['token:alice', 'token:alice', 'token:alice']);
    expect(people.map((r) => r.outcome)).toEqual(expect.arrayContaining(['locked']));
  });

  it('a removal: token:oncall asked for it (and a moderator may not)', async () => {
    const refused = await alice('POST', '/v1/removals', { removals: [{ sessionId: sid, participantId: 'p-raid-1' }] });
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ code: 'ERR_FORBIDDEN', role: 'operator' });
    const asked = await oncall('POST', '/v1/removals', { removals: [{ sessionId: sid, participantId: 'p-raid-1', reason: 'raid' }] });
    expect(asked.status).toBe(202);
    const [jobId] = (asked.body as { jobs: string[] }).jobs;
    const job = await waitFor(async () => {
      const view = (await oncall('GET', `/v1/jobs/${jobId}`)).body as JobView;
      return view.outcome ? view : undefined;
    });
    expect(job).toMatchObject({ outcome: 'removed', data: { requestedBy: 'token:oncall' } });
    expect(await audit(`sessionId=${sid}&participantId=p-raid-1&kind=removal`)).toEqual([
      expect.objectContaining({ outcome: 'removed', requestedBy: 'token:oncall' }),
    ]);
  });

  it('a pause and a resume: token:oncall, as /readyz and the audit say', async () => {
    expect((await alice('POST', '/v1/pause', { reason: 'incident 42' })).status).toBe(403);
    const paused = await oncall('POST', '/v1/pause', { reason: 'incident 42' });
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ paused: true, pause: { reason: 'incident 42', kind: 'operator' }, wasPaused: null });
    const ready = await h.api('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect((ready.body as { reasons: string[] }).reasons).toContain('removals paused (operator): incident 42');
    expect(await h.automod.services.queues.removals.isPaused()).toBe(true);
    const resumed = await oncall('POST', '/v1/resume');
    expect(resumed.body).toMatchObject({ paused: false, wasPaused: { reason: 'incident 42', kind: 'operator' } });
    expect(await h.automod.services.queues.removals.isPaused()).toBe(false);
    const records = await audit('since=1h');
    expect(records.filter((r) => r.kind === 'pause' || r.kind === 'resume').map((r) => [r.kind, r.requestedBy])).toEqual([
      ['resume', 'token:oncall'],
      ['pause', 'token:oncall'],
    ]);
  });

  it('a re-arm and an undo: token:oncall', async () => {
    expect((await oncall('POST', '/v1/rules/doubtful-language/rearm')).body).toMatchObject({ rearmed: false });
    const undone = await oncall('POST', '/v1/undo', { rule: 'doubtful-language', dryRun: true });
    expect(undone.status).toBe(200);
  });

  it('no token reaches the audit trail', async () => {
    const all = JSON.stringify(await audit('limit=1000'));
    expect(all).toContain('token:alice');
    for (const token of Object.values(fixture.tokens)) expect(all).not.toContain(token);
  });
});
