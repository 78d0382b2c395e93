import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../../src/cli/commands/audit.js';
import type { ShadowRuleSummary } from '../../src/moderation/shadow-summary.js';
import type { AuditRecord } from '../../src/store/audit.js';
import { sessionId, startHarness, type Harness } from '../helpers/harness.js';
import { fired, send } from '../helpers/events.js';
import { captureIo } from '../helpers/io.js';

// The shipped join-flood rule runs in shadow: its hits are recorded like real ones (outcome
// skipped-shadow, no removal) and `automod audit --mode shadow` summarises them per rule.

describe('shadow reports', () => {
  let h: Harness;
  let sid: string;
  beforeAll(async () => {
    h = await startHarness('rules-shadow', { AUTOMOD_EVENT_CONCURRENCY: '1' });
    sid = sessionId();
    h.simulator.addSession({
      id: sid,
      meetingId: `room-${sid}`,
      participants: [
        { participantId: 'looper', name: 'Looper' },
        { participantId: 'bouncer', name: 'Bouncer' },
      ],
    });
    // Stamped just before they are sent (within AUTOMOD_CLOCK_SKEW_SECONDS of their receipt).
    const t0 = Date.now() - 60_000;
    const join = (participantId: string, s: number) => ({
      id: `${sid}-${randomBytes(4).toString('hex')}`,
      type: 'participant-joined',
      meetingId: `room-${sid}`,
      sessionId: sid,
      participantId,
      participantName: participantId,
      timestamp: new Date(t0 + s * 1000).toISOString(),
      data: {},
    });
    // looper: 5 joins in 40 s (the 4th and 5th hit); bouncer: 4 joins in 30 s (one hit).
    const logged = await send(h, [0, 10, 20, 30, 40].map((s) => join('looper', s)).concat([0, 10, 20, 30].map((s) => join('bouncer', s))));
    expect(logged.map(fired).flat()).toEqual(['join-flood', 'join-flood', 'join-flood']);
  });
  afterAll(async () => {
    await h?.close();
  });

  it('records shadow hits like real ones, with outcome skipped-shadow and no removal', async () => {
    const records = await h.automod.services.audit.query({ sessionId: sid, kind: 'rule-hit' });
    expect(records).toHaveLength(3);
    for (const r of records) {
      expect(r).toMatchObject({
        rule: 'join-flood',
        mode: 'shadow',
        action: 'remove-participant',
        outcome: 'skipped-shadow',
        rulesVersion: h.automod.rules!.status().version,
      });
      expect(r.jobId).toBeUndefined();
    }
    expect(h.simulator.calls().filter((c) => c.sessionId === sid && c.operation === 'remove')).toEqual([]);
  });

  it('automod audit --mode shadow summarises per rule: hits, participants, first and last seen', async () => {
    const records = await h.automod.services.audit.query({ sessionId: sid, kind: 'rule-hit' });
    const [last, , first] = records.map((r) => r.at.replace(/\./g, '\\.'));
    const io = captureIo();
    expect(await runAudit(h.automod.services, { mode: 'shadow', session: sid, limit: 1, json: false }, io, Date.now())).toBe(0);
    const text = io.out();
    // The summary covers every matching hit, not only the --limit records listed.
    expect(text).toMatch(new RegExp(`join-flood\\s+remove\\s+3\\s+2\\s+1\\s+${first}\\s+${last}\\s+${h.automod.rules!.status().version}`));
    expect(text).toMatch(new RegExp(`join-flood\\s+${sid}\\s+looper\\s+2`));

    const json = captureIo();
    await runAudit(h.automod.services, { mode: 'shadow', session: sid, limit: 100, json: true }, json, Date.now());
    const body = JSON.parse(json.out()) as { records: AuditRecord[]; summary: ShadowRuleSummary[] };
    expect(body.records).toHaveLength(3);
    expect(body.summary).toEqual([
      expect.objectContaining({
        rule: 'join-flood',
        hits: 3,
        participants: 2,
        sessions: 1,
        firstSeen: records.at(-1)!.at,
        lastSeen: records[0]!.at,
      }),
    ]);
  });
});
