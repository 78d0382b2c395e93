import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, runJobs } from '../../../src/cli/commands/jobs.js';
import { runReplay } from '../../../src/cli/commands/replay.js';
import type { JobView } from '../../../src/removals/job-view.js';
import { replayFilterSchema, type ReplayResult } from '../../../src/removals/replay.js';
import { sessionId, startHarness, waitFor, type Harness } from '../../helpers/harness.js';
import { captureIo } from '../../helpers/io.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('replay', { AUTOMOD_REMOVAL_ATTEMPTS: '2', VIDEOSDK_TIMEOUT_MS: '400' });
});
afterAll(async () => {
  await h?.close();
});

async function job(id: string): Promise<JobView> {
  const res = await h.api('GET', `/v1/jobs/${id}`);
  expect(res.status).toBe(200);
  return res.body as JobView;
}

async function waitForState(ids: readonly string[], state: string): Promise<JobView[]> {
  return waitFor(
    async () => {
      const views = await Promise.all(ids.map(job));
      // The outcome is recorded just after the job reaches its final state: wait for both.
      return views.every((v) => v.state === state && v.outcome !== null) ? views : undefined;
    },
    15_000,
    `jobs ${state}`,
  );
}

function removeCalls(sid: string, participantId?: string) {
  return h.simulator
    .calls()
    .filter((c) => c.operation === 'remove' && c.sessionId === sid && (participantId === undefined || c.participantId === participantId));
}

