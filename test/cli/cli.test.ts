import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, type CliResult } from '../helpers/cli.js';
import { sessionId, startHarness, type Harness } from '../helpers/harness.js';
import { REDIS_URL } from '../helpers/redis.js';

// The commands run as an operator runs them: `node dist/cli.js ...` in their own process, against
// the same Redis prefix as a worker running here and the simulator.
let h: Harness;
let dir: string;
let env: Record<string, string>;
beforeAll(async () => {
  h = await startHarness('cli', { AUTOMOD_REMOVAL_ATTEMPTS: '2' });
  dir = await mkdtemp(join(tmpdir(), 'automod-cli-'));
  env = {
    REDIS_URL,
    AUTOMOD_PREFIX: h.config.prefix,
    VIDEOSDK_API_BASE: h.simulator.url,
    VIDEOSDK_API_KEY: 'test-key',
    VIDEOSDK_SECRET: h.secret,
    USER: 'tester',
  };
});
afterAll(async () => {
  await h?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

function cli(...args: string[]) {
  return runCli(args, env);
}

/** Runs independent commands a few at a time (each is a Node process). */
async function clis(commands: readonly (readonly string[])[]) {
  const results: Awaited<ReturnType<typeof runCli>>[] = [];
  let next = 0;
  const lane = async () => {
    while (next < commands.length) {
      const i = next++;
      results[i] = await runCli(commands[i]!, env);
    }
  };
  await Promise.all([lane(), lane()]);
  return results;
}

function meeting(size: number, prefix = 'u'): { sid: string; people: string[] } {
  const sid = sessionId();
  const people = Array.from({ length: size }, (_, i) => `${prefix}${i}`);
  h.simulator.addSession({
    id: sid,
    meetingId: `room-${sid}`,
    participants: people.map((participantId) => ({ participantId, name: participantId.toUpperCase() })),
  });
  return { sid, people };
}

function stillIn(sid: string): string[] {
  return (
    h.simulator
      .getSession(sid)
      ?.participants.filter((p) => p.timelog.at(-1)?.end === null)
      .map((p) => p.participantId) ?? []
  );
}

interface Row {
  sessionId: string;
  participantId: string;
  jobId: string;
  outcome: string;
  detail: string;
}

describe('automod remove', () => {
  it('--file CSV: reports bad lines by number, carries out the good ones, exits 1 for the bad lines', async () => {
    const { sid, people } = meeting(20);
    const lines = ['sessionId,participantId,meetingId,reason', ...people.map((p) => `${sid},${p},room-${sid},csv test`)];
    lines.splice(3, 0, `${sid},,room-${sid},no participant`);
    lines.splice(8, 0, `${sid},"broken,quote`);
    const file = join(dir, 'bulk.csv');
    await writeFile(file, `${lines.join('\r\n')}\r\n`);

    const res = await cli('remove', '--file', file);
    expect(res.stderr).toContain('line 4: participantId is missing');
    expect(res.stderr).toContain('line 9: not valid CSV');
    expect(res.stderr).toContain('2 invalid line(s) skipped');
    expect(res.stdout).toMatch(/20 participant\(s\): removed: 20/);
    for (const p of people) expect(res.stdout).toMatch(new RegExp(`${sid}\\s+${p}\\s+removed`));
    expect(res.code).toBe(1);
    expect(stillIn(sid)).toEqual([]);
    const removes = h.simulator.calls().filter((c) => c.operation === 'remove' && c.sessionId === sid && c.applied);
    expect(removes).toHaveLength(20);
  });

  it('--file JSON lines from stdin with --json: one row per participant, exit 0', async () => {
    const { sid } = meeting(3);
    const input = [
      `{"sessionId":"${sid}","participantId":"u0","reason":"jsonl"}`,
      `{"sessionId":"${sid}","participantId":"u1"}`,
      `{"sessionId":"${sid}","participantId":"not-there"}`,
    ].join('\n');
    const res = await runCli(['remove', '--file', '-', '--json'], env, { input });
    expect(res.code).toBe(0);
    const rows = JSON.parse(res.stdout) as Row[];
    expect(rows.map((r) => [r.participantId, r.outcome])).toEqual([
      ['u0', 'removed'],
      ['u1', 'removed'],
      ['not-there', 'already-gone'],
    ]);
    expect(stillIn(sid)).toEqual(['u2']);
  });

  it('--session --all --except keeps the hosts; --participant --no-wait only enqueues', async () => {
    const { sid } = meeting(5);
    const all = await cli('remove', '--session', sid, '--all', '--except', 'u0', 'u4', '--reason', 'room cleared');
    expect(all.code).toBe(0);
    expect(all.stderr).toContain('kept (--except): u0, u4');
    expect(all.stdout).toContain('3 participant(s): removed: 3');
    expect(stillIn(sid).sort()).toEqual(['u0', 'u4']);

    const queued = await cli('remove', '--session', sid, '--participant', 'u0', '--no-wait', '--json');
    expect(queued.code).toBe(0);
    const [job] = JSON.parse(queued.stdout) as { jobId: string; collapsed: boolean }[];
    expect(job).toMatchObject({ jobId: expect.any(String), collapsed: false });
    const view = await h.api('GET', `/v1/jobs/${job!.jobId}`);
    expect(view.body).toMatchObject({
      data: { sessionId: sid, participantId: 'u0', requestedBy: 'operator:tester', reason: 'removed by an operator', verifyFirst: true },
    });
  });

  it('exits 1 with the outcome in the table when a removal is rejected', async () => {
    const { sid } = meeting(2);
    h.simulator.addFault({
      sessionId: sid,
      participantId: 'u1',
      operation: 'remove',
      status: 422,
      body: { message: 'participant is protected' },
      times: Infinity,
    });
    const res = await cli('remove', '--session', sid, '--participant', 'u0', 'u1');
    expect(res.code).toBe(1);
    expect(res.stdout).toMatch(new RegExp(`${sid}\\s+u1\\s+rejected\\s+\\S+\\s+422`));
    expect(res.stdout).toMatch(/removed: 1, rejected: 1|rejected: 1, removed: 1/);
  });

  it('refuses missing options (exit 2) and an unknown session (exit 1) with a message', async () => {
    const cases: [string[], RegExp, number][] = [
      [['remove'], /say whom to remove/, 2],
      [['remove', '--session', 'no-such-session', '--all'], /VideoSDK does not know session no-such-session/, 1],
    ];
    const results = await clis(cases.map(([args]) => args));
    cases.forEach(([args, message, code], i) => {
      expect(results[i]!.code, args.join(' ')).toBe(code);
      expect(results[i]!.stderr, args.join(' ')).toMatch(message);
    });
  });
});

describe('automod events add', () => {
  it('skips blank lines and # lines as rules test does, and reports the invalid ones by number', async () => {
    const sid = sessionId();
    const lines = [
      '# a fixtures-style comment',
      '',
      JSON.stringify({ type: 'session-started', sessionId: sid }),
      '   # indented comment',
      'not json',
      JSON.stringify({ type: 'custom-cli', sessionId: sid }),
    ];
    const res = await runCli(['events', 'add', '-'], env, { input: lines.join('\n') });
    expect(res.stdout).toBe('accepted 2, duplicates 0, invalid 1\n');
    expect(res.stderr).toBe('line 5: not valid JSON\n');
    expect(res.code).toBe(1);
  });
});

describe('inspection commands', () => {
  it('jobs --json prints exactly the GET /v1/jobs/:id objects; job, session --json and audit --json match the API', async () => {
    const { sid } = meeting(2);
    const removed = await cli('remove', '--session', sid, '--participant', 'u0', 'u1', '--json');
    expect(removed.code).toBe(0);
    const ids = (JSON.parse(removed.stdout) as Row[]).map((r) => r.jobId);

    const [jobs, bad, one, session, audit, auditBad] = (await clis([
      ['jobs', '--session', sid, '--json'],
      ['jobs', '--state', 'lost'],
      ['job', ids[0]!],
      ['session', sid, '--json'],
      ['audit', '--session', sid, '--json'],
      ['audit', '--since', 'last tuesday'],
    ])) as [CliResult, CliResult, CliResult, CliResult, CliResult, CliResult];

    expect(jobs.code).toBe(0);
    const listed = JSON.parse(jobs.stdout) as { id: string }[];
    expect(listed.map((j) => j.id).sort()).toEqual([...ids].sort());
    for (const view of listed) expect(view).toEqual((await h.api('GET', `/v1/jobs/${view.id}`)).body);
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/Allowed choices are waiting, prioritized, active, delayed, failed, completed, paused/);

    expect(one.code).toBe(0);
    expect(one.stdout).toMatch(/outcome\s+removed/);
    expect(one.stdout).toMatch(/VideoSDK calls:[\s\S]*GET get-session\s+200[\s\S]*POST remove\s+200/);

    expect(session.code).toBe(0);
    expect(JSON.parse(session.stdout)).toEqual((await h.api('GET', `/v1/sessions/${sid}`)).body);
    expect(audit.code).toBe(0);
    expect(JSON.parse(audit.stdout)).toEqual((await h.api('GET', `/v1/audit?sessionId=${sid}`)).body);
    expect(auditBad.code).toBe(2);
    expect(auditBad.stderr).toMatch(/--since must be an ISO time/);
  });
});

describe('replay, pause and resume', () => {
  it('replay --dry-run lists, replay --wait carries out, pause and resume show on /readyz', async () => {
    const { sid } = meeting(2);
    h.simulator.addFault({ sessionId: sid, status: 503, times: Infinity });
    const failed = await cli('remove', '--session', sid, '--participant', 'u0', 'u1');
    expect(failed.code).toBe(1);
    expect(failed.stdout).toContain('failed: 2');
    expect(failed.stdout).toContain('automod replay --dry-run');

    const dry = await cli('replay', '--session', sid, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('would replay 2 failed job(s)');
    h.simulator.clearFaults();

    const replay = await cli('replay', '--session', sid, '--wait', '--timeout', '10');
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain('replayed 2 failed job(s)');
    expect(replay.stdout).toContain('removed: 2');
    expect(stillIn(sid)).toEqual([]);
    expect((await cli('replay', '--session', sid)).stdout).toContain('replayed 0 failed job(s)');

    const paused = await cli('pause', '--reason', 'maintenance window');
    expect(paused.code).toBe(0);
    expect(paused.stdout).toContain('removals paused: maintenance window');
    const ready = await h.api('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect((ready.body as { reasons: string[] }).reasons).toContain('removals paused (operator): maintenance window');

    const resumed = await cli('resume');
    expect(resumed.stdout).toMatch(/removals resumed \(were paused \(operator\) since \S+: maintenance window\)/);
    expect((await h.api('GET', '/readyz')).status).toBe(200);
  });

  it('reports bad configuration with exit 2, every problem at once', async () => {
    const res = await runCli(['jobs'], { ...env, AUTOMOD_HTTP_PORT: 'eighty', VIDEOSDK_API_VERSION: 'v9', AUTOMOD_PREFIX: '{bad}' });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('configuration problem(s):');
    for (const name of ['AUTOMOD_HTTP_PORT', 'VIDEOSDK_API_VERSION', 'AUTOMOD_PREFIX']) expect(res.stderr).toContain(name);
  });
});
