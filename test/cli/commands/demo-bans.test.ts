import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { REDIS_URL } from '../../helpers/redis.js';

describe('npm run demo (automod demo)', () => {
  it('shows a banned participant removed on rejoin, the token gate answering banned, and a raid contained by a lockdown', async () => {
    const result = await runCli(['demo'], { REDIS_URL }, { timeoutMs: 40_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Dave was removed again \d+ ms after his join event \(rule "ban"\)/);
    expect(result.stdout).toMatch(/GET \/v1\/bans\/check .*"banned":true.*"scope":"meeting"/);
    // The raid: the wave locks the meeting, every bot is removed, the host and the regulars stay.
    expect(result.stdout).toMatch(/Rule join-wave locked the meeting \(ask mode\)/);
    expect(result.stdout).toMatch(/40 of 40 bots removed \(rule "lockdown"\) \d+ ms after the wave began; 0 still in/);
    expect(result.stdout).toMatch(/Untouched: Alice \(host\), Support Sam, Bob, Carol\./);
    expect(result.stdout).toMatch(/GET \/v1\/gate: .*"permission":"ask_join","reason":"lockdown"/);
    expect(result.stdout).toMatch(/Still in the meeting: Alice \(host\), Support Sam, Bob, Carol\./);
  }, 45_000);
});
