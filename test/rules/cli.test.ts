import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, rm, symlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { REDIS_URL } from '../helpers/redis.js';
import { fired, send } from '../helpers/events.js';
import { removeDir, tempRules } from '../helpers/rules-dir.js';

// The `automod rules ...` and `automod lists ...` commands as a moderator runs them: the built
// CLI in a child process. It is built here into a private folder (the same `tsc -p
// tsconfig.build.json` as `npm run build`), so the test never runs a stale dist/ and never
// rewrites dist/ under another test that spawns it.

const ROOT = resolve(import.meta.dirname, '..', '..');
const BUILD = join(ROOT, 'node_modules', '.cache', `automod-rules-cli-${randomBytes(4).toString('hex')}`);
const CLI = join(BUILD, 'cli.js');
const FIXTURES = join(ROOT, 'test', 'fixtures', 'rules');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs the CLI without blocking this process (an in-process worker must keep answering). */
function automod(args: readonly string[], env: Record<string, string> = {}, stdin?: string): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      cwd: ROOT,
      env: { ...process.env, LOG_LEVEL: 'silent', ...env },
      stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    if (stdin !== undefined) child.stdin?.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    // A command that hangs is a failure with what it printed, not a test timeout.
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

beforeAll(async () => {
  await mkdir(BUILD, { recursive: true });
  // Type errors are the typecheck's business; the emitted JavaScript is what is run.
  spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules', 'typescript-native', 'bin', 'tsc'), '-p', 'tsconfig.build.json', '--outDir', BUILD],
    {
      cwd: ROOT,
      stdio: 'ignore',
    },
  );
  // Under node_modules/ the package's "type": "module" does not reach: say it again.
  // The Lua scripts beside the stores, as `npm run build` copies them.
  await cp(join(ROOT, 'src', 'store', 'commands'), join(BUILD, 'store', 'commands'), { recursive: true });
  await writeFile(join(BUILD, 'package.json'), '{"type": "module"}\n');
  if (!existsSync(CLI)) throw new Error(`the build did not produce ${CLI}`);
}, 60_000);
afterAll(async () => {
  await rm(BUILD, { recursive: true, force: true });
});

// Nothing listens here: the offline commands must not need Redis.
const NO_REDIS = { REDIS_URL: 'redis://127.0.0.1:1' };

