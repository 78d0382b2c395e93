import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BacktestReport } from '../../src/moderation/backtest.js';
import { runRulesBacktest } from '../../src/cli/commands/rules.js';
import { loadRulesFolder } from '../../src/rules/rules-source.js';
import { backtestFromLog } from '../../src/rules/rules-backtest.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { fired, send } from '../helpers/events.js';
import { captureIo } from '../helpers/io.js';
import { removeDir, tempRules } from '../helpers/rules-dir.js';

// Events go through the real worker with the shipped rules (join-flood in shadow: 4 joins in
// 60 s); then a candidate with an enforced, stricter join flood (3 joins in 60 s) is backtested
// against the event log.

describe('rules backtest against the event log', () => {
  let h: Harness;
  let candidate: string;
  let sid: string;
  let start: number;
  const T0 = Date.now() - 120_000;
  const ev = (type: string, participantId: string, s: number, data: Record<string, unknown> = {}) => ({
    id: `${sid}-${randomBytes(4).toString('hex')}`,
    type,
    meetingId: `room-${sid}`,
    sessionId: sid,
    participantId,
    participantName: participantId,
    timestamp: new Date(T0 + s * 1000).toISOString(),
    data,
  });

  beforeAll(async () => {
    candidate = await tempRules({}, {}, { shipped: true });
    const joinFlood = JSON.parse(await readFile(join(candidate, 'join-flood.json'), 'utf8')) as Record<string, unknown> & {
      conditions: { all: { value: unknown }[] };
    };
    joinFlood.mode = 'enforce';
    joinFlood.conditions.all[1]!.value = 3;
    await writeFile(join(candidate, 'join-flood.json'), JSON.stringify(joinFlood, null, 2));
    h = await startHarness('rules-backtest', { AUTOMOD_EVENT_CONCURRENCY: '1' });
    sid = sessionId();
    start = Date.now();
    const logged = await send(h, [
      // looper: 4 joins in 60 s, the live shadow rule sees it on the 4th.
      ev('participant-joined', 'looper', 0),
      ev('participant-joined', 'looper', 10),
      ev('participant-joined', 'looper', 20),
      ev('participant-joined', 'looper', 30),
      // flaky: 3 joins in 60 s, nothing live; the candidate removes on the 3rd.
      ev('participant-joined', 'flaky', 0),
      ev('participant-joined', 'flaky', 25),
      ev('participant-joined', 'flaky', 50),
      // steady: 3 joins spread over more than a minute: nothing on either side.
      ev('participant-joined', 'steady', 0),
      ev('participant-joined', 'steady', 40),
      ev('participant-joined', 'steady', 80),
      // A banned word: removed on both sides by the same rule.
      ev('chat-message', 'scammer', 5, { text: 'free crypto for all' }),
      // A host: joins often, exempt on both sides.
      ev('participant-joined', 'the-host', 0, { role: 'host' }),
      ev('participant-joined', 'the-host', 1, { role: 'host' }),
      ev('participant-joined', 'the-host', 2, { role: 'host' }),
      ev('participant-joined', 'the-host', 3, { role: 'host' }),
    ]);
    expect(logged.map(fired).flat().sort()).toEqual(['banned-words', 'join-flood']);
    // The banned word's removal ends with an audit record of its own: wait for it, so the check
    // that backtests write nothing does not count it.
    await waitFor(
      async () => ((await h.automod.services.audit.query({ limit: 1000 })).some((r) => r.kind === 'removal') ? true : undefined),
      15_000,
      "the banned word's removal",
    );
  });
  afterAll(async () => {
    await h?.close();
    await removeDir(candidate);
  });

  it('shows who the candidate would remove newly, and what stays the same', async () => {
    const loaded = await loadRulesFolder(candidate);
    const report = await backtestFromLog(h.automod.services, loaded.ruleSet!, { since: start });
    expect(report.events).toBe(15);
    expect(report.liveVersions).toEqual([{ version: h.automod.rules!.status().version, events: 15 }]);
    const changes = report.subjects.map((s) => [s.participantId, s.effect, s.change, s.live?.rules ?? null, s.candidate?.rules ?? null]);
    expect(changes).toEqual([
      ['flaky', 'remove', 'new', null, ['join-flood']],
      ['looper', 'remove', 'new', null, ['join-flood']],
      ['looper', 'shadow', 'gone', ['join-flood'], null],
      ['scammer', 'remove', 'same', ['banned-words'], ['banned-words']],
    ]);
    // looper is removed at the 3rd join, 20 s in.
    expect(report.subjects.find((s) => s.participantId === 'looper' && s.effect === 'remove')?.candidate?.firstAt).toBe(
      new Date(T0 + 20_000).toISOString(),
    );
    expect(report.rules.find((r) => r.rule === 'join-flood')).toEqual({
      rule: 'join-flood',
      liveModes: ['shadow'],
      candidateMode: 'enforce',
      live: { hits: 1, participants: 1 },
      candidate: { hits: 3, participants: 2 },
    });
  });

  it('prints the comparison side by side, and as JSON; nothing is written', async () => {
    const auditBefore = (await h.automod.services.audit.query({ limit: 1000 })).length;
    const io = captureIo();
    expect(
      await runRulesBacktest(h.automod.services, candidate, { since: new Date(start).toISOString(), json: false }, io, Date.now()),
    ).toBe(0);
    const text = io.out();
    expect(text).toMatch(/^Backtest of .* \(version [0-9a-f]{12}\): 15 events processed/);
    expect(text).toMatch(/join-flood\s+shadow\s+1\s+1\s+enforce\s+3\s+2\s+\+2/);
    expect(text).toMatch(/Removals: 2 newly removed, 0 no longer removed, 0 by another rule, 1 unchanged/);
    expect(text).toMatch(new RegExp(`newly removed\\s+${sid}\\s+flaky\\s+-\\s+join-flood`));
    expect(text).toMatch(new RegExp(`newly removed\\s+${sid}\\s+looper\\s+-\\s+join-flood`));
    expect(text).toContain('Shadow hits (recorded, not acted on): 0 new, 1 no longer, 0 by another rule, 0 unchanged');
    expect(text).toMatch(/^No hits on either side: .*chat-flood/m);

    const json = captureIo();
    await runRulesBacktest(h.automod.services, candidate, { since: '1h', json: true }, json, Date.now());
    const report = JSON.parse(json.out()) as BacktestReport;
    expect(report.summary.remove).toEqual({ new: 2, gone: 0, 'other-rule': 0, same: 1 });
    expect((await h.automod.services.audit.query({ limit: 1000 })).length).toBe(auditBefore);
  });

  it('refuses an invalid candidate, naming the problem', async () => {
    const bad = await tempRules({ 'bad.json': { name: 'Bad Name', conditions: { all: [] }, event: { type: 'flag' } } });
    try {
      const io = captureIo();
      expect(await runRulesBacktest(h.automod.services, bad, { since: '24h', json: false }, io, Date.now())).toBe(2);
      expect(io.err()).toContain('bad.json#Bad Name $.name: must be a slug');
    } finally {
      await removeDir(bad);
    }
  });
});
