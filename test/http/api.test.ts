import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView } from '../../src/removals/job-view.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

const TOKEN = 'api-test-token-0123456789';
let h: Harness;
beforeAll(async () => {
  h = await startHarness('http-api', { AUTOMOD_API_TOKEN: TOKEN });
});
afterAll(async () => {
  await h?.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const api = (method: string, path: string, body?: unknown) => h.api(method, path, body, auth);

async function settled(ids: readonly string[]): Promise<JobView[]> {
  return waitFor(
    async () => {
      const views = await Promise.all(ids.map(async (id) => (await api('GET', `/v1/jobs/${id}`)).body as JobView));
      return views.every((v) => v.state === 'completed' || v.state === 'failed') ? views : undefined;
    },
    10_000,
    'removals to finish',
  );
}

describe('POST /v1/removals', () => {
  it('takes a list and answers 202 with one job id per removal', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'a' }, { participantId: 'b' }] });
    const res = await api('POST', '/v1/removals', {
      removals: [
        { sessionId: sid, participantId: 'a', reason: 'spam' },
        { sessionId: sid, participantId: 'b', meetingId: 'room' },
      ],
    });
    expect(res.status).toBe(202);
    const ids = (res.body as { jobs: string[] }).jobs;
    expect(ids).toHaveLength(2);
    const views = await settled(ids);
    expect(views.map((v) => [v.outcome, (v.data as { participantId: string }).participantId])).toEqual([
      ['removed', 'a'],
      ['removed', 'b'],
    ]);
    // AUTOMOD_API_TOKEN is the admin token named `api`.
    expect(views[0]!.data).toMatchObject({ reason: 'spam', requestedBy: 'token:api', verifyFirst: true });
    expect(views[1]!.data).toMatchObject({ meetingId: 'room', reason: 'removed by an operator' });
  });

  it('with all: true removes everyone active except the exceptions', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: ['host', 'mod', 'x', 'y', 'z'].map((participantId) => ({ participantId })) });
    h.simulator.leave(sid, 'z');
    const res = await api('POST', '/v1/removals', {
      sessionId: sid,
      all: true,
      except: ['host', 'mod', 'not-in-session'],
      reason: 'closing the room',
    });
    expect(res.status).toBe(202);
    const body = res.body as { jobs: string[]; details: { participantId: string }[]; skipped: string[] };
    expect(body.details.map((d) => d.participantId).sort()).toEqual(['x', 'y']);
    expect(body.skipped.sort()).toEqual(['host', 'mod']);
    await settled(body.jobs);
    const active = h.simulator
      .getSession(sid)!
      .participants.filter((p) => p.timelog.at(-1)?.end === null)
      .map((p) => p.participantId);
    expect(active.sort()).toEqual(['host', 'mod']);
  });

  it('answers 400 with the path of each problem, and 404 for a session VideoSDK does not know', async () => {
    const cases: [unknown, string][] = [
      [{ removals: [] }, '$.removals'],
      [{ removals: [{ sessionId: 's' }] }, '$.removals[0].participantId'],
      [
        {
          removals: [
            { sessionId: 's', participantId: 'p' },
            { sessionId: '', participantId: 'p' },
          ],
        },
        '$.removals[1].sessionId',
      ],
      [{ sessionId: 's', all: false }, '$.all'],
      [{ removals: Array.from({ length: 10_001 }, () => ({ sessionId: 's', participantId: 'p' })) }, '$.removals'],
      [[1, 2], '$'],
    ];
    for (const [body, path] of cases) {
      const res = await api('POST', '/v1/removals', body);
      expect(res.status, JSON.stringify(body).slice(0, 80)).toBe(400);
      const answer = res.body as { error: string; details: { path: string }[] };
      expect(answer.error).toMatch(/^invalid removal/);
      expect(
        answer.details.map((d) => d.path),
        JSON.stringify(answer),
      ).toContain(path);
    }
    const unknown = await api('POST', '/v1/removals', { sessionId: 'no-such-session', all: true });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'VideoSDK does not know session no-such-session' });
  });

  it('enqueues 10,000 removals in one request (chunks of addBulk), none lost', async () => {
    await h.automod.services.queues.removals.pause();
    try {
      const sid = sessionId();
      const removals = Array.from({ length: 10_000 }, (_, i) => ({ sessionId: sid, participantId: `bulk-${i}` }));
      expect(JSON.stringify({ removals }).length).toBeLessThan(1024 * 1024);
      const res = await api('POST', '/v1/removals', { removals });
      expect(res.status).toBe(202);
      const ids = (res.body as { jobs: string[] }).jobs;
      expect(new Set(ids).size).toBe(10_000);
      const listed = await api('GET', `/v1/jobs?state=paused&sessionId=${sid}&limit=10000`);
      expect((listed.body as { jobs: unknown[]; truncated: boolean }).jobs).toHaveLength(10_000);
      await h.automod.services.queues.removals.drain();
    } finally {
      await h.automod.services.queues.removals.resume();
    }
  });
});

