import { mkdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokensFile, newToken, parseTokensFile, tokenSha256, tokensFileText } from '../../src/http/tokens-file.js';
import { ConfigError } from '../../src/shared/errors.js';
import { createLogger } from '../../src/shared/logger.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { runCli } from '../helpers/cli.js';
import { REDIS_URL, uniquePrefix } from '../helpers/redis.js';
import { tokensFixture, type TokensFixture } from '../helpers/tokens.js';

const hash = (token: string) => tokenSha256(token);
const problemsOf = (text: string, reserved: Parameters<typeof parseTokensFile>[1] = []) => {
  const parsed = parseTokensFile(text, reserved);
  return 'problems' in parsed ? parsed.problems : [];
};

describe('parseTokensFile', () => {
  it('reads names, roles and hashes', () => {
    const entries = [
      { name: 'token-server', role: 'gate', sha256: hash('a') },
      { name: 'alice', role: 'moderator', sha256: hash('b').toUpperCase() },
    ];
    expect(parseTokensFile(JSON.stringify(entries))).toEqual({
      entries: [
        { name: 'token-server', role: 'gate', sha256: hash('a') },
        { name: 'alice', role: 'moderator', sha256: hash('b') },
      ],
    });
    expect(parseTokensFile('[]')).toEqual({ entries: [] });
  });

  it('names every problem at its JSON path', () => {
    expect(
      problemsOf(
        JSON.stringify([
          { name: 'ops', role: 'root', sha256: hash('a') },
          { name: 'ops', role: 'operator', sha256: hash('b') },
          { name: 'Bad Name', role: 'gate', sha256: hash('c') },
          { name: 'api', role: 'admin', sha256: hash('d') },
          { name: 'twin', role: 'gate', sha256: hash('b') },
          { name: 'short', role: 'gate', sha256: 'abc123' },
          { role: 'gate', sha256: hash('e') },
          'ops',
        ]),
      ),
    ).toEqual([
      { path: '$[0].role', message: 'must be one of gate, ingest, metrics, moderator, operator, admin' },
      {
        path: '$[2].name',
        message: 'must be 1 to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
      },
      { path: '$[3].name', message: '"api" is the name of AUTOMOD_API_TOKEN' },
      { path: '$[5].sha256', message: 'must be the hex SHA-256 of the token (64 characters 0-9 a-f), never the token itself' },
      { path: '$[6].name', message: 'is required' },
      { path: '$[7]', message: 'must be an object {"name", "role", "sha256"}' },
    ]);
    // Each entry valid on its own: names and tokens given twice.
    expect(
      problemsOf(
        JSON.stringify([
          { name: 'ops', role: 'operator', sha256: hash('a') },
          { name: 'ops', role: 'gate', sha256: hash('b') },
          { name: 'twin', role: 'gate', sha256: hash('a') },
        ]),
      ),
    ).toEqual([
      { path: '$[1].name', message: '"ops" is also the name of $[0]' },
      { path: '$[2].sha256', message: 'is the token of $[0] too: one token, one name' },
    ]);
    expect(problemsOf('{"name": "ops"}')).toEqual([{ path: '$', message: 'must be a JSON array of {"name", "role", "sha256"}' }]);
    expect(
      problemsOf(JSON.stringify([{ name: 'ops', role: 'admin', sha256: hash('api-token') }]), [
        { sha256: hash('api-token'), variable: 'AUTOMOD_API_TOKEN' },
      ]),
    ).toEqual([{ path: '$[0].sha256', message: 'is the token of AUTOMOD_API_TOKEN: give this one a token of its own' }]);
  });

  it('never repeats a token put in the file by mistake, in any problem', () => {
    const token = newToken();
    const problems = [
      ...problemsOf(JSON.stringify([{ name: 'ops', role: 'admin', token }])),
      ...problemsOf(JSON.stringify([{ name: 'ops', role: 'admin', sha256: token }])),
      ...problemsOf(JSON.stringify([{ name: token, role: token, sha256: hash('x') }])),
      ...problemsOf(`[{"name": "ops", "role": "admin", "sha256": ${token}}]`),
      ...problemsOf(token),
      ...problemsOf(JSON.stringify([{ name: 'ops', role: 'admin', sha256: hash('x'), [token]: true }])),
    ];
    expect(problems.map((p) => p.message)).toEqual([
      'is required',
      'holds a "token" field other than name, role, sha256: a tokens file holds no token, only its sha256 (automod tokens add writes it)',
      'must be the hex SHA-256 of the token (64 characters 0-9 a-f), never the token itself',
      'must be 1 to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit',
      'must be one of gate, ingest, metrics, moderator, operator, admin',
      'is not JSON (line 1, column 45)',
      'is not JSON (line 1, column 1)',
      'holds fields other than name, role, sha256: a tokens file holds no token, only its sha256 (automod tokens add writes it)',
    ]);
    for (const p of problems) expect(JSON.stringify(p)).not.toContain(token.slice(4, 20));
  });

  it('writes one entry a line, and reads back what it wrote', () => {
    const entries = [
      { name: 'a', role: 'gate' as const, sha256: hash('a') },
      { name: 'b', role: 'admin' as const, sha256: hash('b') },
    ];
    const text = tokensFileText(entries);
    expect(text.split('\n')).toHaveLength(5);
    expect(parseTokensFile(text)).toEqual({ entries });
    expect(tokensFileText([])).toBe('[]\n');
  });

  it('makes tokens that are never 64 hex digits, so none can pass for a hash', () => {
    const token = newToken();
    expect(token).toMatch(/^amt_[A-Za-z0-9_-]{43}$/);
    expect(newToken()).not.toBe(token);
  });
});

