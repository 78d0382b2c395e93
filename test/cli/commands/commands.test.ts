import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../../../src/cli/commands/audit.js';
import { runJob, runJobs } from '../../../src/cli/commands/jobs.js';
import { runSession } from '../../../src/cli/commands/session.js';
import { runPause, runResume } from '../../../src/cli/commands/pause.js';
import { parseRemovalFile, removalBody } from '../../../src/cli/commands/remove-input.js';
import { runRemove, type RemoveOptions } from '../../../src/cli/commands/remove.js';
import { UsageError } from '../../../src/shared/errors.js';
import { sessionId, startHarness, waitFor, type Harness } from '../../helpers/harness.js';
import { captureIo } from '../../helpers/io.js';

describe('parseRemovalFile', () => {
  it('reads CSV with a header in any case and order, CRLF and a BOM, skipping blank lines', () => {
    const text = '\uFEFFParticipantId,SESSIONID,reason,notes\r\np1,s1,spam,x\r\n\r\n p2 , s1 ,,\r\n"p,3",s2,"said ""hi""",\r\n';
    expect(parseRemovalFile(text)).toEqual({
      items: [
        { sessionId: 's1', participantId: 'p1', reason: 'spam' },
        { sessionId: 's1', participantId: 'p2' },
        { sessionId: 's2', participantId: 'p,3', reason: 'said "hi"' },
      ],
      problems: [],
    });
  });

  it('reports each bad line with its number and keeps every good one', () => {
    const text = ['sessionId,participantId,meetingId', 's1,p1', 's1,', ',p3', 's1,"p4', `s1,${'x'.repeat(201)}`, 's1,p6,room'].join('\n');
    const { items, problems } = parseRemovalFile(text);
    expect(items.map((i) => i.participantId)).toEqual(['p1', 'p6']);
    expect(items[1]).toEqual({ sessionId: 's1', participantId: 'p6', meetingId: 'room' });
    expect(problems).toEqual([
      { line: 3, error: 'participantId is missing' },
      { line: 4, error: 'sessionId is missing' },
      { line: 5, error: 'not valid CSV (check the quotes)' },
      { line: 6, error: 'participantId must be at most 200 characters' },
    ]);
  });

  it('reads JSON lines, with the same per-line reporting', () => {
    const text = [
      '{"sessionId":"s1","participantId":"p1","reason":"r"}',
      '',
      '{"sessionId":"s1"}',
      '[1,2]',
      '{nope',
      '{"sessionId":"s2","participantId":"p2","meetingId":"m"}',
    ].join('\n');
    const { items, problems } = parseRemovalFile(text);
    expect(items).toEqual([
      { sessionId: 's1', participantId: 'p1', reason: 'r' },
      { sessionId: 's2', participantId: 'p2', meetingId: 'm' },
    ]);
    expect(problems).toEqual([
      { line: 3, error: 'participantId is missing' },
      { line: 4, error: 'must be a JSON object' },
      { line: 5, error: 'not valid JSON' },
    ]);
  });

  it('refuses CSV without a header naming sessionId and participantId, and reads an empty file as nothing', () => {
    expect(() => parseRemovalFile('s1,p1\ns1,p2\n')).toThrow(/line 1: the CSV file needs a header line/);
    expect(parseRemovalFile('\n\n')).toEqual({ items: [], problems: [] });
  });
});

describe('removalBody', () => {
  const base: RemoveOptions = { wait: true, json: false, timeout: 0, requestedBy: 'operator:test' };
  const io = captureIo();
  it('turns each way of naming participants into a request', async () => {
    expect((await removalBody({ ...base, session: 's', participant: ['a', 'b'], reason: 'r', meeting: 'm' }, io)).body).toEqual({
      removals: [
        { sessionId: 's', participantId: 'a', meetingId: 'm', reason: 'r' },
        { sessionId: 's', participantId: 'b', meetingId: 'm', reason: 'r' },
      ],
    });
    expect((await removalBody({ ...base, session: 's', all: true, except: ['h'] }, io)).body).toEqual({
      sessionId: 's',
      all: true,
      except: ['h'],
    });
    const fromStdin = await removalBody(
      { ...base, file: '-', reason: 'default reason' },
      captureIo({ stdin: 'sessionId,participantId,reason\ns,a,own\ns,b,\n' }),
    );
    expect(fromStdin.body).toEqual({
      removals: [
        { sessionId: 's', participantId: 'a', reason: 'own' },
        { sessionId: 's', participantId: 'b', reason: 'default reason' },
      ],
    });
  });

  it('refuses options that contradict each other', async () => {
    const bad: [Partial<RemoveOptions>, RegExp][] = [
      [{}, /say whom to remove/],
      [{ participant: ['p'] }, /say whom to remove/],
      [{ session: 's' }, /needs --participant P\.\.\. or --all/],
      [{ session: 's', participant: ['p'], all: true }, /either --participant or --all/],
      [{ session: 's', participant: ['p'], except: ['q'] }, /--except only goes with --all/],
      [{ file: 'x.csv', session: 's' }, /--file names the sessions itself/],
      [{ file: 'x.csv', all: true }, /--file names the sessions itself/],
    ];
    for (const [options, message] of bad) {
      await expect(removalBody({ ...base, ...options }, io), JSON.stringify(options)).rejects.toThrow(UsageError);
      await expect(removalBody({ ...base, ...options }, io)).rejects.toThrow(message);
    }
  });
});

