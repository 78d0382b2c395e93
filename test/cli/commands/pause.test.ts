import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPause, runResume } from '../../../src/cli/commands/pause.js';
import type { JobView } from '../../../src/removals/job-view.js';
import { sessionId, startHarness, waitFor, type Harness } from '../../helpers/harness.js';
import { captureIo } from '../../helpers/io.js';

const TOKEN = 'pause-test-token';
let h: Harness;
beforeAll(async () => {
  h = await startHarness('pause', { AUTOMOD_API_TOKEN: TOKEN });
});
afterAll(async () => {
  await h?.close();
});

const auth = { authorization: `Bearer ${TOKEN}` };
const api = (method: string, path: string, body?: unknown) => h.api(method, path, body, auth);
const now = () => new Date().toISOString();

async function readyz(): Promise<{ status: number; reasons: string[]; paused?: { kind: string; reason: string } }> {
  const res = await h.api('GET', '/readyz');
  return { ...(res.body as { reasons: string[]; paused?: { kind: string; reason: string } }), status: res.status };
}

async function dashboardRemovals(): Promise<{ isPaused: boolean; counts: Record<string, number> }> {
  const res = await api('GET', '/admin/queues/api/queues');
  expect(res.status).toBe(200);
  const queue = (res.body as { queues: { name: string; isPaused: boolean; counts: Record<string, number> }[] }).queues.find(
    (q) => q.name === 'removals',
  );
  return queue!;
}

async function job(id: string): Promise<JobView> {
  return (await api('GET', `/v1/jobs/${id}`)).body as JobView;
}

function inSession(sid: string, participantId: string): boolean {
  return (
    h.simulator
      .getSession(sid)
      ?.participants.find((p) => p.participantId === participantId)
      ?.timelog.at(-1)?.end === null
  );
}

describe('pause and resume', () => {
  it('automod pause stops removals on every worker and shows on /readyz and the dashboard; resume carries on', async () => {
    expect((await readyz()).status).toBe(200);
    await runPause(h.automod.services, { reason: 'investigating complaints', requestedBy: 'operator:test', at: now() }, captureIo());
    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.reasons).toEqual(['removals paused (operator): investigating complaints']);
    expect(ready.paused).toMatchObject({ kind: 'operator', reason: 'investigating complaints' });
    expect((await dashboardRemovals()).isPaused).toBe(true);
    // Liveness is not readiness.
    expect((await h.api('GET', '/healthz')).status).toBe(200);

    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'held' }] });
    const posted = await api('POST', '/v1/removals', { removals: [{ sessionId: sid, participantId: 'held' }] });
    const [id] = (posted.body as { jobs: string[] }).jobs as [string];
    // Queued into the paused list, which no worker takes from until a resume.
    expect(await job(id)).toMatchObject({ state: 'paused', attemptsMade: 0, outcome: null });
    expect(inSession(sid, 'held')).toBe(true);
    expect(h.simulator.calls().filter((c) => c.sessionId === sid)).toHaveLength(0);

    await runResume(h.automod.services, { requestedBy: 'operator:test', at: now() }, captureIo());
    await waitFor(async () => ((await job(id)).outcome === 'removed' ? true : undefined), 5000, 'the removal after resume');
    expect((await readyz()).status).toBe(200);
    expect((await dashboardRemovals()).isPaused).toBe(false);

    const audit = await api('GET', '/v1/audit?limit=10');
    const kinds = (audit.body as { records: { kind: string; requestedBy?: string }[] }).records.filter(
      (r) => r.kind === 'pause' || r.kind === 'resume',
    );
    expect(kinds.slice(0, 2)).toEqual([
      expect.objectContaining({ kind: 'resume', requestedBy: 'operator:test' }),
      expect.objectContaining({ kind: 'pause', requestedBy: 'operator:test' }),
    ]);
  });

  it('a pause from the dashboard shows on /readyz too, and automod resume undoes it', async () => {
    const paused = await api('PUT', '/admin/queues/api/queues/removals/pause', {});
    expect(paused.status).toBe(200);
    const ready = await readyz();
    expect(ready.status).toBe(503);
    expect(ready.reasons[0]).toMatch(/removals queue is paused without a recorded reason/);
    const io = captureIo();
    await runResume(h.automod.services, { requestedBy: 'operator:test', at: now() }, io);
    expect(io.out()).toContain('the queue was paused without a recorded reason');
    expect((await readyz()).status).toBe(200);
  });
});

describe('credential rotation', () => {
  it('a refused credential pauses removals without burning the job; resume after the fix removes once', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'r1' }, { participantId: 'r2' }] });
    h.simulator.setCredentialValid(false);
    const posted = await api('POST', '/v1/removals', {
      removals: [
        { sessionId: sid, participantId: 'r1' },
        { sessionId: sid, participantId: 'r2' },
      ],
    });
    const ids = (posted.body as { jobs: string[] }).jobs;

    const ready = await waitFor(
      async () => {
        const r = await readyz();
        return r.status === 503 ? r : undefined;
      },
      5000,
      'the credential pause',
    );
    expect(ready.paused?.kind).toBe('credential');
    expect(ready.reasons[0]).toMatch(/^removals paused \(credential\): VideoSDK refused the credential \(HTTP 401\)/);
    expect((await dashboardRemovals()).isPaused).toBe(true);
    await waitFor(
      async () => ((await Promise.all(ids.map(job))).every((v) => v.state === 'paused') ? true : undefined),
      5000,
      'jobs back in the queue',
    );
    for (const id of ids) expect(await job(id)).toMatchObject({ state: 'paused', outcome: null });

    // The operator fixes the credential (here: VideoSDK accepts it again) and resumes.
    h.simulator.setCredentialValid(true);
    const io = captureIo();
    await runResume(h.automod.services, { requestedBy: 'operator:test', at: now() }, io);
    expect(io.out()).toMatch(/were paused \(credential\)/);
    await waitFor(
      async () => ((await Promise.all(ids.map(job))).every((v) => v.outcome === 'removed') ? true : undefined),
      5000,
      'the removals',
    );
    for (const p of ['r1', 'r2']) {
      expect(
        h.simulator.calls().filter((c) => c.operation === 'remove' && c.sessionId === sid && c.participantId === p && c.applied),
      ).toHaveLength(1);
    }
    expect((await readyz()).status).toBe(200);
  });
});
