import { afterAll, describe, expect, it } from 'vitest';
import type { UndoResult } from '../../../src/removals/ban-actions.js';
import { createAuditStore } from '../../../src/store/audit.js';
import { createKeys } from '../../../src/store/keys.js';
import { runCli } from '../../helpers/cli.js';
import { REDIS_URL, testConfig, testRedis, uniquePrefix } from '../../helpers/redis.js';

const prefix = uniquePrefix('cli-undo');
const config = testConfig(prefix);
const { redis, cleanup } = testRedis(config);
const env = { REDIS_URL, AUTOMOD_PREFIX: prefix, USER: 'alice' };
afterAll(async () => {
  await cleanup();
});

describe('automod undo', () => {
  it('counts and lists the people a rule removed, not its removals; --json keeps each removal', async () => {
    const audit = createAuditStore({ redis, keys: createKeys(config.keyPrefix), maxRecords: 1000 });
    const t0 = Date.now() - 60_000;
    const removal = (participantId: string, sessionId: string, meetingId: string | undefined, offsetMs: number) =>
      audit.append({
        at: new Date(t0 + offsetMs).toISOString(),
        kind: 'removal',
        outcome: 'removed',
        rule: 'bad-rule',
        participantId,
        sessionId,
        ...(meetingId !== undefined ? { meetingId } : {}),
        jobId: `job-${participantId}-${sessionId}`,
        reason: 'bad rule',
      });
    // Three people, four removals: p1 joined again (a new session of the same meeting) and was removed again.
    await removal('p1', 's1', 'm1', 0);
    await removal('p2', 's1', 'm1', 1000);
    await removal('p1', 's2', 'm1', 2000);
    await removal('p3', 's3', undefined, 3000);
    // Another rule's removal is not counted.
    await audit.append({ at: new Date(t0).toISOString(), kind: 'removal', outcome: 'removed', rule: 'good-rule', participantId: 'p4' });

    const dry = await runCli(['undo', '--rule', 'bad-rule', '--dry-run'], env);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain('3 participant(s) removed by this rule (4 removals; --json lists each):');
    expect(dry.stdout).toMatch(/p1\s+m1\s+s2, s1\s+2\s+\S+Z/);
    expect(dry.stdout).toMatch(/p2\s+m1\s+s1\s+1\s+\S+Z/);
    expect(dry.stdout).toMatch(/p3\s+s3\s+1\s+\S+Z/);
    expect(dry.stdout).not.toContain('p4');

    const json = await runCli(['undo', '--rule', 'bad-rule', '--dry-run', '--json'], env);
    const result = JSON.parse(json.stdout) as UndoResult;
    expect(result.removed).toHaveLength(4);
    expect(result.participants).toEqual([
      { participantId: 'p3', sessionIds: ['s3'], removals: 1, lastAt: new Date(t0 + 3000).toISOString() },
      { participantId: 'p1', meetingId: 'm1', sessionIds: ['s2', 's1'], removals: 2, lastAt: new Date(t0 + 2000).toISOString() },
      { participantId: 'p2', meetingId: 'm1', sessionIds: ['s1'], removals: 1, lastAt: new Date(t0 + 1000).toISOString() },
    ]);
  });
});