describe('operator commands in-process', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('commands');
  });
  afterAll(async () => {
    await h?.close();
  });
  const options = (o: Partial<RemoveOptions>): RemoveOptions => ({
    wait: true,
    json: false,
    timeout: 10,
    requestedBy: 'operator:test',
    ...o,
  });

  it('remove: a progress bar on a terminal, then the table; nothing valid means exit 1', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'a' }, { participantId: 'b' }, { participantId: 'c' }] });
    const io = captureIo({ tty: true });
    expect(await runRemove(h.automod.services, options({ session: sid, participant: ['a', 'b', 'c', 'a'] }), io)).toBe(0);
    expect(io.err()).toMatch(/removing \[[^\]]+\] 3\/3 \| removed 3/);
    expect(io.out()).toContain('4 participant(s): removed: 4');
    // The repeated participant joined the first request: one job, one call.
    const rows = io
      .out()
      .split('\n')
      .filter((l) => l.startsWith(sid));
    expect(rows.filter((l) => /\sa\s/.test(l))).toHaveLength(2);
    expect(h.simulator.calls().filter((c) => c.operation === 'remove' && c.sessionId === sid && c.participantId === 'a')).toHaveLength(1);

    const empty = captureIo({ stdin: 'sessionId,participantId\n,\n' });
    expect(await runRemove(h.automod.services, options({ file: '-' }), empty)).toBe(1);
    expect(empty.err()).toContain('line 2: sessionId is missing; participantId is missing');
    expect(empty.err()).toContain('nothing to remove');
  });

  it('remove: stops waiting at the timeout and says what is still pending (exit 1)', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'slow' }] });
    h.simulator.addFault({ sessionId: sid, operation: 'get-session', delayMs: 3000, times: 1 });
    const io = captureIo();
    expect(await runRemove(h.automod.services, options({ session: sid, participant: ['slow'], timeout: 0.5 }), io)).toBe(1);
    expect(io.out()).toMatch(/slow\s+pending/);
    expect(io.err()).toContain('timed out: 1 removal(s) still pending; they go on in the workers');
  });

  it('jobs, job, session and audit print readable tables', async () => {
    const sid = sessionId();
    h.simulator.addSession({
      id: sid,
      participants: [
        { participantId: 'x1', name: 'Xavier' },
        { participantId: 'x2', name: 'Yolanda' },
      ],
    });
    const removed = captureIo();
    expect(
      await runRemove(h.automod.services, options({ session: sid, participant: ['x1'], reason: 'table test', json: true }), removed),
    ).toBe(0);
    const [row] = JSON.parse(removed.out()) as { jobId: string }[];

    const jobs = captureIo();
    await runJobs(h.automod.services, { session: sid, limit: 10, json: false }, jobs);
    expect(jobs.out()).toMatch(new RegExp(`${row!.jobId}\\s+completed\\s+1\\s+removed\\s+${sid}\\s+x1\\s+operator:test`));
    const limited = captureIo();
    await runJobs(h.automod.services, { limit: 1, json: false }, limited);
    expect(limited.err()).toContain('only the first 1 shown');

    const job = captureIo();
    expect(await runJob(h.automod.services, row!.jobId, { json: false }, job)).toBe(0);
    expect(job.out()).toMatch(/state\s+completed/);
    expect(job.out()).toMatch(/reason\s+table test/);
    const noJob = captureIo();
    expect(await runJob(h.automod.services, 'nope', { json: false }, noJob)).toBe(1);
    expect(noJob.err()).toMatch(/^no job nope/);

    const session = captureIo();
    expect(await runSession(h.automod.services, sid, { json: false }, session)).toBe(0);
    expect(session.out()).toMatch(/x1\s+Xavier\s+no/);
    expect(session.out()).toMatch(/x2\s+Yolanda\s+yes/);
    expect(session.out()).toContain('1 of 2 still in the session');
    expect(session.out()).toMatch(new RegExp(`x1\\s+removed\\s+table test\\s+${row!.jobId}`));

    const audit = captureIo();
    await runAudit(h.automod.services, { session: sid, limit: 10, json: false }, audit, Date.now());
    expect(audit.out()).toMatch(/removal\s+removed\s+\S+\s+x1\s+operator:test\s+\S+\s+GET 200 \d+ms, POST 200 \d+ms\s+table test/);
    expect(audit.out()).toContain('1 record(s)');
  });

  it('pause and resume say what they did, and jobs shows the waiting removals as paused', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, participants: [{ participantId: 'w1' }] });
    const paused = captureIo();
    await runPause(h.automod.services, { reason: 'drill', requestedBy: 'operator:test', at: new Date().toISOString() }, paused);
    expect(paused.out()).toBe('removals paused: drill\n0 removal(s) waiting; automod resume starts them again\n');
    const queued = captureIo();
    expect(await runRemove(h.automod.services, options({ session: sid, participant: ['w1'], wait: false }), queued)).toBe(0);
    const jobs = captureIo();
    await runJobs(h.automod.services, { state: 'paused', session: sid, limit: 10, json: true }, jobs);
    expect((JSON.parse(jobs.out()) as { state: string }[]).map((j) => j.state)).toEqual(['paused']);

    const resumed = captureIo();
    await runResume(h.automod.services, { requestedBy: 'operator:test', at: new Date().toISOString() }, resumed);
    expect(resumed.out()).toMatch(
      /^removals resumed \(were paused \(operator\) since \S+: drill\)\n1 removal\(s\) were waiting; the workers take them now\n$/,
    );
    await waitFor(
      () => (h.simulator.getSession(sid)?.participants[0]?.timelog.at(-1)?.end ? true : undefined),
      5000,
      'the removal after resume',
    );
    const again = captureIo();
    await runResume(h.automod.services, { requestedBy: 'operator:test', at: new Date().toISOString() }, again);
    expect(again.out()).toMatch(/^removals resumed \(they were not paused\)/);
  });
});
