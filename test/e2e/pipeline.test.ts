import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

describe.each(['v1', 'v2'] as const)('pipeline end to end (%s)', (version) => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness(`e2e-${version}`, { VIDEOSDK_API_VERSION: version });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('HTTP event -> rule -> one remove call -> recorded session state', async () => {
    const sid = sessionId();
    h.simulator.addSession({
      id: sid,
      meetingId: 'room-e2e',
      participants: [
        { participantId: 'p-imp', name: 'Admin Bob' },
        { participantId: 'p-ok', name: 'Carol' },
      ],
    });

    const posted = await h.api('POST', '/v1/events', [
      {
        id: `${sid}-1`,
        type: 'participant-joined',
        meetingId: 'room-e2e',
        sessionId: sid,
        participantId: 'p-imp',
        participantName: 'Admin Bob',
        data: { role: 'participant' },
      },
      {
        id: `${sid}-2`,
        type: 'participant-joined',
        meetingId: 'room-e2e',
        sessionId: sid,
        participantId: 'p-ok',
        participantName: 'Carol',
        data: { role: 'participant' },
      },
      {
        id: `${sid}-3`,
        type: 'participant-renamed',
        meetingId: 'room-e2e',
        sessionId: sid,
        participantId: 'p-imp',
        participantName: 'Admin Bob',
        data: { name: 'Support Bob' },
      },
    ]);
    expect(posted.status).toBe(202);
    expect(posted.body).toEqual({ accepted: 3, duplicates: 0, ids: [`${sid}-1`, `${sid}-2`, `${sid}-3`] });

    const recorded = await waitFor(
      async () => {
        const res = await h.api('GET', `/v1/sessions/${sid}`);
        const body = res.body as { removals?: { outcome: string }[] };
        return res.status === 200 && body.removals?.length ? body : undefined;
      },
      10_000,
      'recorded removal',
    );

    const removals = (recorded as { removals: { participantId: string; outcome: string; rule: string; jobId: string }[] }).removals;
    expect(removals).toHaveLength(1);
    expect(removals[0]).toMatchObject({ participantId: 'p-imp', outcome: 'removed', rule: expect.stringMatching(/^impersonating-staff/) });
    const session = (recorded as { session: { participants: { participantId: string; timelog: { end: string | null }[] }[] } }).session;
    expect(session.participants.find((p) => p.participantId === 'p-imp')?.timelog.at(-1)?.end).not.toBeNull();
    expect(session.participants.find((p) => p.participantId === 'p-ok')?.timelog.at(-1)?.end).toBeNull();

    // Exactly one successful remove call, with the raw JWT and the version's body.
    const removes = h.simulator.calls().filter((c) => c.operation === 'remove' && c.sessionId === sid);
    expect(removes.filter((c) => c.applied)).toHaveLength(1);
    expect(removes[0]?.participantId).toBe('p-imp');

    // The outcome is recorded just before BullMQ marks the job completed: wait for that too.
    const job = await waitFor(
      async () => {
        const res = await h.api('GET', `/v1/jobs/${removals[0]!.jobId}`);
        return (res.body as { state?: string }).state === 'completed' ? res : undefined;
      },
      5000,
      'the job to complete',
    );
    expect(job.status).toBe(200);
    expect(job.body).toMatchObject({
      id: removals[0]!.jobId,
      queue: 'removals',
      state: 'completed',
      outcome: 'removed',
      data: { sessionId: sid, participantId: 'p-imp', rule: removals[0]!.rule, requestedBy: `rule:${removals[0]!.rule}` },
    });

    const audit = await h.api('GET', `/v1/audit?sessionId=${sid}&participantId=p-imp`);
    const records = (audit.body as { records: { kind: string; outcome: string; attempts?: { status?: number }[] }[] }).records;
    const removal = records.find((r) => r.kind === 'removal');
    expect(removal?.outcome).toBe('removed');
    expect(removal?.attempts?.some((a) => a.status === 200)).toBe(true);
    expect(records.some((r) => r.kind === 'rule-hit')).toBe(true);
  });

  it('repeats of an event id are accepted once', async () => {
    const sid = sessionId();
    const event = { id: `dup-${sid}`, type: 'chat-message', sessionId: sid, participantId: 'p1', data: { text: 'hi' } };
    const first = await h.api('POST', '/v1/events', event);
    const second = await h.api('POST', '/v1/events', [event, event]);
    expect(first.body).toMatchObject({ accepted: 1, duplicates: 0 });
    expect(second.body).toMatchObject({ accepted: 0, duplicates: 2 });
  });

  it('a direct producer adding one event twice gets it processed once; a retried job is processed', async () => {
    const sid = sessionId();
    const event = {
      id: `direct-${sid}`,
      type: 'chat-message',
      timestamp: new Date().toISOString(),
      sessionId: sid,
      participantId: 'p1',
      data: { text: 'hello' },
    };
    const queue = h.automod.services.queues.events;
    const first = await queue.add('chat-message', event);
    const copy = await queue.add('chat-message', event);
    const results = await waitFor(
      async () => {
        const jobs = await Promise.all([first, copy].map((j) => queue.getJob(j.id!)));
        return jobs.every((j) => j?.finishedOn) ? jobs.map((j) => (j!.returnvalue as { status: string }).status) : undefined;
      },
      10_000,
      'both jobs to finish',
    );
    expect([...results].sort()).toEqual(['duplicate', 'processed']);
    const processed = results[0] === 'processed' ? first : copy;
    // One entry in the processed-event log (written in the background, shortly after).
    const logged = await waitFor(
      async () => {
        const entries = [];
        for await (const r of h.automod.services.eventLog.read({ since: Date.now() - 60_000 }))
          if (r.event.id === event.id) entries.push(r);
        return entries.length > 0 ? entries : undefined;
      },
      5000,
      'the log entry',
    );
    expect(logged).toHaveLength(1);

    // The job that processed it, run again (as after a lost lock), owns the marker, so it is processed, not dropped.
    const again = await queue.getJob(processed.id!);
    await again!.retry('completed');
    const rerun = await waitFor(
      async () => {
        const j = await queue.getJob(processed.id!);
        return j?.finishedOn && j.attemptsStarted > 1 ? (j.returnvalue as { status: string }).status : undefined;
      },
      10_000,
      'the rerun',
    );
    expect(rerun).toBe('processed');
  });

  it('a producer that names its jobs by event id and adds one again after the job is gone gets a duplicate', async () => {
    const sid = sessionId();
    const event = { id: `named-${sid}`, type: 'chat-message', sessionId: sid, participantId: 'p1', data: { text: 'hello' } };
    const queue = h.automod.services.queues.events;
    const statusOf = (jobId: string) =>
      waitFor(
        async () => {
          const j = await queue.getJob(jobId);
          return j?.finishedOn ? (j.returnvalue as { status: string }).status : undefined;
        },
        10_000,
        `job ${jobId}`,
      );
    await queue.add('chat-message', event, { jobId: event.id });
    expect(await statusOf(event.id)).toBe('processed');
    // Retention dropped the job (by count, on a busy queue); the producer sends the event again.
    await (await queue.getJob(event.id))!.remove();
    await queue.add('chat-message', event, { jobId: event.id });
    expect(await statusOf(event.id)).toBe('duplicate');
  });
});
