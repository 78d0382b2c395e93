import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startAutomod } from '../../src/app/automod.js';
import { createLogger } from '../../src/shared/logger.js';
import type { RemovalJobData } from '../../src/removals/removal-job.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';
import { callShapes, callsOf, removalSettled } from '../helpers/removals.js';

type Version = 'v1' | 'v2';

function request(h: Harness, data: Partial<RemovalJobData> & { sessionId: string; participantId: string }) {
  return h.automod.services.requester.request({ reason: 'test removal', requestedBy: 'test', ...data });
}

describe.each(['v1', 'v2'] as const)('removal processor against the simulator (%s)', (version: Version) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(`removals-${version}`, { VIDEOSDK_API_VERSION: version });
  });
  afterAll(async () => {
    await h?.close();
  });
  beforeEach(() => {
    h.simulator.clearFaults();
    h.simulator.setCredentialValid(true);
  });

  /** A session with a target and a bystander; `meetingId` is the room. */
  function session(): { sid: string; room: string } {
    const sid = sessionId();
    const room = `room-${sid.slice(0, 6)}`;
    h.simulator.addSession({
      id: sid,
      meetingId: room,
      participants: [
        { participantId: 'target', name: 'Mallory' },
        { participantId: 'bystander', name: 'Bob' },
      ],
    });
    return { sid, room };
  }

  it('2xx: removed, one POST, the returned session recorded', async () => {
    const { sid, room } = session();
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: room, rule: 'r1' });
    const done = await removalSettled(h, jobId);
    expect(done).toMatchObject({ state: 'completed', attemptsMade: 1, outcome: { outcome: 'removed' } });

    // The room is known, so nothing is fetched first: one POST and done.
    const calls = callsOf(h, sid);
    expect(callShapes(calls)).toEqual(['POST 200']);
    expect(calls[0]!.applied).toBe(true);
    if (version === 'v2') expect(calls[0]!.body).toEqual({ participantId: 'target', roomId: room, sessionId: sid });
    else expect(calls[0]!.body).toEqual({ participantId: 'target' });

    const recorded = await h.automod.services.sessions.get(sid);
    const stored = recorded?.session as { participants: { participantId: string; timelog: { end: string | null }[] }[] };
    expect(stored.participants.find((p) => p.participantId === 'target')?.timelog.at(-1)?.end).not.toBeNull();
    expect(stored.participants.find((p) => p.participantId === 'bystander')?.timelog.at(-1)?.end).toBeNull();
    expect(recorded?.jobId).toBe(jobId);
    expect(recorded?.removals).toEqual([expect.objectContaining({ participantId: 'target', outcome: 'removed', rule: 'r1', jobId })]);
    expect(
      h.simulator
        .getSession(sid)
        ?.participants.find((p) => p.participantId === 'bystander')
        ?.timelog.at(-1)?.end,
    ).toBeNull();
  });

  it("2xx with the SDK's confirmation message instead of a session: removed, the state recorded from a fetch", async () => {
    const { sid, room } = session();
    h.simulator.addFault({ sessionId: sid, removeAnswer: 'message' });
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    expect(await removalSettled(h, jobId)).toMatchObject({ state: 'completed', attemptsMade: 1, outcome: { outcome: 'removed' } });
    expect(callShapes(callsOf(h, sid))).toEqual(['POST 200', 'GET 200']);
    const stored = (await h.automod.services.sessions.get(sid))?.session as {
      participants: { participantId: string; timelog: { end: string | null }[] }[];
    };
    expect(stored.participants.find((p) => p.participantId === 'target')?.timelog.at(-1)?.end).not.toBeNull();
  });

  it('confirmation messages in a burst: one session read a second, and the last shows every removal', async () => {
    const { sid, room } = session();
    const extra = ['p3', 'p4', 'p5', 'p6'];
    for (const id of extra) h.simulator.join(sid, id);
    h.simulator.addFault({ sessionId: sid, removeAnswer: 'message', times: Infinity });
    const who = ['target', 'bystander', ...extra];
    const jobs = await Promise.all(who.map((participantId) => request(h, { sessionId: sid, participantId, meetingId: room })));
    for (const { jobId } of jobs)
      expect(await removalSettled(h, jobId)).toMatchObject({ state: 'completed', outcome: { outcome: 'removed' } });
    // Six removals within about a second: one read at once, one more when the second is up (it
    // used to be one read a removal), and the snapshot it writes shows all six gone.
    const stored = await waitFor(
      async () => {
        const record = (await h.automod.services.sessions.get(sid))?.session as
          { participants: { participantId: string; timelog: { end: string | null }[] }[] } | undefined;
        const gone = who.filter((id) => record?.participants.find((p) => p.participantId === id)?.timelog.at(-1)?.end);
        return gone.length === who.length ? record : undefined;
      },
      5000,
      'a snapshot showing every removal',
    );
    expect(stored.participants).toHaveLength(6);
    // A removal's own read is made before its job finishes, so all of those are in the log by now;
    // the read the once-a-second rule put off comes when the second is up: wait for it.
    const reads = () => callShapes(callsOf(h, sid)).filter((c) => c === 'GET 200').length;
    await expect.poll(reads, { timeout: 5000 }).toBeGreaterThanOrEqual(2);
    expect(callShapes(callsOf(h, sid)).filter((c) => c === 'POST 200')).toHaveLength(6);
    // Two, or three when a slow machine spreads the burst over two seconds; six before.
    expect(reads()).toBeLessThanOrEqual(3);
  });

  it('404 for a participant who already left: already-gone after a fetch', async () => {
    const { sid, room } = session();
    h.simulator.leave(sid, 'target');
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    const done = await removalSettled(h, jobId);
    expect(done).toMatchObject({ state: 'completed', outcome: { outcome: 'already-gone' } });
    expect(callShapes(callsOf(h, sid))).toEqual(['POST 404', 'GET 200']);
    expect(callsOf(h, sid).some((c) => c.applied)).toBe(false);
  });

  it('402 is read like 404: already-gone when the session shows the participant left, rejected when still there', async () => {
    const { sid, room } = session();
    h.simulator.leave(sid, 'target');
    h.simulator.addFault({ operation: 'remove', sessionId: sid, status: 402 });
    const gone = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    expect(await removalSettled(h, gone.jobId)).toMatchObject({ state: 'completed', outcome: { outcome: 'already-gone' } });
    expect(callShapes(callsOf(h, sid))).toEqual(['POST 402', 'GET 200']);

    const { sid: other, room: otherRoom } = session();
    h.simulator.addFault({ operation: 'remove', sessionId: other, status: 402 });
    const still = await request(h, { sessionId: other, participantId: 'target', meetingId: otherRoom });
    expect(await removalSettled(h, still.jobId)).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      outcome: { outcome: 'rejected', status: 402 },
    });
    expect(callShapes(callsOf(h, other))).toEqual(['POST 402', 'GET 200']);
  });

  it('an unknown session is rejected with 404', async () => {
    const sid = sessionId();
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: 'room-x' });
    const done = await removalSettled(h, jobId);
    expect(done).toMatchObject({ state: 'failed', attemptsMade: 1, outcome: { outcome: 'rejected', status: 404 } });
    expect(done.outcome?.message).toContain('unknown');
    // Rejected: nothing else is tried.
    expect(callsOf(h, sid).filter((c) => c.method === 'POST')).toHaveLength(1);
  });

  it.each([400, 422])('%i is rejected with status and message, and never retried', async (status) => {
    const { sid, room } = session();
    h.simulator.addFault({ operation: 'remove', sessionId: sid, status, body: { message: `refused with ${status}` } });
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    const done = await removalSettled(h, jobId);
    expect(done).toMatchObject({
      state: 'failed',
      attemptsMade: 1,
      outcome: { outcome: 'rejected', status, message: `refused with ${status}` },
    });
    expect(callShapes(callsOf(h, sid))).toEqual([`POST ${status}`]);
    // The claim is released: a later request for the participant makes a new job.
    const again = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    expect(again).toMatchObject({ collapsed: false });
    expect(again.jobId).not.toBe(jobId);
    await removalSettled(h, again.jobId);
  });

  it('500, 502, 503 then success: removed, with a state check before each resend', async () => {
    const { sid, room } = session();
    for (const status of [500, 502, 503]) h.simulator.addFault({ operation: 'remove', sessionId: sid, status });
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    const done = await removalSettled(h, jobId);
    expect(done).toMatchObject({ state: 'completed', attemptsMade: 4, outcome: { outcome: 'removed' } });
    expect(callShapes(callsOf(h, sid))).toEqual(['POST 500', 'GET 200', 'POST 502', 'GET 200', 'POST 503', 'GET 200', 'POST 200']);
    expect(callsOf(h, sid).filter((c) => c.applied)).toHaveLength(1);
    const attempts = await h.automod.services.outcomes.attempts(jobId);
    expect(attempts.map((a) => a.status)).toEqual([500, 200, 502, 200, 503, 200, 200]);
  });

  it('429 with Retry-After rate-limits the whole queue until it has passed', async () => {
    const { sid, room } = session();
    h.simulator.addFault({ operation: 'remove', sessionId: sid, status: 429, retryAfter: '1' });
    const first = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    const limited = await waitFor(() => callsOf(h, sid).find((c) => c.status === 429), 5000, 'the 429');
    // Another removal asked for after the 429 waits for the Retry-After too.
    const { sid: other, room: otherRoom } = session();
    const second = await request(h, { sessionId: other, participantId: 'target', meetingId: otherRoom });

    expect(await removalSettled(h, first.jobId)).toMatchObject({ state: 'completed', outcome: { outcome: 'removed' } });
    expect(await removalSettled(h, second.jobId)).toMatchObject({ state: 'completed', outcome: { outcome: 'removed' } });
    const retry = callsOf(h, sid).filter((c) => c.at > limited.at);
    expect(callShapes(retry)).toEqual(['GET 200', 'POST 200']);
    // Retry-After is whole seconds; allow the clock's rounding, not an early retry.
    expect(retry[0]!.at - limited.at).toBeGreaterThanOrEqual(950);
    const otherFirst = callsOf(h, other)[0]!;
    expect(otherFirst.at - limited.at).toBeGreaterThanOrEqual(950);
  });

  it('a POST that took effect but answered after the timeout: one applied POST, outcome removed', async () => {
    const { sid, room } = session();
    h.simulator.addFault({ operation: 'remove', sessionId: sid, applyThenHang: true, delayMs: 1500 });
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    const done = await removalSettled(h, jobId);
    expect(done).toMatchObject({ state: 'completed', attemptsMade: 2, outcome: { outcome: 'removed' } });
    const calls = callsOf(h, sid);
    expect(calls.filter((c) => c.method === 'POST')).toHaveLength(1);
    expect(calls.filter((c) => c.applied)).toHaveLength(1);
    expect(calls.at(-1)).toMatchObject({ method: 'GET', status: 200 });
    const attempts = await h.automod.services.outcomes.attempts(jobId);
    expect(attempts[0]).toMatchObject({ operation: 'remove', error: 'timeout' });
  });

  it('a connection reset is retried', async () => {
    const { sid, room } = session();
    h.simulator.addFault({ operation: 'remove', sessionId: sid, reset: true });
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    const done = await removalSettled(h, jobId);
    expect(done).toMatchObject({ state: 'completed', attemptsMade: 2, outcome: { outcome: 'removed' } });
    expect(callShapes(callsOf(h, sid))).toEqual(['POST reset', 'GET 200', 'POST 200']);
    expect(callsOf(h, sid).filter((c) => c.applied)).toHaveLength(1);
  });

  it('attempts exhausted: failed, kept in the failed set, claim released', async () => {
    const { sid, room } = session();
    h.simulator.addFault({ operation: 'remove', sessionId: sid, status: 503, times: Infinity });
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: room });
    const done = await removalSettled(h, jobId);
    expect(done).toMatchObject({ state: 'failed', attemptsMade: 4, outcome: { outcome: 'failed', status: 503 } });
    const failed = await h.automod.services.queues.removals.getFailed(0, 100);
    expect(failed.map((j) => j.id)).toContain(jobId);
    expect(callsOf(h, sid).filter((c) => c.method === 'POST')).toHaveLength(4);
    const recorded = await h.automod.services.sessions.get(sid);
    expect(recorded?.removals).toEqual([expect.objectContaining({ participantId: 'target', outcome: 'failed', jobId })]);
    expect(await h.automod.services.redis.get(h.automod.services.keys.removalClaim(sid, 'target'))).toBeNull();
  });

  it('v2 room id: from meetingId, else from the fetched session', async () => {
    const { sid, room } = session();
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target' });
    expect(await removalSettled(h, jobId)).toMatchObject({ outcome: { outcome: 'removed' } });
    const calls = callsOf(h, sid);
    if (version === 'v2') {
      // No meetingId on the job: the session is fetched for its room first.
      expect(callShapes(calls)).toEqual(['GET 200', 'POST 200']);
      expect(calls[1]!.body).toEqual({ participantId: 'target', roomId: room, sessionId: sid });
    } else {
      expect(callShapes(calls)).toEqual(['POST 200']);
    }
  });
});

