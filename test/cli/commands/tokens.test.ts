import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runTokensAdd, runTokensRevoke } from '../../../src/cli/commands/tokens.js';
import { tokenSha256 } from '../../../src/http/tokens-file.js';
import { runCli } from '../../helpers/cli.js';
import { startHarness, type Harness } from '../../helpers/harness.js';
import { captureIo } from '../../helpers/io.js';

/** `automod tokens add|list|revoke` as an operator runs them, against a worker reading the same file. */
// Each command is a process of its own: slow on a busy machine.
describe('automod tokens', { timeout: 60_000 }, () => {
  let dir: string;
  let file: string;
  let h: Harness | undefined;
  let aliceToken = '';
  const tokens = (args: string[], env: Record<string, string> = {}) => runCli(['tokens', ...args], { AUTOMOD_TOKENS_FILE: file, ...env });
  const whoami = async (token: string) => (await h!.api('GET', '/v1/whoami', undefined, { authorization: `Bearer ${token}` })).status;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'automod-tokens-cli-'));
    file = join(dir, 'tokens.json');
  });
  afterAll(async () => {
    await h?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('adds a token: printed once on stdout, only its hash in the file, taken by a running worker', async () => {
    const first = await tokens(['add', 'token-server', '--role', 'gate']);
    expect(first.code).toBe(0);
    const gateToken = first.stdout.trim();
    expect(gateToken).toMatch(/^amt_[A-Za-z0-9_-]{43}$/);
    expect(first.stderr).toContain(`added "token-server" (role gate) to ${file}; its token, on stdout, is shown this once`);
    const text = await readFile(file, 'utf8');
    expect(JSON.parse(text)).toEqual([{ name: 'token-server', role: 'gate', sha256: tokenSha256(gateToken) }]);
    expect(text).not.toContain(gateToken);

    h = await startHarness('tokens-cli', { AUTOMOD_TOKENS_FILE: file });
    expect(await whoami(gateToken)).toBe(200);
    const added = await tokens(['add', 'alice', '--role', 'moderator', '--json']);
    expect(added.code).toBe(0);
    const alice = JSON.parse(added.stdout) as { name: string; role: string; token: string; file: string };
    expect(alice).toEqual({ name: 'alice', role: 'moderator', token: expect.stringMatching(/^amt_/), file });
    aliceToken = alice.token;
    await expect.poll(() => whoami(aliceToken), { timeout: 5000, interval: 100 }).toBe(200);
    // Written whole by a rename: nothing is left beside it.
    expect(await readdir(dir)).toEqual(['tokens.json']);
  });

  it('lists names and roles, never hashes', async () => {
    const listed = await tokens(['list'], { AUTOMOD_API_TOKEN: 'tokens-cli-api-token-0123' });
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n').map((l) => l.trim().split(/\s{2,}/))).toEqual(
      expect.arrayContaining([
        ['api', 'admin', 'AUTOMOD_API_TOKEN'],
        ['token-server', 'gate', file],
        ['alice', 'moderator', file],
      ]),
    );
    expect(listed.stdout).not.toMatch(/[0-9a-f]{64}/);
    const json = JSON.parse((await tokens(['list', '--json'])).stdout) as { tokens: unknown[] };
    expect(json.tokens).toEqual([
      { name: 'token-server', role: 'gate', from: file },
      { name: 'alice', role: 'moderator', from: file },
    ]);
  });

  it('revokes a token: the running worker refuses it within 5 seconds', async () => {
    const before = JSON.parse(await readFile(file, 'utf8')) as { name: string }[];
    expect(before.map((e) => e.name)).toEqual(['token-server', 'alice']);
    const aliceHash = (before as { name: string; sha256: string }[]).find((e) => e.name === 'alice')!.sha256;
    const revoked = await tokens(['revoke', 'alice']);
    expect(revoked).toMatchObject({
      code: 0,
      stdout: 'revoked "alice" (role moderator): the workers refuse its token within 5 s, without a restart\n',
    });
    expect(await readFile(file, 'utf8')).not.toContain(aliceHash);
    await expect.poll(() => whoami(aliceToken), { timeout: 5000, interval: 100 }).toBe(401);
    const listed = JSON.parse((await tokens(['list', '--json'])).stdout) as { tokens: { name: string }[] };
    expect(listed.tokens.map((t) => t.name)).toEqual(['token-server']);
  });

  it('refuses what it cannot do, saying why, and leaves the file as it was', async () => {
    const unchanged = await readFile(file, 'utf8');
    // As a shell meets them: the exit codes.
    const cases: [string[], Record<string, string>, number, RegExp][] = [
      [['add', 'token-server', '--role', 'admin'], {}, 1, /a token named "token-server" exists already \(role gate\); to rotate it/],
      [['add', 'Alice Smith', '--role', 'moderator'], {}, 2, /a token name is 1 to 64 lower-case letters/],
      [['add', 'bob', '--role', 'root'], {}, 2, /Allowed choices are gate, ingest, metrics, moderator, operator, admin/],
    ];
    for (const [args, env, code, stderr] of cases) {
      const result = await tokens(args, env);
      expect(result.code, args.join(' ')).toBe(code);
      expect(result.stderr, args.join(' ')).toMatch(stderr);
    }
    // The rest through the commands themselves.
    const io = captureIo();
    await expect(runTokensAdd(file, 'api', 'admin', { json: false }, io)).rejects.toThrow('"api" is the name of AUTOMOD_API_TOKEN');
    await expect(runTokensRevoke(file, 'api', { json: false }, io)).rejects.toThrow(/change it in the workers' environment and restart/);
    expect(await runTokensRevoke(file, 'nobody', { json: true }, io)).toBe(1);
    expect(JSON.parse(io.out())).toEqual({
      error: `no token named "nobody" in ${file} (automod tokens list shows them)`,
      code: 'ERR_NOT_FOUND',
    });
    expect(await readFile(file, 'utf8')).toBe(unchanged);

    // A file that does not read is not written over: the workers still hold its last good tokens.
    const broken = join(dir, 'broken.json');
    await writeFile(broken, '[{"name": "ops", "role": "operator", "token": "amt_plain"}]');
    const refused = await runCli(['tokens', 'add', 'bob', '--role', 'gate', '--file', broken], {});
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain(`AUTOMOD_TOKENS_FILE: ${broken}: $[0].sha256: is required`);
    expect(refused.stderr).not.toContain('amt_plain');
    expect(await readFile(broken, 'utf8')).toBe('[{"name": "ops", "role": "operator", "token": "amt_plain"}]');
    // Nowhere to write.
    const nowhere = await runCli(['tokens', 'list'], {});
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toMatch(/no tokens file: set AUTOMOD_TOKENS_FILE \(the workers read it\) or give --file/);
  });
});