describe('automod rules check', () => {
  it('lists the shipped rules and exits 0', async () => {
    const run = await automod(['rules', 'check', 'rules'], NO_REDIS);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/chat-flood\s+enforce\s+remove-participant\s+chat-flood\.json/);
    expect(run.stdout).toMatch(/join-flood\s+shadow\s+remove-participant\s+join-flood\.json/);
    expect(run.stdout).toMatch(/^\d+ rules OK \(version [0-9a-f]{12}\)$/m);
  });

  it('exits 2 (bad configuration) naming file, rule and JSON path for every problem, and file:line:column for malformed JSON', async () => {
    const dir = await tempRules({
      'broken.json': '{ "name": "half", ',
      'rules.json': [
        {
          name: 'bad-op',
          conditions: { all: [{ fact: 'event', path: '$.type', operator: 'looksLike', value: 'x' }] },
          event: { type: 'flag' },
        },
        {
          name: 'bad-regex',
          conditions: { all: [{ fact: 'event', path: '$.participantName', operator: 'matchesPattern', value: '(?i)(admin' }] },
          event: { type: 'flag' },
        },
        { name: 'bad-fact', conditions: { all: [{ fact: 'weather', operator: 'equal', value: 1 }] }, event: { type: 'flag' } },
        { name: 'dup', conditions: { all: [{ fact: 'event', path: '$.type', operator: 'equal', value: 'x' }] }, event: { type: 'flag' } },
      ],
      'more.json': {
        name: 'dup',
        conditions: { all: [{ fact: 'event', path: '$.type', operator: 'equal', value: 'y' }] },
        event: { type: 'flag' },
      },
    });
    try {
      const [run, json] = await Promise.all([
        automod(['rules', 'check', dir], NO_REDIS),
        automod(['rules', 'check', dir, '--json'], NO_REDIS),
      ]);
      expect(run.code).toBe(2);
      expect(run.stdout).toBe('');
      expect(run.stderr).toContain(`${dir}: 5 problem(s)`);
      expect(run.stderr).toContain('  broken.json:1:19: malformed JSON: Expected double-quoted property name');
      expect(run.stderr).toContain('  rules.json#bad-op $.conditions.all[0].operator: unknown operator "looksLike"');
      expect(run.stderr).toMatch(/ {2}rules\.json#bad-regex \$\.conditions\.all\[0\]\.value: invalid RE2 pattern/);
      expect(run.stderr).toContain('  rules.json#bad-fact $.conditions.all[0].fact: unknown fact "weather"');
      expect(run.stderr).toContain(
        '  rules.json#dup $.name: duplicate rule name "dup": already defined in more.json (and again in rules.json)',
      );
      expect(json.code).toBe(2);
      const body = JSON.parse(json.stdout) as { ok: boolean; problems: { path: string }[] };
      expect(body.ok).toBe(false);
      expect(body.problems.map((p) => p.path)).toContain('rules.json#bad-op $.conditions.all[0].operator');
    } finally {
      await removeDir(dir);
    }
  });

  it('exits 2 for a folder that does not exist; notes lists that are not files', async () => {
    const dir = await tempRules({
      'vip.json': {
        name: 'vip-only',
        conditions: { all: [{ fact: 'event', path: '$.participantId', operator: 'notInList', value: 'vips' }] },
        event: { type: 'flag' },
      },
    });
    try {
      const [missing, notes] = await Promise.all([
        automod(['rules', 'check', join(ROOT, 'no-such-rules')], NO_REDIS),
        automod(['rules', 'check', dir], NO_REDIS),
      ]);
      expect(missing.code).toBe(2);
      expect(missing.stderr).toMatch(/no-such-rules: rules folder does not exist/);
      expect(notes.code).toBe(0);
      expect(notes.stderr).toContain(
        `note: list "vips" is not in ${join(dir, 'lists')}/; unless it is a live list (automod lists add vips ...), it reads as empty`,
      );
    } finally {
      await removeDir(dir);
    }
  });

  it('refuses a list name a live list could not have, in a rule and as a file (one list-name rule for both)', async () => {
    const dir = await tempRules(
      {
        'vip.json': {
          name: 'vip-only',
          conditions: { all: [{ fact: 'event', path: '$.participantId', operator: 'inList', value: 'Old.List' }] },
          event: { type: 'flag' },
        },
      },
      { 'Spam.Words': 'x\n' },
    );
    try {
      const run = await automod(['rules', 'check', dir], NO_REDIS);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain(
        'vip.json#vip-only $.conditions.all[0].value: list name "Old.List" must be 1-64 lower-case letters, digits, "-" or "_"',
      );
      expect(run.stderr).toContain('lists/Spam.Words.txt: list name must be 1-64 lower-case letters');
    } finally {
      await removeDir(dir);
    }
  });
});

describe('automod rules test with text corpora', () => {
  it("runs the shipped corpora, and fails a user's corpus line by line", async () => {
    const shipped = await automod(
      ['rules', 'test', 'rules', '--clean', 'test/fixtures/corpora/clean.txt', '--evasions', 'test/fixtures/corpora/evasions.txt'],
      NO_REDIS,
    );
    expect(shipped.code).toBe(0);
    expect(shipped.stdout).toMatch(/^PASS: \d+ clean texts, \d+ evasions: 0 failed, 0 invalid$/m);
    const mine = await automod(['rules', 'test', 'rules', '--clean', '-'], NO_REDIS, 'Welcome to the class!\nyou m0r0n\n');
    expect(mine.code).toBe(1);
    expect(mine.stdout).toBe(
      'FAIL  clean line 2: "you m0r0n" -> banned-words (as chat); expected (none)\nFAIL: 2 clean texts, 0 evasions: 1 failed, 0 invalid\n',
    );
  });
});

