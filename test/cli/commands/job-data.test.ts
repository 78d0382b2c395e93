import type { Job, Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runDeadLetters } from '../../../src/cli/commands/dead-letters.js';
import { runJob, runJobs } from '../../../src/cli/commands/jobs.js';
import { runNotificationReplay, type NotificationReplayResult } from '../../../src/cli/commands/notification-replay.js';
import { runReplay } from '../../../src/cli/commands/replay.js';
import type { DeadLetterView } from '../../../src/events/dead-letter-replay.js';
import type { RemovalJobData } from '../../../src/removals/removal-job.js';
import { replayFilterSchema, type ReplayResult } from '../../../src/removals/replay.js';
import { freePort } from '../../../src/shared/free-port.js';
import { runCli } from '../../helpers/cli.js';
import { sessionId, startHarness, waitFor, type Harness } from '../../helpers/harness.js';
import { captureIo } from '../../helpers/io.js';
import { REDIS_URL } from '../../helpers/redis.js';

// Anyone with the Redis credentials can put anything on a queue. Every reader of job data (replay
// of removals and notifications, dry run and discard included, jobs, job ID, dead letters) shows a
// malformed job with what is wrong and goes on with the healthy ones beside it.
const MALFORMED: unknown[] = [null, 'x', []];

let h: Harness;
beforeAll(async () => {
  // Deliveries go to a port where nothing listens: each fails after its one try.
  h = await startHarness('job-data', {
    AUTOMOD_NOTIFY_URLS: `http://127.0.0.1:${await freePort()}/hook`,
    AUTOMOD_NOTIFY_ATTEMPTS: '1',
  });
});
afterAll(async () => {
  await h?.close();
});

async function failedIds(queue: Queue, ids: readonly string[]): Promise<void> {
  for (const id of ids)
    await waitFor(async () => ((await queue.getJobState(id)) === 'failed' ? true : undefined), 10_000, `job ${id} to fail`);
}

describe('notification jobs whose data is null, a string or an array', () => {
  it('are listed apart and never replayed; the healthy failed deliveries beside them replay; --discard-malformed drops them', async () => {
    const queue = h.automod.services.notifications as Queue;
    await h.automod.services.notify('ban.created', { ban: { participantId: 'p1' } }, 'p1 banned');
    await h.automod.services.notify('ban.lifted', { ban: { participantId: 'p1' } }, 'p1 unbanned');
    const bad: string[] = [];
    for (const data of MALFORMED) bad.push((await queue.add('direct', data)).id!);
    const healthy = await waitFor(async () => {
      const jobs = (await queue.getFailed(0, 100)) as Job[];
      const ids = jobs.filter((j) => !bad.includes(j.id!)).map((j) => j.id!);
      return ids.length === 2 ? ids : undefined;
    });
    await failedIds(queue, [...bad, ...healthy]);

    // Dry run, as JSON and as text: nothing moves.
    const dry = captureIo();
    expect(await runNotificationReplay(h.automod.services, { dryRun: true, limit: 100, json: true }, dry)).toBe(0);
    const planned = JSON.parse(dry.out()) as NotificationReplayResult;
    expect(planned.replayed.map((r) => r.jobId).sort()).toEqual([...healthy].sort());
    expect(planned.replayed.map((r) => r.type).sort()).toEqual(['ban.created', 'ban.lifted']);
    expect(planned.malformed.map((m) => [m.jobId, m.discarded]).sort()).toEqual(bad.map((id) => [id, false]).sort());
    for (const m of planned.malformed) expect(m.reason).toMatch(/^\$: /);
    const text = captureIo();
    expect(await runNotificationReplay(h.automod.services, { dryRun: true, limit: 100, json: false }, text)).toBe(0);
    expect(text.out()).toContain('would replay 2 notification(s)');
    for (const id of bad) expect(text.out()).toMatch(new RegExp(`${id}\\s+\\$: .*not replayable`));
    expect(text.out()).toContain(
      '3 malformed job(s) left alone; remove them with automod replay --queue notifications --discard-malformed',
    );
    for (const id of [...bad, ...healthy]) expect(await queue.getJobState(id)).toBe('failed');

    // The same as an operator runs it.
    const env = { REDIS_URL, AUTOMOD_PREFIX: h.config.prefix, LOG_LEVEL: 'silent' };
    const cli = await runCli(['replay', '--queue', 'notifications', '--dry-run'], env);
    expect(cli.code, cli.stderr).toBe(0);
    expect(cli.stderr).toBe('');
    expect(cli.stdout).toContain('would replay 2 notification(s)');

    // A real replay sends the healthy ones again (they fail again: nothing listens) and leaves the rest.
    const before = new Map<string, number>();
    for (const id of healthy) before.set(id, (await queue.getJob(id))!.finishedOn!);
    const replay = captureIo();
    expect(await runNotificationReplay(h.automod.services, { dryRun: false, limit: 100, json: true }, replay)).toBe(0);
    expect((JSON.parse(replay.out()) as NotificationReplayResult).replayed.map((r) => r.jobId).sort()).toEqual([...healthy].sort());
    for (const id of healthy) {
      await waitFor(async () => {
        const job = await queue.getJob(id);
        return job?.finishedOn !== undefined && job.finishedOn > before.get(id)! && (await job.getState()) === 'failed' ? true : undefined;
      });
    }
    for (const id of bad) expect(await queue.getJobState(id)).toBe('failed');

    // --discard-malformed drops them, with an audit record each; the healthy ones stay.
    const discarded = await runCli(['replay', '--queue', 'notifications', '--discard-malformed', '--json'], { ...env, USER: 'ops' });
    expect(discarded.code, discarded.stderr).toBe(0);
    const result = JSON.parse(discarded.stdout) as NotificationReplayResult;
    expect(result.malformed.map((m) => [m.jobId, m.discarded]).sort()).toEqual(bad.map((id) => [id, true]).sort());
    for (const id of bad) expect(await queue.getJob(id)).toBeUndefined();
    const audit = await h.automod.services.audit.query({ kind: 'discard' });
    expect(audit.filter((r) => bad.includes(r.jobId!)).map((r) => r.requestedBy)).toEqual(['operator:ops', 'operator:ops', 'operator:ops']);

    // Removal filters mean nothing to deliveries: refused rather than ignored.
    const refused = await runCli(['replay', '--queue', 'notifications', '--session', 's1'], env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--session select removals only/);
  });
});

