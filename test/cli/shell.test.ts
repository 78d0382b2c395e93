import { spawnSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { REDIS_URL, testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

// What a person at a shell meets: usage errors, help, completion, --json on pause and resume.
const prefix = uniquePrefix('shell');
const env = { REDIS_URL, AUTOMOD_PREFIX: prefix, USER: 'tester' };
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automod-shell-'));
});
afterAll(async () => {
  await testRedis(testConfig(prefix)).cleanup();
  await rm(dir, { recursive: true, force: true });
});

/** Completions bash offers after `words` (the last one being the word under the cursor). */
function bashComplete(words: string[]): string[] {
  const quoted = words.map((w) => `'${w}'`).join(' ');
  const result = spawnSync(
    'bash',
    [
      '-c',
      `source "$1"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _automod_completions; printf '%s\\n' "\${COMPREPLY[@]}"`,
      'bash',
      join(dir, 'automod.bash'),
    ],
    {
      encoding: 'utf8',
    },
  );
  expect(result.stderr).toBe('');
  return result.stdout.split('\n').filter(Boolean);
}

describe('automod at a shell', () => {
  it('usage errors exit 2 and say what is wrong; --help and --version exit 0', async () => {
    const unknown = await runCli(['bogus'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'bogus'");
    const badChoice = await runCli(['jobs', '--state', 'nope'], env);
    expect(badChoice.code).toBe(2);
    expect(badChoice.stderr).toContain("argument 'nope' is invalid");
    const badValue = await runCli(['remove', '--session', 's', '--participant', 'p', '--timeout', 'soon'], env);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr).toContain('--timeout must be a number of seconds');
    expect((await runCli(['--version'], env)).code).toBe(0);
  });

  it('--help of a command shows examples and the environment it reads', async () => {
    const help = await runCli(['remove', '--help'], env);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Examples:\n {2}\$ automod remove --session S1 --participant p1 p2/);
    expect(help.stdout).toMatch(/Environment:\n {2}REDIS_URL/);
    expect(help.stdout).toContain('VIDEOSDK_TOKEN or VIDEOSDK_API_KEY + VIDEOSDK_SECRET');
    const offline = await runCli(['rules', 'check', '--help'], env);
    expect(offline.stdout).toMatch(/Environment:\n {2}AUTOMOD_RULES\n?$/);
  });

  it('completion bash completes commands, subcommands and options from the real command tree', async () => {
    const result = await runCli(['completion', 'bash'], env);
    expect(result.code).toBe(0);
    await writeFile(join(dir, 'automod.bash'), result.stdout);
    expect(bashComplete(['automod', ''])).toEqual(expect.arrayContaining(['start', 'remove', 'rules', 'completion']));
    expect(bashComplete(['automod', 'rules', 'ch'])).toEqual(['check']);
    expect(bashComplete(['automod', 'remove', '--se'])).toEqual(['--session']);
    expect(bashComplete(['automod', 'jobs', '--state', 'failed', '--js'])).toEqual(['--json']);
    const fish = await runCli(['completion', 'fish'], env);
    expect(fish.stdout).toContain(
      "complete -c automod -n '__fish_seen_subcommand_from rules; and not __fish_seen_subcommand_from check test reload backtest' -a 'check test reload backtest'",
    );
    expect((await runCli(['completion', 'zsh'], env)).stdout).toMatch(/^#compdef automod\n.*bashcompinit/);
    expect((await runCli(['completion', 'tcsh'], env)).code).toBe(2);
  });

  it('pause, resume and list changes print JSON with --json', async () => {
    const added = await runCli(['lists', 'add', 'blocked-participants', 'p1', 'p2', '--json'], env);
    expect(added.code).toBe(0);
    expect(JSON.parse(added.stdout)).toEqual({ list: 'blocked-participants', added: 2, unchanged: 0, size: 2 });
    const removed = await runCli(['lists', 'remove', 'blocked-participants', 'p1', 'p9', '--json'], env);
    expect(JSON.parse(removed.stdout)).toEqual({ list: 'blocked-participants', removed: 1, unchanged: 1, size: 1 });
    const paused = await runCli(['pause', '--reason', 'maintenance', '--json'], env);
    expect(paused.code).toBe(0);
    expect(JSON.parse(paused.stdout)).toMatchObject({
      paused: true,
      pause: { kind: 'operator', reason: 'maintenance' },
      wasPaused: null,
      waiting: 0,
    });
    const resumed = await runCli(['resume', '--json'], env);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ paused: false, wasPaused: { kind: 'operator', reason: 'maintenance' }, waiting: 0 });
  });
});