describe('automod rules check on patterns that could stall a worker', () => {
  it('refuses a pattern whose program or measured cost on 64 KB of text is over the budget, and admits an ordinary one', async () => {
    const rule = (name: string, value: string) => ({
      name,
      conditions: { all: [{ fact: 'event', path: '$.data.text', operator: 'matchesPattern', value }] },
      event: { type: 'flag' },
    });
    const dir = await tempRules({
      'patterns.json': [
        rule('huge-program', '(?i)(https?://|.){0,1000}$'),
        rule('slow-search', '[a-z]{1,990}$'),
        rule('ordinary', '(?i)\\b(buy|sell)\\s+\\w+\\s+now\\b'),
      ],
    });
    try {
      const run = await automod(['rules', 'check', dir], NO_REDIS);
      expect(run.code).toBe(2);
      const lines = run.stderr.trim().split('\n');
      expect(lines).toEqual([
        `${dir}: 2 problem(s)`,
        expect.stringMatching(
          /^ {2}patterns\.json#huge-program \$\.conditions\.all\[0\]\.value: pattern compiles to 14003 instructions, more than 2000: it could stall the worker/,
        ),
        expect.stringMatching(
          /^ {2}patterns\.json#slow-search \$\.conditions\.all\[0\]\.value: pattern takes about \d+ ms to search 64 KB of text, more than the 200 ms budget/,
        ),
      ]);
    } finally {
      await removeDir(dir);
    }
  });
});