describe('createTokensFile', () => {
  let fixture: TokensFixture;
  beforeAll(async () => {
    fixture = await tokensFixture({ ops: 'operator' });
  });
  afterAll(() => fixture.cleanup());

  it('refuses to start on a bad file with a ConfigError naming AUTOMOD_TOKENS_FILE, the file and the problem', async () => {
    const logger = createLogger({ logLevel: 'silent' });
    const missing = createTokensFile({ path: join(fixture.dir, 'nope.json'), logger });
    await expect(missing.load()).rejects.toThrow(ConfigError);
    await expect(missing.load()).rejects.toThrow(`AUTOMOD_TOKENS_FILE: ${join(fixture.dir, 'nope.json')}: $: does not exist`);
    const bad = join(fixture.dir, 'bad.json');
    await writeFile(bad, '[{"name": "ops", "role": "admin", "sha256": "x"}]');
    await expect(createTokensFile({ path: bad, logger }).load()).rejects.toThrow(/\$\[0\]\.sha256: must be the hex SHA-256/);
    const good = createTokensFile({ path: fixture.path, logger });
    await good.load();
    expect(good.current().map((t) => [t.name, t.role, t.digest.toString('hex')])).toEqual([['ops', 'operator', hash(fixture.tokens.ops!)]]);
  });

  it('logs a bad change with its problems, never the token in it, and keeps the last good tokens', async () => {
    const lines: string[] = [];
    const logger = createLogger({ logLevel: 'info', logFormat: 'json' }, { write: (line: string) => void lines.push(line) });
    const path = join(fixture.dir, 'changing.json');
    await writeFile(path, tokensFileText([{ name: 'ops', role: 'operator', sha256: hash(fixture.tokens.ops!) }]));
    const tokens = createTokensFile({ path, logger });
    await tokens.load();
    await writeFile(path, JSON.stringify([{ name: 'ops', role: 'operator', token: fixture.tokens.ops }], null, 2));
    await tokens.check();
    expect(tokens.current().map((t) => t.name)).toEqual(['ops']);
    const logged = lines.map((l) => JSON.parse(l) as { level: number; msg: string; file: string; problems: unknown[]; tokens: number });
    expect(logged).toEqual([
      expect.objectContaining({
        level: 50,
        msg: 'tokens file rejected: the last good tokens stay in force until it is fixed',
        file: path,
        tokens: 1,
        problems: [
          { path: '$[0].sha256', message: 'is required' },
          { path: '$[0]', message: expect.stringMatching(/^holds a "token" field/) },
        ],
      }),
    ]);
    expect(lines.join('\n')).not.toContain(fixture.tokens.ops);
    // Unchanged since: nothing more is said.
    await tokens.check();
    expect(lines).toHaveLength(1);
    // Repaired to the tokens in force: said, so the operator knows the file reads again.
    await writeFile(path, tokensFileText([{ name: 'ops', role: 'operator', sha256: hash(fixture.tokens.ops!) }]));
    await tokens.check();
    expect(JSON.parse(lines[1]!)).toMatchObject({ level: 30, msg: 'tokens file loaded', tokens: 1 });
    await writeFile(path, tokensFileText([]));
    await tokens.check();
    expect(tokens.current()).toEqual([]);
    expect(JSON.parse(lines[2]!)).toMatchObject({ level: 30, msg: 'tokens file loaded', tokens: 0 });
    // Touched, the same tokens: nothing to say.
    await writeFile(path, tokensFileText([]));
    await tokens.check();
    expect(lines).toHaveLength(3);
  });
});