describe('removal and event jobs whose data is null, a string or an array', () => {
  it('show as malformed in jobs, job ID and dead-letters; replay lists them apart and replays the healthy failed removal', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-d', participants: [{ participantId: 'ok-1' }] });
    h.simulator.addFault({ sessionId: sid, operation: 'remove', status: 503, times: Infinity });
    const removals = h.automod.services.queues.removals;
    const healthy = await h.automod.services.requester.request({
      sessionId: sid,
      participantId: 'ok-1',
      meetingId: 'room-d',
      reason: 'test',
      requestedBy: 'operator:test',
    });
    const bad: string[] = [];
    for (const data of MALFORMED) bad.push((await removals.add('direct', data as RemovalJobData, { attempts: 2 })).id!);
    await failedIds(removals, [healthy.jobId, ...bad]);

    const jobs = captureIo();
    expect(await runJobs(h.automod.services, { state: 'failed', limit: 100, json: false }, jobs)).toBe(0);
    for (const id of bad) expect(jobs.out()).toMatch(new RegExp(`${id}\\s+failed\\s+1\\s+rejected\\s+malformed: \\$: `));
    expect(jobs.out()).toMatch(new RegExp(`${healthy.jobId}\\s+failed\\s+\\d+\\s+failed\\s+${sid}\\s+ok-1`));
    for (const id of bad) {
      const one = captureIo();
      expect(await runJob(h.automod.services, id, { json: false }, one)).toBe(0);
      expect(one.out()).toMatch(/data\s+malformed: \$: /);
    }

    const dry = captureIo();
    const options = { json: true, wait: false, timeout: 0, requestedBy: 'operator:test' };
    expect(await runReplay(h.automod.services, replayFilterSchema.parse({ dryRun: true }), options, dry)).toBe(0);
    const planned = JSON.parse(dry.out()) as ReplayResult;
    expect(planned.replayed.map((r) => r.jobId)).toContain(healthy.jobId);
    expect(planned.malformed.map((m) => m.jobId)).toEqual(expect.arrayContaining(bad));

    h.simulator.clearFaults();
    const replayed = captureIo();
    expect(
      await runReplay(
        h.automod.services,
        replayFilterSchema.parse({ jobId: [healthy.jobId, ...bad] }),
        { ...options, json: false, wait: true, timeout: 10 },
        replayed,
      ),
    ).toBe(0);
    expect(replayed.out()).toContain('replayed 1 failed job(s)');
    expect(replayed.out()).toContain('removed: 1');
    for (const id of bad) expect(replayed.out()).toContain(`not replayable ${id} (failed): malformed: $: `);

    // The events queue: each becomes a dead letter, listed in text and JSON; job ID shows it.
    const events = h.automod.services.queues.events;
    const eventJobs: string[] = [];
    for (const data of MALFORMED) eventJobs.push((await events.add('chat-message', data)).id!);
    const letters = await waitFor(async () => {
      const listed = (await h.api('GET', '/v1/dead-letters')).body as { deadLetters: DeadLetterView[] };
      const mine = listed.deadLetters.filter((d) => d.jobId !== undefined && eventJobs.includes(d.jobId));
      return mine.length === eventJobs.length ? mine : undefined;
    });
    const text = captureIo();
    expect(await runDeadLetters(h.automod.services, { limit: 100, json: false }, text)).toBe(0);
    for (const letter of letters) expect(text.out()).toContain(letter.id);
    const json = captureIo();
    expect(await runDeadLetters(h.automod.services, { limit: 100, json: true }, json)).toBe(0);
    const shown = (JSON.parse(json.out()) as { deadLetters: DeadLetterView[] }).deadLetters.filter((d) => eventJobs.includes(d.jobId!));
    expect(shown.map((d) => d.event)).toEqual(expect.arrayContaining(MALFORMED));
    const one = captureIo();
    expect(await runJob(h.automod.services, eventJobs[0]!, { json: false }, one)).toBe(0);
    expect(one.out()).toMatch(/queue\s+events/);
    expect(one.out()).toMatch(/data\s+malformed: not an object/);
  });
});