describe('GET /v1/jobs, /v1/jobs/:id, /v1/sessions/:id', () => {
  it('answers the job shape of the contract, 404 for unknown ids and sessions, 400 for a bad state', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'j1' }] });
    const posted = await api('POST', '/v1/removals', { removals: [{ sessionId: sid, participantId: 'j1' }] });
    const [id] = (posted.body as { jobs: string[] }).jobs as [string];
    const [view] = await settled([id]);
    expect(Object.keys(view!).sort()).toEqual(
      ['attemptsMade', 'createdAt', 'data', 'detail', 'finishedAt', 'id', 'outcome', 'queue', 'state'].sort(),
    );
    expect(view).toMatchObject({ id, queue: 'removals', state: 'completed', attemptsMade: 1, outcome: 'removed', detail: {} });

    const listed = await api('GET', `/v1/jobs?sessionId=${sid}`);
    expect(listed.body).toEqual({ jobs: [view], truncated: false });
    expect((await api('GET', '/v1/jobs?state=lost')).status).toBe(400);
    expect((await api('GET', '/v1/jobs/no-such-job')).status).toBe(404);
    expect((await api('GET', '/v1/jobs/no-such-job')).body).toMatchObject({ error: 'no job no-such-job' });

    const session = await api('GET', `/v1/sessions/${sid}`);
    expect(session.status).toBe(200);
    expect(session.body).toMatchObject({
      sessionId: sid,
      session: { id: sid },
      updatedAt: expect.any(String),
      removals: [
        { participantId: 'j1', outcome: 'removed', reason: 'removed by an operator', rule: null, jobId: id, at: expect.any(String) },
      ],
    });
    expect((await api('GET', '/v1/sessions/never-seen')).status).toBe(404);
  });
});

describe('GET /v1/audit', () => {
  it('filters by session, participant, rule, mode, kind and time, newest first', async () => {
    const sid = sessionId();
    h.simulator.addSession({
      id: sid,
      meetingId: 'room-audit',
      participants: [
        { participantId: 'imp', name: 'Admin Joe' },
        { participantId: 'ok', name: 'Kim' },
      ],
    });
    const events = [
      {
        id: `${sid}-1`,
        type: 'participant-joined',
        meetingId: 'room-audit',
        sessionId: sid,
        participantId: 'imp',
        participantName: 'Admin Joe',
        data: { role: 'participant' },
      },
      {
        id: `${sid}-2`,
        type: 'participant-joined',
        meetingId: 'room-audit',
        sessionId: sid,
        participantId: 'ok',
        participantName: 'Kim',
        data: { role: 'participant' },
      },
    ];
    expect((await api('POST', '/v1/events', events)).status).toBe(202);
    await waitFor(
      async () => {
        const res = await api('GET', `/v1/audit?sessionId=${sid}&kind=removal`);
        return (res.body as { records: unknown[] }).records.length > 0 ? true : undefined;
      },
      10_000,
      'the removal record',
    );

    const query = async (q: string) => {
      const res = await api('GET', `/v1/audit?sessionId=${sid}${q}`);
      expect(res.status, q).toBe(200);
      return (
        res.body as {
          records: {
            at: string;
            kind: string;
            rule?: string;
            participantId?: string;
            outcome?: string;
            mode?: string;
            attempts?: unknown[];
          }[];
        }
      ).records;
    };
    const all = await query('');
    expect(all.map((r) => r.kind)).toEqual(expect.arrayContaining(['rule-hit', 'removal']));
    expect([...all].sort((a, b) => b.at.localeCompare(a.at))).toEqual(all);
    const hit = all.find((r) => r.kind === 'rule-hit')!;
    expect(hit).toMatchObject({ participantId: 'imp', mode: 'enforce', rule: expect.stringMatching(/^impersonating-staff/) });
    const removal = all.find((r) => r.kind === 'removal')!;
    expect(removal).toMatchObject({ participantId: 'imp', outcome: 'removed', rule: hit.rule });
    expect(removal.attempts?.length).toBeGreaterThan(0);

    expect((await query('&participantId=ok')).length).toBe(0);
    expect((await query(`&rule=${hit.rule}`)).every((r) => r.rule === hit.rule)).toBe(true);
    expect((await query('&mode=shadow')).length).toBe(0);
    expect((await query('&mode=enforce')).map((r) => r.kind)).toEqual(['rule-hit']);
    expect((await query('&since=5m')).length).toBe(all.length);
    expect((await query(`&until=${Date.parse(all.at(-1)!.at) - 1}`)).length).toBe(0);
    expect((await query('&limit=1')).length).toBe(1);

    for (const bad of ['mode=bogus', 'limit=0', 'limit=5000', 'since=the%20dawn%20of%20time']) {
      const res = await api('GET', `/v1/audit?${bad}`);
      expect(res.status, bad).toBe(400);
      expect((res.body as { error: string }).error).toEqual(expect.any(String));
    }
  });
});