describe('a running worker and its tokens file', () => {
  let h: Harness;
  let fixture: TokensFixture;
  beforeAll(async () => {
    fixture = await tokensFixture({ alice: 'moderator', bob: 'moderator', ops: 'operator' });
    h = await startHarness('tokens-file', { AUTOMOD_TOKENS_FILE: fixture.path });
  });
  afterAll(async () => {
    await h?.close();
    await fixture?.cleanup();
  });
  const status = async (name: string) => (await h.api('GET', '/v1/whoami', undefined, fixture.bearer(name))).status;
  const reloads = async (result: string) =>
    (await h.automod.services.metrics.tokensReloads.get()).values.find((v) => v.labels.result === result)?.value ?? 0;

  it('refuses a revoked token within 5 seconds, and takes a new one, without a restart', async () => {
    expect(await status('alice')).toBe(200);
    expect(await status('bob')).toBe(200);
    await fixture.write({ alice: 'moderator', ops: 'operator', carol: 'gate' });
    await expect.poll(() => status('bob'), { timeout: 5000, interval: 100 }).toBe(401);
    expect(await status('alice')).toBe(200);
    await expect.poll(() => status('carol'), { timeout: 5000, interval: 100 }).toBe(200);
    // A role changed in place takes effect the same way.
    await fixture.write({ alice: 'gate', ops: 'operator', carol: 'gate' });
    await expect
      .poll(async () => (await h.api('GET', '/v1/audit', undefined, fixture.bearer('alice'))).status, { timeout: 5000, interval: 100 })
      .toBe(403);
  });

  it('keeps the last good tokens when a change is bad, says so, and takes the next good change', async () => {
    const rejected = await reloads('rejected');
    // Written in place, not renamed: an editor's save.
    await writeFile(fixture.path, JSON.stringify([{ name: 'ops', role: 'operator', token: fixture.tokens.ops }]));
    await expect.poll(() => reloads('rejected'), { timeout: 5000, interval: 100 }).toBe(rejected + 1);
    expect(await status('ops')).toBe(200);
    expect(await status('carol')).toBe(200);
    await rm(fixture.path);
    await expect.poll(() => reloads('rejected'), { timeout: 5000, interval: 100 }).toBe(rejected + 2);
    expect(await status('ops')).toBe(200);
    await fixture.write({ ops: 'operator' });
    await expect.poll(() => status('carol'), { timeout: 5000, interval: 100 }).toBe(401);
    expect(await status('ops')).toBe(200);
  });

  it('follows a file mounted as a ConfigMap (a symbolic link through ..data, swapped)', async () => {
    const mount = join(fixture.dir, 'mount');
    await mkdir(join(mount, '..v1'), { recursive: true });
    await mkdir(join(mount, '..v2'), { recursive: true });
    const v1 = JSON.parse(await readFile(fixture.path, 'utf8')) as unknown[];
    await writeFile(join(mount, '..v1', 'tokens.json'), JSON.stringify(v1));
    await writeFile(join(mount, '..v2', 'tokens.json'), '[]');
    await symlink('..v1', join(mount, '..data'));
    await symlink(join('..data', 'tokens.json'), join(mount, 'tokens.json'));
    const own = await startHarness('tokens-configmap', { AUTOMOD_TOKENS_FILE: join(mount, 'tokens.json') });
    try {
      const whoami = async () => (await own.api('GET', '/v1/whoami', undefined, fixture.bearer('ops'))).status;
      expect(await whoami()).toBe(200);
      // What the kubelet does: a new ..data link renamed over the old one.
      await symlink('..v2', join(mount, '..data_tmp'));
      await rename(join(mount, '..data_tmp'), join(mount, '..data'));
      await expect.poll(whoami, { timeout: 5000, interval: 100 }).toBe(401);
    } finally {
      await own.close();
    }
  });
});

describe('automod start with a bad tokens file', () => {
  it('exits 2 naming the variable, the file and the problem, and never the token put there', async () => {
    const fixture = await tokensFixture({ ops: 'operator' });
    try {
      const token = newToken();
      await writeFile(fixture.path, JSON.stringify([{ name: 'ops', role: 'operator', sha256: token }]));
      const result = await runCli(['start'], {
        REDIS_URL,
        AUTOMOD_PREFIX: uniquePrefix('tokens-start'),
        AUTOMOD_HTTP_PORT: '0',
        AUTOMOD_TOKENS_FILE: fixture.path,
        LOG_LEVEL: 'warn',
      });
      expect(result.code).toBe(2);
      expect(result.stderr).toContain(
        `AUTOMOD_TOKENS_FILE: ${fixture.path}: $[0].sha256: must be the hex SHA-256 of the token (64 characters 0-9 a-f), never the token itself`,
      );
      expect(result.stdout + result.stderr).not.toContain(token);
    } finally {
      await fixture.cleanup();
    }
  });
});
