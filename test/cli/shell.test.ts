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
      "complete -c automod -n '__fish_seen_subcommand_from rules; and not __fish_seen_subcommand_from check test reload backtest rearm tripped' -a 'check test reload backtest rearm tripped'",
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

describe('automod at a shell: the edges', () => {
  it('a typo gets its suggestion and one usage line, not the whole help', async () => {
    const typo = await runCli(['replya'], env);
    expect(typo.code).toBe(2);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toBe(
      "error: unknown command 'replya'\n(Did you mean replay?)\nUsage: automod [options] [command]  (automod --help lists the commands)\n",
    );
    const sub = await runCli(['rules', 'tset'], env);
    expect(sub.stderr).toMatch(/\(Did you mean test\?\)\nUsage: automod rules \[options\] \[command\]/);
    const badValue = await runCli(['jobs', '--state', 'nope'], env);
    expect(badValue.code).toBe(2);
    expect(badValue.stderr.trim().split('\n')).toEqual([
      "error: option '--state <state>' argument 'nope' is invalid. Allowed choices are waiting, prioritized, active, delayed, failed, completed, paused.",
      'Usage: automod jobs [options]  (automod jobs --help for details)',
    ]);
  }, 60_000);

  it('--json on a failure prints {"error", "code"} on stdout too, the exit code unchanged', async () => {
    const [job, session, unban, usage] = await Promise.all([
      runCli(['job', 'no-such-job', '--json'], env),
      runCli(['session', 'no-such-session', '--json'], env),
      runCli(['unban', '--participant', 'nobody', '--all-meetings', '--json'], env),
      runCli(['audit', '--since', 'last tuesday', '--json'], env),
    ]);
    expect(job.code).toBe(1);
    expect(JSON.parse(job.stdout)).toEqual({ error: expect.stringMatching(/^no job no-such-job /), code: 'ERR_NOT_FOUND' });
    expect(job.stderr).toMatch(/^no job no-such-job/);
    expect(session.code).toBe(1);
    expect(JSON.parse(session.stdout)).toEqual({ error: 'nothing is recorded for session no-such-session', code: 'ERR_NOT_FOUND' });
    expect(unban.code).toBe(1);
    expect(JSON.parse(unban.stdout)).toEqual({ error: 'no ban of nobody in every meeting (it may have expired)', code: 'ERR_NOT_FOUND' });
    expect(unban.stderr).toBe('error: no ban of nobody in every meeting (it may have expired)\n');
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({ error: expect.stringMatching(/--since must be an ISO time/), code: 'ERR_USAGE' });
    // Without --json, stdout stays empty.
    expect((await runCli(['job', 'no-such-job'], env)).stdout).toBe('');
  }, 60_000);

  it('lists add refuses a new list that no rule reads (a typo), says how to create it, and --create does', async () => {
    const rulesEnv = { ...env, AUTOMOD_RULES: 'rules' };
    const typo = await runCli(['lists', 'add', 'blocked-participantz', 'p1'], rulesEnv);
    expect(typo.code).toBe(1);
    expect(typo.stdout).toBe('');
    expect(typo.stderr).toMatch(/^no live list "blocked-participantz": no rule in rules uses it \(they use: .*blocked-participants.*\)/);
    expect(typo.stderr).toContain('automod lists add blocked-participantz VALUE... --create');
    const json = await runCli(['lists', 'add', 'blocked-participantz', 'p1', '--json'], rulesEnv);
    expect(json.code).toBe(1);
    expect(JSON.parse(json.stdout)).toMatchObject({ code: 'ERR_NOT_FOUND' });
    expect(JSON.parse((await runCli(['lists', 'show', '--json'], rulesEnv)).stdout)).not.toContainEqual(
      expect.objectContaining({ name: 'blocked-participantz' }),
    );

    const created = await runCli(['lists', 'add', 'vip-guests', 'p1', '--create'], rulesEnv);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toBe('added 1 value(s) to vip-guests (0 already there); the live list holds 1\n');
    expect(created.stderr).toMatch(/note: no rule in rules uses the list "vip-guests"/);
    // Once it exists, adding to it needs no --create; a list a rule reads never did.
    expect((await runCli(['lists', 'add', 'vip-guests', 'p2'], rulesEnv)).code).toBe(0);
    expect((await runCli(['lists', 'add', 'blocked-participants', 'p3'], rulesEnv)).code).toBe(0);
  }, 60_000);

  it('completion offers option values: choices, shells, decisions and file names', async () => {
    await writeFile(join(dir, 'automod.bash'), (await runCli(['completion', 'bash'], env)).stdout);
    expect(bashComplete(['automod', 'jobs', '--state', ''])).toEqual([
      'waiting',
      'prioritized',
      'active',
      'delayed',
      'failed',
      'completed',
      'paused',
    ]);
    expect(bashComplete(['automod', 'replay', '--queue', 'n'])).toEqual(['notifications']);
    expect(bashComplete(['automod', 'start', '--only', ''])).toEqual(['events', 'removals']);
    expect(bashComplete(['automod', 'reviews', '--state', 'p'])).toEqual(['pending']);
    expect(bashComplete(['automod', 'completion', ''])).toEqual(['bash', 'zsh', 'fish']);
    expect(bashComplete(['automod', 'review', 'a'])).toEqual(['approve']);
    expect(bashComplete(['automod', 'remove', '--file', join(dir, 'automod.b')])).toEqual([join(dir, 'automod.bash')]);
    // After a value, options again.
    expect(bashComplete(['automod', 'replay', '--queue', 'notifications', '--dr'])).toEqual(['--dry-run']);
    const fish = (await runCli(['completion', 'fish'], env)).stdout;
    expect(fish).toContain("complete -c automod -n '__fish_seen_subcommand_from replay' -l queue -xa 'removals notifications'");
    expect(fish).toContain("complete -c automod -n '__fish_seen_subcommand_from completion' -a 'bash zsh fish'");
  }, 60_000);
});