describe('replay after an outage', () => {
  it('lists failed removals, replays them once each, and a second replay changes nothing', async () => {
    const sid = sessionId();
    const people = ['p1', 'p2', 'p3', 'p4', 'p5'];
    h.simulator.addSession({ id: sid, meetingId: 'room-replay', participants: people.map((participantId) => ({ participantId })) });
    h.simulator.addFault({ sessionId: sid, status: 503, times: Infinity });

    const posted = await h.api('POST', '/v1/removals', {
      removals: people.map((participantId) => ({ sessionId: sid, participantId, reason: 'outage drill' })),
    });
    expect(posted.status).toBe(202);
    const ids = (posted.body as { jobs: string[] }).jobs;
    expect(ids).toHaveLength(5);

    const failed = await waitForState(ids, 'failed');
    for (const view of failed) {
      expect(view).toMatchObject({ outcome: 'failed', attemptsMade: 2, detail: { status: 503 } });
    }
    expect(removeCalls(sid)).toHaveLength(0);

    // What an operator sees: `automod jobs --state failed --session S --json`.
    const io = captureIo();
    expect(await runJobs(h.automod.services, { state: 'failed', session: sid, limit: 100, json: true }, io)).toBe(0);
    const listed = JSON.parse(io.out()) as JobView[];
    expect(listed.map((v) => v.id).sort()).toEqual([...ids].sort());
    expect(listed.every((v) => v.state === 'failed' && v.outcome === 'failed')).toBe(true);

    // A dry run lists and changes nothing.
    const dry = await h.api('POST', '/v1/replay', { sessionId: sid, dryRun: true });
    expect(dry.status).toBe(200);
    expect((dry.body as ReplayResult).replayed.map((r) => r.jobId).sort()).toEqual([...ids].sort());
    expect((dry.body as ReplayResult).replayed.every((r) => r.status === 503 && r.attemptsMade === 2)).toBe(true);
    expect((await Promise.all(ids.map(job))).every((v) => v.state === 'failed')).toBe(true);

    // The outage ends; p5 left on their own meanwhile.
    h.simulator.clearFaults();
    h.simulator.leave(sid, 'p5');

    // Two operators replay at the same moment (HTTP and CLI): every job runs once.
    const cliIo = captureIo();
    const [viaHttp, viaCli] = await Promise.all([
      h.api('POST', '/v1/replay', { sessionId: sid }),
      runReplay(
        h.automod.services,
        replayFilterSchema.parse({ sessionId: sid }),
        { json: true, wait: false, timeout: 0, requestedBy: 'operator:test' },
        cliIo,
      ),
    ]);
    expect(viaHttp.status).toBe(200);
    expect(viaCli).toBe(0);
    const httpResult = viaHttp.body as ReplayResult;
    const cliResult = JSON.parse(cliIo.out()) as ReplayResult;
    const replayed = [...httpResult.replayed, ...cliResult.replayed].map((r) => r.jobId);
    expect(new Set(replayed).size).toBe(replayed.length);
    expect(replayed.sort()).toEqual([...ids].sort());

    const done = await waitForState(ids, 'completed');
    const byParticipant = new Map(done.map((v) => [(v.data as { participantId: string }).participantId, v]));
    for (const p of ['p1', 'p2', 'p3', 'p4']) expect(byParticipant.get(p)).toMatchObject({ outcome: 'removed', attemptsMade: 1 });
    expect(byParticipant.get('p5')).toMatchObject({ outcome: 'already-gone', attemptsMade: 1 });
    for (const p of ['p1', 'p2', 'p3', 'p4']) expect(removeCalls(sid, p).filter((c) => c.applied)).toHaveLength(1);
    expect(removeCalls(sid, 'p5')).toHaveLength(0);

    // Replaying again finds nothing to do and sends nothing.
    const before = removeCalls(sid).length;
    const again = await h.api('POST', '/v1/replay', { sessionId: sid });
    expect((again.body as ReplayResult).replayed).toEqual([]);
    const byId = await h.api('POST', '/v1/replay', { jobId: ids });
    expect((byId.body as ReplayResult).replayed).toEqual([]);
    // A replay puts a job back in line before it answers: every job still finished, none can call again.
    expect((await Promise.all(ids.map(job))).map((v) => v.state)).toEqual(ids.map(() => 'completed'));
    const queued = await h.automod.services.queues.removals.getJobs(['waiting', 'active', 'delayed', 'prioritized']);
    expect(queued.filter((j) => (j.data as { sessionId?: string }).sessionId === sid)).toEqual([]);
    expect(removeCalls(sid)).toHaveLength(before);

    // The audit trail says who replayed what.
    const audit = await h.api('GET', `/v1/audit?sessionId=${sid}&kind=replay`);
    const records = (audit.body as { records: { jobId: string; requestedBy: string }[] }).records;
    expect(records.map((r) => r.jobId).sort()).toEqual([...ids].sort());
    for (const r of records) expect(['api', 'operator:test']).toContain(r.requestedBy);
  });

  it('a job whose lost POST removed the participant ends already-gone on replay, with no second remove call', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-lost', participants: [{ participantId: 'q1' }, { participantId: 'q2' }] });
    // Try 1: the POST takes effect but its answer never comes (timeout). Try 2: VideoSDK is down.
    h.simulator.addFault({ sessionId: sid, operation: 'remove', applyThenHang: true, delayMs: 2000, times: 1 });
    const posted = await h.api('POST', '/v1/removals', { removals: [{ sessionId: sid, participantId: 'q1' }] });
    const [id] = (posted.body as { jobs: string[] }).jobs as [string];
    await waitFor(
      () =>
        h.simulator
          .getSession(sid)
          ?.participants.find((p) => p.participantId === 'q1')
          ?.timelog.at(-1)?.end
          ? true
          : undefined,
      5000,
      'the lost POST to apply',
    );
    h.simulator.addFault({ sessionId: sid, operation: 'get-session', status: 503, times: Infinity });
    const [failed] = await waitForState([id], 'failed');
    expect(failed).toMatchObject({ outcome: 'failed', detail: { status: 503 } });
    expect(removeCalls(sid, 'q1')).toHaveLength(1);

    h.simulator.clearFaults();
    const replay = await h.api('POST', '/v1/replay', { jobId: id, status: 503 });
    expect((replay.body as ReplayResult).replayed.map((r) => r.jobId)).toEqual([id]);
    const [done] = await waitForState([id], 'completed');
    expect(done).toMatchObject({ outcome: 'already-gone', attemptsMade: 1 });
    expect(removeCalls(sid, 'q1')).toHaveLength(1);

    // `automod job ID` shows the calls of every run, the failed ones before the replay included.
    const jobIo = captureIo();
    expect(await runJob(h.automod.services, id, { json: true }, jobIo)).toBe(0);
    const shown = (JSON.parse(jobIo.out()) as { attempts: { method: string; status?: number }[] }).attempts;
    expect(shown.filter((a) => a.method === 'POST')).toHaveLength(1);
    expect(shown.filter((a) => a.method === 'GET' && a.status === 503).length).toBeGreaterThanOrEqual(1);
    expect(shown.at(-1)).toMatchObject({ method: 'GET', status: 200 });
    expect(
      h.simulator
        .getSession(sid)
        ?.participants.find((p) => p.participantId === 'q2')
        ?.timelog.at(-1)?.end,
    ).toBeNull();
  });

  it('filters by status, participant and time, and refuses bad filters with 400', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'r1' }, { participantId: 'r2' }] });
    h.simulator.addFault({ sessionId: sid, participantId: 'r1', operation: 'remove', status: 500, times: Infinity });
    h.simulator.addFault({ sessionId: sid, participantId: 'r2', operation: 'remove', status: 502, times: Infinity });
    const posted = await h.api('POST', '/v1/removals', {
      removals: [
        { sessionId: sid, participantId: 'r1' },
        { sessionId: sid, participantId: 'r2' },
      ],
    });
    const ids = (posted.body as { jobs: string[] }).jobs;
    await waitForState(ids, 'failed');

    const dry = async (filter: Record<string, unknown>) => {
      const res = await h.api('POST', '/v1/replay', { sessionId: sid, dryRun: true, ...filter });
      expect(res.status).toBe(200);
      return (res.body as ReplayResult).replayed.map((r) => r.participantId).sort();
    };
    expect(await dry({})).toEqual(['r1', 'r2']);
    expect(await dry({ status: 502 })).toEqual(['r2']);
    expect(await dry({ participantId: 'r1' })).toEqual(['r1']);
    expect(await dry({ since: '10m' })).toEqual(['r1', 'r2']);
    expect(await dry({ until: '10m' })).toEqual([]);
    expect(await dry({ since: new Date(Date.now() + 60_000).toISOString() })).toEqual([]);
    expect(await dry({ rule: 'no-such-rule' })).toEqual([]);
    expect(await dry({ state: 'delayed' })).toEqual([]);

    for (const bad of [{ state: 'completed' }, { since: 'yesterday-ish' }, { status: 42 }, { surprise: true }]) {
      const res = await h.api('POST', '/v1/replay', { sessionId: sid, dryRun: true, ...bad });
      expect(res.status, JSON.stringify(bad)).toBe(400);
      expect((res.body as { error: string }).error).toEqual(expect.any(String));
    }

    // `automod replay --wait` follows the replay to its outcomes; still failing: exit 1.
    const io = captureIo();
    const code = await runReplay(
      h.automod.services,
      replayFilterSchema.parse({ sessionId: sid, participantId: 'r2' }),
      { json: false, wait: true, timeout: 15, requestedBy: 'operator:test' },
      io,
    );
    expect(code).toBe(1);
    expect(io.out()).toMatch(/replayed 1 failed job\(s\)/);
    expect(io.out()).toMatch(/failed: 1/);
  });
});

