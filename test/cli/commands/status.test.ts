import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutomod, type RunningAutomod } from '../../../src/app/automod.js';
import { runJobs } from '../../../src/cli/commands/jobs.js';
import { runPause, runResume } from '../../../src/cli/commands/pause.js';
import { runStatus, type StatusReport } from '../../../src/cli/commands/status.js';
import { createLogger } from '../../../src/shared/logger.js';
import { sessionId, startHarness, waitFor, type Harness } from '../../helpers/harness.js';
import { captureIo } from '../../helpers/io.js';

// `automod status` names everything that holds removals and exits 1; `/readyz` turns 503 only for
// what needs someone to act (a pause), and warns of the rest.
let h: Harness;
beforeAll(async () => {
  // A long backoff keeps a failed try's job waiting (delayed) while the test looks at it.
  h = await startHarness('status', { AUTOMOD_BACKOFF_MS: '60000', AUTOMOD_BACKOFF_MAX_MS: '60000', AUTOMOD_RETRY_AFTER_MAX_MS: '60000' });
});
afterAll(async () => {
  await h?.close();
});

/** The report, its exit code, and the text of a run just after (whatever the report shows is still so). */
async function status(): Promise<{ code: number; text: string; report: StatusReport }> {
  const json = captureIo();
  const code = await runStatus(h.automod.services, { json: true }, json);
  const text = captureIo();
  await runStatus(h.automod.services, { json: false }, text);
  return { code, text: text.out(), report: JSON.parse(json.out()) as StatusReport };
}

async function readyz(): Promise<{ status: number; body: { status: string; reasons: string[]; warnings: string[] } }> {
  const res = await h.api('GET', '/readyz');
  return { status: res.status, body: res.body as { status: string; reasons: string[]; warnings: string[] } };
}

const now = () => new Date().toISOString();