describe('automod rules check on folders that load but are not what was meant', () => {
  let base: string;
  beforeAll(async () => {
    base = await tempRules();
  });
  afterAll(async () => {
    await removeDir(base);
  });

  it('reads a ConfigMap volume (every file a symbolic link through ..data)', async () => {
    const root = join(base, 'configmap');
    const stamp = '..2026_11_29_10_00_00.1';
    await mkdir(root);
    await cp('rules', join(root, stamp), { recursive: true });
    await symlink(stamp, join(root, '..data'));
    for (const name of await readdir(join(root, stamp))) await symlink(join('..data', name), join(root, name));
    const [linked, plain] = await Promise.all([
      automod(['rules', 'check', root], NO_REDIS),
      automod(['rules', 'check', 'rules'], NO_REDIS),
    ]);
    expect(linked.code).toBe(0);
    // The same rules, so the same version, and not twice (..data itself is not read).
    expect(linked.stdout.split('\n').at(-2)).toBe(plain.stdout.split('\n').at(-2));
    expect(linked.stdout).not.toMatch(/^0 rules OK/m);
  });

  it('exits 2 when no rule is enforceable, unless --allow-empty or AUTOMOD_ALLOW_EMPTY_RULES=true', async () => {
    const empty = join(base, 'empty');
    const off = join(base, 'off');
    await mkdir(empty);
    await mkdir(off);
    await writeFile(
      join(off, 'quiet.json'),
      JSON.stringify({
        name: 'quiet',
        mode: 'off',
        conditions: { all: [{ fact: 'event', path: '$.type', operator: 'equal', value: 'x' }] },
        event: { type: 'flag' },
      }),
    );
    const [none, allOff, json, flag, env, badEnv] = await Promise.all([
      automod(['rules', 'check', empty], NO_REDIS),
      automod(['rules', 'check', off], NO_REDIS),
      automod(['rules', 'check', empty, '--json'], NO_REDIS),
      automod(['rules', 'check', empty, '--allow-empty'], NO_REDIS),
      automod(['rules', 'check', off], { ...NO_REDIS, AUTOMOD_ALLOW_EMPTY_RULES: 'true' }),
      automod(['rules', 'check', off], { ...NO_REDIS, AUTOMOD_ALLOW_EMPTY_RULES: 'maybe' }),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      `${empty}: the rules folder holds no rule (no *.json file directly in it): nothing would be moderated; pass --allow-empty`,
    );
    expect(allOff.code).toBe(2);
    expect(allOff.stderr).toContain('all 1 rule(s) have mode "off": nothing would be moderated');
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({
      ok: false,
      problems: [{ path: empty, message: expect.stringContaining('nothing would be moderated') }],
    });
    expect(flag.code).toBe(0);
    expect(flag.stdout).toMatch(/^0 rules OK/m);
    expect(env.code).toBe(0);
    expect(badEnv.code).toBe(2);
    expect(badEnv.stderr).toContain('AUTOMOD_ALLOW_EMPTY_RULES: must be true or false, got "maybe"');
  });

  it('automod start refuses bad rules with exit 2, as the docs say for bad configuration', async () => {
    const bad = join(base, 'bad');
    await mkdir(bad);
    await writeFile(join(bad, 'typo.json'), '{\n  "name": "typo",\n  "mode": "enforce",,\n}');
    const run = await automod(['start', '--no-http'], { ...NO_REDIS, AUTOMOD_RULES: bad });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(
      `refusing to start: the rules in ${bad} are invalid\n  typo.json:3:21: malformed JSON: Expected double-quoted property name`,
    );
  });
});

describe('automod rules test', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await tempRules();
  });
  afterAll(async () => {
    await removeDir(dir);
  });

  it('runs a fixtures file offline, prints what fires per event, exits 0 when every expect is met', async () => {
    const run = await automod(['rules', 'test', 'rules', '--events', join(FIXTURES, 'chat-flood.jsonl')], NO_REDIS);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('ok    line 8: chat-message p-flood-1 -> (none)');
    expect(run.stdout).toContain('ok    line 9: chat-message p-flood-1 -> chat-flood');
    expect(run.stdout).toMatch(/^PASS: 25 events, 25 with expectations: 25 passed, 0 failed, 0 invalid$/m);
  });

  it('exits 1 on an unmet expectation and on a malformed line, saying which', async () => {
    const events = join(dir, 'events.jsonl');
    await writeFile(
      events,
      [
        '# a moderator expects the wrong thing on line 2, and line 3 is cut short',
        JSON.stringify({ type: 'participant-joined', sessionId: 's', participantId: 'p', participantName: 'Admin Ann', expect: [] }),
        '{"type": "chat-message", "sessionId": ',
        JSON.stringify({
          type: 'chat-message',
          sessionId: 's',
          participantId: 'p',
          data: { text: 'free crypto' },
          expect: ['banned-words'],
        }),
      ].join('\n'),
    );
    const [run, json] = await Promise.all([
      automod(['rules', 'test', 'rules', '--events', events], NO_REDIS),
      automod(['rules', 'test', 'rules', '--events', events, '--json'], NO_REDIS),
    ]);
    expect(run.code).toBe(1);
    expect(run.stdout).toContain('FAIL  line 2: participant-joined p -> impersonating-staff; expected (none)');
    expect(run.stdout).toMatch(/ERROR line 3: malformed JSON/);
    expect(run.stdout).toContain('ok    line 4: chat-message p -> banned-words');
    expect(run.stdout).toMatch(/^FAIL: 3 events, 2 with expectations: 1 passed, 1 failed, 1 invalid$/m);
    expect(json.code).toBe(1);
    expect((JSON.parse(json.stdout) as { summary: object }).summary).toEqual({
      events: 3,
      checked: 2,
      passed: 1,
      failed: 1,
      errors: 1,
      ok: false,
    });
  });

  it('reads events from stdin and says when the events file is missing', async () => {
    const line = JSON.stringify({
      type: 'participant-joined',
      sessionId: 's',
      participantId: 'p',
      participantName: 'Support Desk',
      expect: ['impersonating-staff'],
    });
    const [piped, missing] = await Promise.all([
      automod(['rules', 'test', 'rules', '--events', '-'], NO_REDIS, `${line}\n`),
      automod(['rules', 'test', 'rules', '--events', join(dir, 'nope.jsonl')], NO_REDIS),
    ]);
    expect(piped.code).toBe(0);
    expect(piped.stdout).toContain('ok    line 1: participant-joined p -> impersonating-staff');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain(`error: cannot read the events file ${join(dir, 'nope.jsonl')}: no such file`);
  });

  it('exits 2 with the problems when the rules are invalid', async () => {
    const bad = await tempRules({ 'x.json': { name: 'x', conditions: { all: [] }, event: { type: 'flag' } } });
    try {
      const run = await automod(['rules', 'test', bad, '--events', join(FIXTURES, 'spam.jsonl')], NO_REDIS);
      expect(run.code).toBe(2);
      expect(run.stderr).toContain('x.json#x $.conditions.all: must hold at least one condition');
    } finally {
      await removeDir(bad);
    }
  });
});