describe('replay of a removal waiting out a long backoff', () => {
  let slow: Harness;
  beforeAll(async () => {
    slow = await startHarness('replay-delayed', {
      AUTOMOD_REMOVAL_ATTEMPTS: '3',
      AUTOMOD_BACKOFF_MS: '60000',
      AUTOMOD_BACKOFF_MAX_MS: '60000',
    });
  });
  afterAll(async () => {
    await slow?.close();
  });

  it('runs it now as a new job with a fresh attempt count, and removes once', async () => {
    const sid = sessionId();
    slow.simulator.addSession({ id: sid, meetingId: 'room-delayed', participants: [{ participantId: 'd1' }] });
    slow.simulator.addFault({ sessionId: sid, status: 503, times: 1 });
    const posted = await slow.api('POST', '/v1/removals', { removals: [{ sessionId: sid, participantId: 'd1' }] });
    const [id] = (posted.body as { jobs: string[] }).jobs;
    const queue = slow.automod.services.queues.removals;
    const delayed = await waitFor(
      async () => {
        const j = await queue.getJob(id!);
        return j && (await j.getState()) === 'delayed' ? j : undefined;
      },
      10_000,
      'the job to wait out its backoff',
    );
    expect(delayed.attemptsMade).toBe(1);

    const io = captureIo();
    const code = await runReplay(
      slow.automod.services,
      replayFilterSchema.parse({ state: 'delayed', sessionId: sid }),
      { json: true, wait: true, timeout: 15, requestedBy: 'operator:test' },
      io,
    );
    expect(code).toBe(0);
    const result = JSON.parse(io.out()) as ReplayResult & { outcomes: { jobId: string; outcome: string }[] };
    expect(result.replayed).toHaveLength(1);
    const replayJobId = result.replayed[0]!.replayJobId!;
    expect(replayJobId).toEqual(expect.any(String));
    expect(replayJobId).not.toBe(id);
    expect(result.outcomes).toEqual([expect.objectContaining({ jobId: replayJobId, outcome: 'removed' })]);

    // The new job made one try; the old one is gone; one remove call took effect.
    const view = await waitFor(
      async () => {
        const res = await slow.api('GET', `/v1/jobs/${replayJobId}`);
        const body = res.body as JobView;
        return body.state === 'completed' ? body : undefined;
      },
      5000,
      'the replay job to complete',
    );
    expect(view).toMatchObject({ outcome: 'removed', attemptsMade: 1, data: { verifyFirst: true } });
    expect(await queue.getJob(id!)).toBeUndefined();
    expect(slow.simulator.calls().filter((c) => c.operation === 'remove' && c.sessionId === sid && c.applied)).toHaveLength(1);
    // The trail says which job carries the replay.
    const audit = await slow.automod.services.audit.query({ sessionId: sid });
    expect(audit.find((r) => r.kind === 'replay')).toMatchObject({ jobId: id, detail: { state: 'delayed', attemptsMade: 1, replayJobId } });
  });
});
