import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runJob, runJobs } from '../../../src/cli/commands/jobs.js';
import { runReplay } from '../../../src/cli/commands/replay.js';
import type { JobView } from '../../../src/removals/job-view.js';
import type { RemovalJobData } from '../../../src/removals/removal-job.js';
import { replayFilterSchema, type ReplayResult } from '../../../src/removals/replay.js';
import { startHarness, waitFor, type Harness } from '../../helpers/harness.js';
import { captureIo } from '../../helpers/io.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('malformed');
});
afterAll(async () => {
  await h?.close();
});

describe('removal jobs with data that is not a removal (a direct producer)', () => {
  it('fail permanently with the reason, show as malformed everywhere, are never replayed, and can be discarded', async () => {
    const queue = h.automod.services.queues.removals;
    const bad: unknown[] = [null, 'hello', { sessionId: 5, participantId: ['x'] }];
    const ids: string[] = [];
    for (const data of bad) ids.push((await queue.add('direct', data as RemovalJobData, { attempts: 4 })).id!);

    // The processor fails each at once (no retries), saying why.
    for (const id of ids) {
      await waitFor(async () => ((await queue.getJobState(id)) === 'failed' ? true : undefined), 10_000, `job ${id} to fail`);
      const job = await queue.getJob(id);
      expect(job?.attemptsMade).toBe(1);
      expect(job?.failedReason).toMatch(/invalid removal: \$/);
    }

    // GET /v1/jobs and /v1/jobs/:id answer, naming what is wrong.
    const listed = await h.api('GET', '/v1/jobs?state=failed');
    expect(listed.status).toBe(200);
    const views = (listed.body as { jobs: JobView[] }).jobs.filter((v) => ids.includes(v.id));
    expect(views).toHaveLength(3);
    for (const v of views) expect(v.malformed).toEqual(expect.any(String));
    const one = await h.api('GET', `/v1/jobs/${ids[0]}`);
    expect(one.status).toBe(200);
    expect((one.body as JobView).malformed).toMatch(/\$/);
    expect((await h.api('GET', '/v1/jobs?state=failed&sessionId=s1')).status).toBe(200);

    // automod jobs --state failed and automod job ID print them.
    const jobsIo = captureIo();
    expect(await runJobs(h.automod.services, { state: 'failed', limit: 100, json: false }, jobsIo)).toBe(0);
    expect(jobsIo.out()).toMatch(/malformed: /);
    for (const id of ids) {
      const jobIo = captureIo();
      expect(await runJob(h.automod.services, id, { json: false }, jobIo)).toBe(0);
      expect(jobIo.out()).toMatch(/data\s+malformed: /);
    }

    // Replay lists them apart and never replays them (HTTP and CLI, dry run or not).
    const dry = await h.api('POST', '/v1/replay', { dryRun: true });
    expect(dry.status).toBe(200);
    expect((dry.body as ReplayResult).malformed.map((m) => m.jobId).sort()).toEqual([...ids].sort());
    expect((dry.body as ReplayResult).replayed).toEqual([]);
    const cliIo = captureIo();
    expect(
      await runReplay(
        h.automod.services,
        replayFilterSchema.parse({ dryRun: true }),
        { json: false, wait: false, timeout: 0, requestedBy: 'operator:test' },
        cliIo,
      ),
    ).toBe(0);
    expect(cliIo.out()).toMatch(/not replayable .*malformed: /);
    expect(cliIo.out()).toMatch(/--discard-malformed/);
    const real = await h.api('POST', '/v1/replay', {});
    expect(real.status).toBe(200);
    expect((real.body as ReplayResult).replayed).toEqual([]);
    for (const id of ids) expect(await queue.getJobState(id)).toBe('failed');

    // A session filter cannot select them; discarding removes exactly the ones asked for.
    const bySession = await h.api('POST', '/v1/replay', { sessionId: 's1', discardMalformed: true });
    expect((bySession.body as ReplayResult).malformed).toEqual([]);
    const discardIo = captureIo();
    const code = await runReplay(
      h.automod.services,
      replayFilterSchema.parse({ jobId: ids.slice(0, 2), discardMalformed: true }),
      { json: true, wait: false, timeout: 0, requestedBy: 'operator:test' },
      discardIo,
    );
    expect(code).toBe(0);
    const discarded = JSON.parse(discardIo.out()) as ReplayResult;
    expect(discarded.malformed.map((m) => [m.jobId, m.discarded])).toEqual(
      expect.arrayContaining([
        [ids[0], true],
        [ids[1], true],
      ]),
    );
    expect(await queue.getJob(ids[0]!)).toBeUndefined();
    expect(await queue.getJob(ids[1]!)).toBeUndefined();
    expect(await queue.getJobState(ids[2]!)).toBe('failed');
    const audit = await h.automod.services.audit.query({ kind: 'discard' });
    expect(audit.map((r) => r.jobId).sort()).toEqual([ids[0], ids[1]].sort());
  });
});