describe('automod rules reload, lists and backtest against a running worker', () => {
  let h: Harness;
  let dir: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    dir = await tempRules({}, {}, { shipped: true });
    h = await startHarness('rules-cli', { AUTOMOD_RULES: dir, AUTOMOD_EVENT_CONCURRENCY: '1' });
    env = { REDIS_URL, AUTOMOD_PREFIX: h.config.prefix, AUTOMOD_RULES: dir };
  });
  afterAll(async () => {
    await h?.close();
    await removeDir(dir);
  });

  it('rules reload reaches the worker, which loads the change and says so', async () => {
    const before = h.automod.rules!.status().version;
    await writeFile(
      join(dir, 'hello.json'),
      JSON.stringify({
        name: 'says-hello',
        conditions: { all: [{ fact: 'event', path: '$.data.text', operator: 'containsWord', value: 'hello' }] },
        event: { type: 'flag' },
      }),
    );
    const run = await automod(['rules', 'reload'], env);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const after = h.automod.rules!.status().version;
    expect(after).not.toBe(before);
    expect(run.stdout).toMatch(new RegExp(`${h.automod.rules!.workerId}\\s+loaded\\s+${after}\\s+${before}`));
    expect(run.stdout).toContain(`1 of 1 worker(s) run the folder's rules (version ${after})`);
  });

  it('lists add puts a participant on the live block list: their next event removes them', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: `room-${sid}`, participants: [{ participantId: 'troll-7', name: 'Troll' }] });
    const add = await automod(['lists', 'add', 'blocked-participants', 'troll-7', 'troll-8'], env);
    expect(add.code).toBe(0);
    expect(add.stdout).toBe('added 2 value(s) to blocked-participants (0 already there); the live list holds 2\n');
    const [show, all] = await Promise.all([
      automod(['lists', 'show', 'blocked-participants'], env),
      automod(['lists', 'show', '--json'], env),
    ]);
    expect(show.stdout).toBe('troll-7\ntroll-8\n');
    expect(show.stderr).toContain('note: rules also read 2 value(s) of');
    expect(JSON.parse(all.stdout)).toEqual([{ name: 'blocked-participants', values: 2 }]);

    const [logged] = await send(h, [
      { type: 'chat-message', meetingId: `room-${sid}`, sessionId: sid, participantId: 'troll-7', data: { text: 'hi' } },
    ]);
    expect(fired(logged!)).toEqual(['blocked-participant']);
    await waitFor(
      async () => {
        const body = (await h.api('GET', `/v1/sessions/${sid}`)).body as { removals?: { participantId: string; outcome: string }[] };
        return body.removals?.find((r) => r.participantId === 'troll-7' && r.outcome === 'removed');
      },
      10_000,
      'removal',
    );

    const [removed, typo, bad] = await Promise.all([
      automod(['lists', 'remove', 'blocked-participants', 'troll-7'], env),
      automod(['lists', 'add', 'blocked-participant', 'x'], env),
      automod(['lists', 'add', 'Bad Name', 'x'], env),
    ]);
    expect(removed.stdout).toBe('removed 1 value(s) from blocked-participants (0 were not there); the live list holds 1\n');
    // A new list no rule uses is refused as a typo (lists add --create makes one on purpose).
    expect(typo.code).toBe(1);
    expect(typo.stderr).toContain('no live list "blocked-participant": no rule in');
    expect(typo.stderr).toContain('uses it (they use: banned-words, blocked-participants, insults, spam-phrases)');
    expect(typo.stderr).toContain('automod lists add blocked-participant VALUE... --create');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/invalid list name "Bad Name"/);
  });

  it('rules backtest compares a candidate with the logged decisions', async () => {
    const candidate = await tempRules({
      'hi.json': {
        name: 'says-hi',
        conditions: { all: [{ fact: 'event', path: '$.data.text', operator: 'containsWord', value: 'hi' }] },
        event: { type: 'remove-participant' },
      },
    });
    try {
      const run = await automod(['rules', 'backtest', candidate, '--since', '1h'], env);
      expect(run.code).toBe(0);
      // The chat "hi" of troll-7 above: live removed them by the block list; the candidate by says-hi.
      expect(run.stdout).toMatch(/by another rule\s+\S+\s+troll-7\s+blocked-participant\s+says-hi/);
      expect(run.stdout).toMatch(/blocked-participant\s+enforce\s+1\s+1\s+\(not in candidate\)\s+0\s+0\s+-1/);
    } finally {
      await removeDir(candidate);
    }
  });
});
