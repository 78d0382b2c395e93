import { describe, expect, it } from 'vitest';
import { runCli } from '../../helpers/cli.js';
import { REDIS_URL } from '../../helpers/redis.js';

describe('npm run demo (automod demo)', () => {
  it('shows a banned participant removed on rejoin and the token gate answering banned', async () => {
    const result = await runCli(['demo'], { REDIS_URL }, { timeoutMs: 40_000 });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/Dave was removed again \d+ ms after his join event \(rule "ban"\)/);
    expect(result.stdout).toMatch(/GET \/v1\/bans\/check .*"banned":true.*"scope":"meeting"/);
  }, 45_000);
});