describe('credential failure (401/403)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('removals-cred');
  });
  afterAll(async () => {
    await h?.close();
  });

  it.each([
    ['401 (revoked token)', 401],
    ['403 (forbidden)', 403],
  ] as const)('%s pauses the queue, shows on /readyz, burns no attempt, and a new worker resumes', async (_label, status) => {
    const { services } = h.automod;
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-c', participants: [{ participantId: 'target' }] });
    if (status === 401) h.simulator.setCredentialValid(false);
    else h.simulator.addFault({ operation: 'remove', sessionId: sid, status: 403, times: Infinity });

    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: 'room-c' });
    const pause = await waitFor(() => services.pause.get(), 5000, 'the pause record');
    expect(pause).toMatchObject({ kind: 'credential' });
    expect(pause.reason).toContain(`HTTP ${status}`);
    expect(await services.queues.removals.isPaused()).toBe(true);
    const ready = await h.api('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(JSON.stringify(ready.body)).toContain('removals paused (credential)');
    const health = await h.api('GET', '/healthz');
    expect(health.status).toBe(200);

    // The job is back in line, untouched.
    const job = await waitFor(
      async () => {
        const j = await services.queues.removals.getJob(jobId);
        return j && (await j.getState()) !== 'active' ? j : undefined;
      },
      5000,
      'the job to leave active',
    );
    expect(await job.getState()).toMatch(/^(waiting|paused)$/);
    expect(job.attemptsMade).toBe(0);
    expect(await services.outcomes.getOutcome(jobId)).toBeUndefined();
    const audit = await services.audit.query({ kind: 'pause' });
    expect(audit.length).toBeGreaterThan(0);

    // The credential is fixed and a worker starts: it resumes the queue and the job runs.
    h.simulator.setCredentialValid(true);
    h.simulator.clearFaults();
    const second = await startAutomod(h.config, createLogger(h.config), { http: false, watchRules: false });
    try {
      expect(await services.pause.get()).toBeUndefined();
      const done = await removalSettled(h, jobId);
      expect(done).toMatchObject({ state: 'completed', attemptsMade: 1, outcome: { outcome: 'removed' } });
      expect((await h.api('GET', '/readyz')).status).toBe(200);
    } finally {
      await second.close();
    }
    const posts = h.simulator.calls().filter((c) => c.sessionId === sid && c.method === 'POST');
    expect(posts.filter((c) => c.applied)).toHaveLength(1);
  });

  it('a worker without any credential starts, and pauses removals on the first one', async () => {
    const config = testConfig(uniquePrefix('nocred'), {
      VIDEOSDK_API_BASE: h.simulator.url,
      AUTOMOD_RULES: 'rules',
      AUTOMOD_HTTP_PORT: '0',
    });
    const bare = await startAutomod(config, createLogger(config), { watchRules: false });
    try {
      const sid = sessionId();
      h.simulator.addSession({ id: sid, meetingId: 'room-n', participants: [{ participantId: 'target' }] });
      const { jobId } = await bare.services.requester.request({
        sessionId: sid,
        participantId: 'target',
        meetingId: 'room-n',
        reason: 'x',
        requestedBy: 'test',
      });
      const pause = await waitFor(() => bare.services.pause.get(), 5000, 'the pause record');
      expect(pause).toMatchObject({ kind: 'credential', reason: expect.stringContaining('no usable VideoSDK credential') });
      const job = await waitFor(
        async () => {
          const j = await bare.services.queues.removals.getJob(jobId);
          return j && (await j.getState()) !== 'active' ? j : undefined;
        },
        5000,
        'the job to leave active',
      );
      expect(job.attemptsMade).toBe(0);
      expect(h.simulator.calls().filter((c) => c.sessionId === sid)).toEqual([]);
    } finally {
      await bare.close();
      const { redis, cleanup } = testRedis(config);
      await redis.ping();
      await cleanup();
    }
  });

  it('a new worker leaves a queue paused by an operator alone', async () => {
    const { services } = h.automod;
    await services.pause.set({ kind: 'operator', reason: 'maintenance', at: new Date().toISOString() });
    await services.queues.removals.pause();
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-o', participants: [{ participantId: 'target' }] });
    const { jobId } = await request(h, { sessionId: sid, participantId: 'target', meetingId: 'room-o' });
    const running = new Set(await services.redis.hkeys(services.keys.workers()));
    const second = await startAutomod(h.config, createLogger(h.config), { http: false, watchRules: false });
    try {
      // What could resume the queue is the new worker's credential check (a pause for a credential
      // ends at its first answer): wait until its answer shows in the worker's entry; closing the
      // worker then waits for that answer to be acted on.
      await waitFor(
        async () => {
          const entries = Object.entries(await services.redis.hgetall(services.keys.workers()));
          const checked = entries.some(([id, entry]) => !running.has(id) && (JSON.parse(entry) as { credential?: unknown }).credential);
          return checked ? true : undefined;
        },
        10_000,
        "the new worker's credential check",
      );
    } finally {
      await second.close();
    }
    expect(await services.pause.get()).toMatchObject({ kind: 'operator' });
    expect(await services.queues.removals.isPaused()).toBe(true);
    expect(await (await services.queues.removals.getJob(jobId))?.getState()).toMatch(/^(waiting|paused)$/);
    expect((await h.api('GET', '/readyz')).status).toBe(503);
    await services.pause.clear();
    await services.queues.removals.resume();
    expect(await removalSettled(h, jobId)).toMatchObject({ state: 'completed', outcome: { outcome: 'removed' } });
  });
});