describe('automod status', () => {
  it('says no problems, with the worker credential check, while removals run freely', async () => {
    const ok = await waitFor(async () => {
      const s = await status();
      return s.report.workers[0]?.credential ? s : undefined;
    });
    expect(ok.report.workers[0]!.credential).toMatchObject({ result: 'accepted', status: 404, by: 'check' });
    expect(ok.text).toMatch(/removals\s+running\n/);
    expect(ok.text).toMatch(/accepted \(a test fetch answered 404\)/);
    expect(ok.text).toContain('no problems');
    expect(ok.code).toBe(0);
    expect((await readyz()).body).toMatchObject({ status: 'ready', reasons: [], warnings: [] });
  });

  it('names removals failing with 500 (retrying, and failed), shows why in jobs, and warns on /readyz without turning 503', async () => {
    const sid = sessionId();
    h.simulator.addSession({
      id: sid,
      meetingId: 'room-status',
      participants: [{ participantId: 'retrying' }, { participantId: 'doomed' }],
    });
    h.simulator.addFault({ operation: 'remove', sessionId: sid, status: 500, times: 100 });
    const { jobId } = await h.automod.services.requester.request({
      sessionId: sid,
      participantId: 'retrying',
      meetingId: 'room-status',
      reason: 'test',
      requestedBy: 'test',
    });
    // A direct producer's job with a single attempt: it fails at its first 500.
    const doomed = await h.automod.services.queues.removals.add(
      'remove',
      { sessionId: sid, participantId: 'doomed', meetingId: 'room-status', reason: 'test', requestedBy: 'test' },
      { attempts: 1 },
    );
    await waitFor(async () => ((await h.automod.services.queues.removals.getJobState(jobId)) === 'delayed' ? true : undefined));
    await waitFor(async () => ((await h.automod.services.outcomes.getOutcome(doomed.id!))?.outcome === 'failed' ? true : undefined));

    const s = await status();
    expect(s.code).toBe(1);
    expect(s.text).toMatch(/removals\s+failing: 1 retrying; 1 failed in the last hour/);
    const failing = s.report.problems.find((p) => p.startsWith('removals are failing'));
    expect(failing).toMatch(
      new RegExp(
        `^removals are failing: 1 waiting to try again after a failed try; last: POST remove 500 at \\S+Z \\(job ${jobId}: VideoSDK POST \\S+ failed with HTTP 500`,
      ),
    );
    const failed = s.report.problems.find((p) => p.includes('failed in the last hour'));
    expect(failed).toMatch(
      new RegExp(
        `^1 removal\\(s\\) failed in the last hour; last: POST remove 500 at \\S+Z \\(job ${doomed.id}: .*HTTP 500.*\\); see automod jobs --state failed, then automod replay$`,
      ),
    );

    // `automod jobs` says why the waiting one waits, without `automod job ID`.
    const jobs = captureIo();
    await runJobs(h.automod.services, { state: 'delayed', limit: 10, json: false }, jobs);
    expect(jobs.out()).toMatch(new RegExp(`${jobId}\\s+delayed\\s+1\\s+.*VideoSDK POST \\S+ failed with HTTP 500`));

    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('degraded');
    expect(ready.body.warnings).toEqual(expect.arrayContaining([failing, failed]));

    // Cleared: the retrying job goes away, the failed one is replayed away; status is clean again.
    h.simulator.clearFaults();
    await h.automod.services.queues.removals.remove(jobId);
    await h.automod.services.queues.removals.remove(doomed.id!);
    expect((await status()).report.problems).toEqual([]);
  });

  it("names VideoSDK's Retry-After hold", async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-status', participants: [{ participantId: 'held' }] });
    h.simulator.addFault({ operation: 'remove', sessionId: sid, status: 429, retryAfter: '30' });
    const { jobId } = await h.automod.services.requester.request({
      sessionId: sid,
      participantId: 'held',
      meetingId: 'room-status',
      reason: 'test',
      requestedBy: 'test',
    });
    const s = await waitFor(async () => {
      const r = await status();
      return r.report.health.rateLimitedUntil ? r : undefined;
    });
    expect(s.code).toBe(1);
    expect(s.text).toMatch(/removals\s+held by VideoSDK's Retry-After until \S+Z/);
    expect(s.report.problems).toContain(
      `removals are held by VideoSDK's Retry-After until ${s.report.health.rateLimitedUntil} (every worker waits)`,
    );
    expect((await readyz()).status).toBe(200);
    await h.automod.services.queues.removals.remove(jobId);
    await h.automod.services.redis.del(h.automod.services.keys.rateLimited());
  });

  it('names a paused queue, with or without a recorded reason, and /readyz is 503', async () => {
    await runPause(h.automod.services, { reason: 'incident 42', requestedBy: 'operator:test', at: now() }, captureIo());
    const paused = await status();
    expect(paused.code).toBe(1);
    expect(paused.report.problems).toContainEqual(expect.stringMatching(/^removals are paused \(operator\) since \S+Z: incident 42$/));
    expect((await readyz()).status).toBe(503);
    await runResume(h.automod.services, { requestedBy: 'operator:test', at: now() }, captureIo());

    // Paused from the dashboard (no reason in Redis).
    await h.automod.services.queues.removals.pause();
    const bare = await status();
    expect(bare.code).toBe(1);
    expect(bare.report.problems).toContainEqual(
      expect.stringMatching(/^removals are paused: the removals queue is paused without a recorded reason/),
    );
    await h.automod.services.queues.removals.resume();
    expect((await status()).code).toBe(0);
  });

  it('names a rule tripped past its budget', async () => {
    const budget = { max: 1, windowMs: 60_000 };
    expect(await h.automod.services.budgets.take({ rule: 'remove-everyone', budget, member: 'a' })).toBe('ok');
    expect(await h.automod.services.budgets.take({ rule: 'remove-everyone', budget, member: 'b' })).toBe('tripped-now');
    const s = await status();
    expect(s.code).toBe(1);
    expect(s.text).toMatch(/tripped rules: remove-everyone/);
    expect(s.report.problems).toContainEqual(
      expect.stringMatching(
        /^rule remove-everyone tripped at \S+Z past its budget 1\/60s: its hits are held for review until \S+Z or automod rules rearm remove-everyone$/,
      ),
    );
    const ready = await readyz();
    expect(ready.status).toBe(200);
    expect(ready.body.warnings).toContainEqual(expect.stringMatching(/^rule remove-everyone tripped/));
    await h.automod.services.budgets.rearm('remove-everyone');
    expect((await status()).code).toBe(0);
  });

  it('names a worker whose own credential VideoSDK refused: it checks at start and pauses removals', async () => {
    let wrong: RunningAutomod | undefined;
    try {
      const config = {
        ...h.config,
        videosdk: { ...h.config.videosdk, secret: 'not-the-secret-0123456789' },
        http: { ...h.config.http, port: 0 },
      };
      wrong = await startAutomod(config, createLogger({ ...config, logLevel: 'silent' }), { only: 'removals', watchRules: false });
      const s = await waitFor(async () => {
        const r = await status();
        return r.report.workers.some((w) => w.credential?.result === 'refused') ? r : undefined;
      });
      expect(s.code).toBe(1);
      const bad = s.report.workers.find((w) => w.credential?.result === 'refused')!;
      expect(bad).toMatchObject({ only: 'removals', credential: { result: 'refused', status: 401, by: 'check' } });
      expect(s.report.problems).toContainEqual(
        expect.stringMatching(
          new RegExp(
            `^worker ${bad.id.replaceAll('.', '\\.')}: VideoSDK refused its credential \\(HTTP 401, checked at start at \\S+Z\\)$`,
          ),
        ),
      );
      // The good worker says accepted beside it: each worker's own check, not the CLI's.
      expect(s.text).toMatch(/accepted \(a test fetch answered 404\)/);
      expect(s.text).toMatch(/REFUSED \(HTTP 401\)/);
      // Paused before any removal was tried.
      expect(s.report.problems).toContainEqual(
        expect.stringMatching(/^removals are paused \(credential\) since \S+Z: VideoSDK refused the credential \(HTTP 401\)/),
      );
      expect((await readyz()).status).toBe(503);
      expect(h.simulator.calls().filter((c) => c.operation === 'remove' && c.at > Date.parse(bad.startedAt))).toEqual([]);
      expect(s.text).not.toContain('not-the-secret');
    } finally {
      await wrong?.close();
    }
    await runResume(h.automod.services, { requestedBy: 'operator:test', at: now() }, captureIo());
  });
});
