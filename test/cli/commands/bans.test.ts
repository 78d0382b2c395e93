import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../../src/simulator/simulator.js';
import { createBanStore } from '../../../src/store/bans.js';
import { createKeys } from '../../../src/store/keys.js';
import { runCli } from '../../helpers/cli.js';
import { REDIS_URL, testConfig, testRedis, uniquePrefix } from '../../helpers/redis.js';

const prefix = uniquePrefix('cli-bans');
const config = testConfig(prefix);
const { redis, cleanup } = testRedis(config);
let simulator: Simulator;
let env: Record<string, string>;
const cli = (...args: string[]) => runCli(args, env);

beforeAll(async () => {
  simulator = createSimulator({});
  const url = await simulator.listen(0);
  env = { REDIS_URL, AUTOMOD_PREFIX: prefix, USER: 'alice', VIDEOSDK_API_BASE: url, VIDEOSDK_TOKEN: 'x.y.z', VIDEOSDK_API_VERSION: 'v2' };
});
afterAll(async () => {
  await simulator?.close();
  await cleanup();
});

describe('automod ban / bans / unban / undo', () => {
  it('bans, lists with time left, unbans; every change is audited as the operator', async () => {
    const made = await cli('ban', '--participant', 'p1', '--meeting', 'room-1', '--for', '24h', '--reason', 'trolling', '--json');
    expect(made.code, made.stderr).toBe(0);
    expect(JSON.parse(made.stdout).ban).toMatchObject({ participantId: 'p1', scope: 'meeting', by: 'operator:alice' });
    expect((await cli('ban', '--participant', 'p1', '--all-meetings', '--for', 'permanent')).stdout).toMatch(/every meeting permanently/);

    const listed = await cli('bans', '--participant', 'p1');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/room-1\s+(23h 59m|1d)/);
    expect(listed.stdout).toMatch(/\*\s+permanent/);
    const json = JSON.parse((await cli('bans', '--meeting', 'room-1', '--json')).stdout) as { bans: { timeLeftSeconds: number }[] };
    expect(json.bans).toHaveLength(1);
    expect(json.bans[0]!.timeLeftSeconds).toBeGreaterThan(86_000);

    expect((await cli('unban', '--participant', 'p1', '--all-meetings')).code).toBe(0);
    const missing = await cli('unban', '--participant', 'p1', '--all-meetings');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe('error: no ban of p1 in every meeting (it may have expired)\n');
    expect((await cli('unban', '--participant', 'p1', '--meeting', 'room-1')).code).toBe(0);
    const audit = JSON.parse((await cli('audit', '--participant', 'p1', '--json')).stdout) as {
      records: { kind: string; requestedBy: string }[];
    };
    expect(audit.records.map((r) => r.kind).sort()).toEqual(['ban', 'ban', 'unban', 'unban']);
    expect(audit.records.every((r) => r.requestedBy === 'operator:alice')).toBe(true);
  });

  it.each([
    [['ban', '--participant', 'p', '--meeting', 'm', '--for', '0m'], /--for must be longer than zero/],
    [['ban', '--participant', 'p', '--meeting', 'm', '--for', '-1h'], /--for must be longer than zero/],
    [['ban', '--participant', 'p', '--meeting', 'm', '--for', '400d'], /at most 365 days/],
    [['ban', '--participant', 'p', '--meeting', 'm', '--for', 'a while'], /--for must be a duration like/],
    [['ban', '--participant', 'p', '--for', '1h'], /give --meeting MEETING_ID .* or --all-meetings/],
    [['ban', '--participant', 'p', '--meeting', 'm', '--all-meetings', '--for', '1h'], /not both/],
    [['ban', '--participant', 'p', '--meeting', 'm', '--for', '1h', '--remove-now'], /--remove-now needs --session/],
    [['undo', '--rule', 'r', '--since', '1h', '--until', '2h'], /--since must not be after --until/],
    [['remove', '--session', 's', '--participant', 'p', '--ban', '0d', '--no-wait'], /--ban must be longer than zero/],
  ])('refuses %j with exit 2 and a clear message, changing nothing', async (args, message) => {
    const result = await cli(...args);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(await redis.zcard(createKeys(config.keyPrefix).banIndex())).toBe(0);
  });

  it('undo --dry-run lists without changing; undo lifts and says removals cannot be taken back', async () => {
    const bans = createBanStore({ redis, keys: createKeys(config.keyPrefix) });
    await bans.create({
      participantId: 'p9',
      scope: 'meeting',
      meetingId: 'm9',
      forMs: 3_600_000,
      reason: 'x',
      rule: 'bad-rule',
      rulesVersion: 'v1',
      by: 'rule:bad-rule',
    });
    const dry = await cli('undo', '--rule', 'bad-rule', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/dry run: nothing changed/);
    expect(dry.stdout).toMatch(/would lift 1 ban/);
    expect(await bans.lookup('m9', 'p9')).toBeDefined();
    const other = JSON.parse((await cli('undo', '--rule', 'bad-rule', '--rules-version', 'v2', '--json')).stdout) as { bans: unknown[] };
    expect(other.bans).toEqual([]);
    const done = await cli('undo', '--rule', 'bad-rule', '--rules-version', 'v1');
    expect(done.stdout).toMatch(/lifted 1 ban/);
    expect(done.stdout).toMatch(/cannot be taken back in VideoSDK/);
    expect(await bans.lookup('m9', 'p9')).toBeUndefined();
  });

  it('remove --ban bans in the meeting VideoSDK names for the session', async () => {
    const sid = randomBytes(12).toString('hex');
    simulator.addSession({ id: sid, roomId: 'room-rm', participants: [{ participantId: 'p-rm' }] });
    const result = await cli('remove', '--session', sid, '--participant', 'p-rm', '--ban', '7d', '--no-wait', '--reason', 'raid');
    expect(result.stderr).toMatch(/banned p-rm from meeting room-rm until/);
    const bans = createBanStore({ redis, keys: createKeys(config.keyPrefix) });
    expect(await bans.lookup('room-rm', 'p-rm')).toMatchObject({ reason: 'raid', by: 'operator:alice' });
  });
});