describe('dedup of removal requests', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('removals-dedup', { AUTOMOD_DEDUP_SECONDS: '300' });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('many rule hits for one participant make one job; a later join ends the window', async () => {
    const sid = sessionId();
    const pid = 'blocked-demo-1';
    h.simulator.addSession({ id: sid, meetingId: 'room-d', participants: [{ participantId: pid, name: 'Mallory' }] });
    const base = { meetingId: 'room-d', sessionId: sid, participantId: pid, participantName: 'Mallory' };
    const burst = [
      { ...base, id: `${sid}-j`, type: 'participant-joined', data: { role: 'participant' } },
      ...Array.from({ length: 6 }, (_, i) => ({ ...base, id: `${sid}-c${i}`, type: 'chat-message', data: { text: `hello ${i}` } })),
      { ...base, id: `${sid}-r`, type: 'participant-renamed', data: { name: 'Admin Mallory' } },
    ];
    expect((await h.api('POST', '/v1/events', burst)).status).toBe(202);

    const first = await waitFor(
      async () => {
        const removals = (await h.automod.services.sessions.get(sid))?.removals ?? [];
        return removals.length > 0 ? removals : undefined;
      },
      10_000,
      'the first removal',
    );
    // Every event of the burst processed before counting: each hit's audit record is written after
    // the removal it asks for.
    await waitFor(
      async () => {
        const audited = new Set((await h.automod.services.audit.query({ sessionId: sid, kind: 'rule-hit' })).map((r) => r.eventId));
        return burst.every((e) => audited.has(e.id)) ? true : undefined;
      },
      10_000,
      "every burst event's audit record",
    );
    const jobs = (await h.automod.services.queues.removals.getJobs(['completed', 'failed', 'waiting', 'active', 'delayed'])).filter(
      (j) => j.data.sessionId === sid,
    );
    expect(jobs).toHaveLength(1);
    expect(first).toEqual([expect.objectContaining({ participantId: pid, outcome: 'removed' })]);
    expect(h.simulator.calls().filter((c) => c.sessionId === sid && c.method === 'POST')).toHaveLength(1);

    // Within the window another hit collapses into the finished removal
    // (waiting for its audit record, so the check below is on an event that was processed).
    await h.api('POST', '/v1/events', { ...base, id: `${sid}-late`, type: 'chat-message', data: { text: 'still here' } });
    const late = await waitFor(
      async () => {
        const records = await h.automod.services.audit.query({ sessionId: sid, kind: 'rule-hit' });
        const hits = records.filter((r) => r.eventId === `${sid}-late`);
        return hits.length > 0 ? hits : undefined;
      },
      10_000,
      "the late hit's audit record",
    );
    expect(late.map((r) => r.outcome)).toEqual(late.map(() => 'collapsed'));
    expect(late.every((r) => r.jobId === jobs[0]!.id)).toBe(true);
    expect(h.simulator.calls().filter((c) => c.sessionId === sid && c.method === 'POST')).toHaveLength(1);

    // ...but once they join again the window is over and they are removed again.
    h.simulator.join(sid, pid, 'Mallory');
    await h.api('POST', '/v1/events', { ...base, id: `${sid}-rejoin`, type: 'participant-joined', data: { role: 'participant' } });
    await waitFor(
      async () => {
        const removals = (await h.automod.services.sessions.get(sid))?.removals ?? [];
        return removals.length === 2 ? removals : undefined;
      },
      10_000,
      'the second removal',
    );
    expect(h.simulator.calls().filter((c) => c.sessionId === sid && c.applied)).toHaveLength(2);
  });
});
