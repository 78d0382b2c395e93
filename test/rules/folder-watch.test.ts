import { mkdir, mkdtemp, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { createRulesRuntime, type RulesRuntime } from '../../src/rules/rules-runtime.js';
import { waitFor } from '../helpers/harness.js';

// The watcher against the ways rules folders are really deployed: swapped whole by rename, and a
// Kubernetes ConfigMap volume whose `..data` link is swapped. No Redis: only the runtime.

const flagWord = (name: string, word: string) =>
  JSON.stringify({
    name,
    conditions: { all: [{ fact: 'event', path: '$.data.text', operator: 'containsWord', value: word }] },
    event: { type: 'flag' },
  });
const fromList = (name: string, list: string) =>
  JSON.stringify({
    name,
    conditions: { all: [{ fact: 'event', path: '$.data.text', operator: 'containsWord', value: { list } }] },
    event: { type: 'flag' },
  });

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'automod-watch-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function watching(rulesDir: string): Promise<RulesRuntime> {
  const runtime = createRulesRuntime({ rulesDir, logger: createLogger({ logLevel: 'silent' }), watchDebounceMs: 50 });
  await runtime.load();
  runtime.watchFolder();
  cleanup.push(() => runtime.close());
  return runtime;
}

/** Waits until the runtime runs a version other than `previous`, and answers it. */
function nextVersion(runtime: RulesRuntime, previous: string | undefined, what: string): Promise<string> {
  return waitFor(
    () => {
      const version = runtime.status().version;
      return version !== previous ? version : undefined;
    },
    5000,
    what,
  );
}

const ruleNames = (runtime: RulesRuntime) =>
  runtime
    .current()
    .ruleSet.rules.map((r) => r.name)
    .sort();

describe('watching a rules folder that is replaced rather than edited', () => {
  it('keeps seeing edits after the folder is swapped by rename (mv live live.old; mv live.new live)', async () => {
    const base = await tempDir();
    const live = join(base, 'live');
    await mkdir(live);
    await writeFile(join(live, 'hello.json'), flagWord('says-hello', 'hello'));
    const runtime = await watching(live);
    const v1 = runtime.status().version;

    await mkdir(join(base, 'live.new'));
    await writeFile(join(base, 'live.new', 'bye.json'), flagWord('says-bye', 'bye'));
    await rename(live, join(base, 'live.old'));
    await rename(join(base, 'live.new'), live);
    const v2 = await nextVersion(runtime, v1, 'reload after the swap');
    expect(ruleNames(runtime)).toEqual(['says-bye']);

    // The edit that a watch still on live.old (the old inode) never sees.
    await writeFile(join(live, 'ciao.json'), flagWord('says-ciao', 'ciao'));
    await nextVersion(runtime, v2, 'reload after an edit in the swapped-in folder');
    expect(ruleNames(runtime)).toEqual(['says-bye', 'says-ciao']);

    // And lists/ created in the new folder afterwards is watched too.
    await mkdir(join(live, 'lists'));
    await writeFile(join(live, 'lists', 'words.txt'), 'zonk\n');
    await writeFile(join(live, 'zonk.json'), fromList('says-zonk', 'words'));
    const v4 = await waitFor(
      () => (runtime.status().version !== v2 && ruleNames(runtime).includes('says-zonk') ? runtime.status().version : undefined),
      5000,
      'zonk rule',
    );
    await writeFile(join(live, 'lists', 'words.txt'), 'zonk\nwibble\n');
    await nextVersion(runtime, v4, 'reload after a list edit');
    expect(runtime.current().ruleSet.fileLists.get('words')).toEqual(['zonk', 'wibble']);
  });

  it('follows a swapped symbolic link to the folder (ln -sfn releases/2 current)', async () => {
    const base = await tempDir();
    for (const [release, word] of [
      ['1', 'one'],
      ['2', 'two'],
    ] as const) {
      await mkdir(join(base, release));
      await writeFile(join(base, release, 'rule.json'), flagWord(`says-${word}`, word));
    }
    await symlink('1', join(base, 'current'));
    const runtime = await watching(join(base, 'current'));
    const v1 = runtime.status().version;
    await symlink('2', join(base, 'current.tmp'));
    await rename(join(base, 'current.tmp'), join(base, 'current'));
    const v2 = await nextVersion(runtime, v1, 'reload after the link swap');
    expect(ruleNames(runtime)).toEqual(['says-two']);
    await writeFile(join(base, '2', 'more.json'), flagWord('says-more', 'more'));
    await nextVersion(runtime, v2, 'reload after an edit in the new target');
    expect(ruleNames(runtime)).toEqual(['says-more', 'says-two']);
  });

  it('picks up a ConfigMap update: the kubelet swaps the ..data link atomically', async () => {
    const root = await tempDir();
    /** Writes a timestamped folder as the kubelet does and points ..data at it. */
    const publish = async (stamp: string, files: Record<string, string>) => {
      const folder = join(root, stamp);
      await mkdir(join(folder, 'lists'), { recursive: true });
      for (const [name, content] of Object.entries(files)) await writeFile(join(folder, name), content);
      await symlink(stamp, join(root, '..data_tmp'));
      await rename(join(root, '..data_tmp'), join(root, '..data'));
    };
    await publish('..2026_11_29_10_00_00.1', { 'spam.json': fromList('spam-words', 'words'), 'lists/words.txt': 'crypto\n' });
    await symlink(join('..data', 'spam.json'), join(root, 'spam.json'));
    await symlink(join('..data', 'lists'), join(root, 'lists'));
    const runtime = await watching(root);
    const v1 = runtime.status().version;
    expect(ruleNames(runtime)).toEqual(['spam-words']);

    // Only the list changes (a projected lists/words.txt): the new ..data target holds it.
    await publish('..2026_11_29_10_05_00.2', { 'spam.json': fromList('spam-words', 'words'), 'lists/words.txt': 'crypto\nforex\n' });
    await rm(join(root, '..2026_11_29_10_00_00.1'), { recursive: true });
    const v2 = await nextVersion(runtime, v1, 'reload after the ..data swap');
    expect(runtime.current().ruleSet.fileLists.get('words')).toEqual(['crypto', 'forex']);

    // A second update still reaches it (the lists/ watch was re-armed on the new target).
    await publish('..2026_11_29_10_10_00.3', { 'spam.json': fromList('spam-words', 'words'), 'lists/words.txt': 'forex\n' });
    await rm(join(root, '..2026_11_29_10_05_00.2'), { recursive: true });
    await nextVersion(runtime, v2, 'reload after the second swap');
    expect(runtime.current().ruleSet.fileLists.get('words')).toEqual(['forex']);
    expect(runtime.status().lastError).toBeUndefined();
  });
});

describe('a rule set that moderates nothing', () => {
  it('loads but is flagged, and a reload that would empty a working policy is rejected', async () => {
    const dir = await tempDir();
    const empty = createRulesRuntime({ rulesDir: dir, logger: createLogger({ logLevel: 'silent' }) });
    await empty.load();
    expect(empty.status()).toMatchObject({ rules: 0, emptyPolicy: expect.stringMatching(/holds no rule .*nothing would be moderated/) });

    await writeFile(join(dir, 'off.json'), JSON.stringify({ ...JSON.parse(flagWord('says-hello', 'hello')), mode: 'off' }));
    expect(await empty.reload('test')).toMatchObject({ ok: true, result: 'loaded' });
    expect(empty.status().emptyPolicy).toBe('all 1 rule(s) have mode "off": nothing would be moderated');

    await writeFile(join(dir, 'shadow.json'), JSON.stringify({ ...JSON.parse(flagWord('says-bye', 'bye')), mode: 'shadow' }));
    const good = await empty.reload('test');
    expect(good).toMatchObject({ ok: true, result: 'loaded' });
    expect(empty.status()).not.toHaveProperty('emptyPolicy');

    // Deleting the last enforceable rule: kept out like any bad change.
    await rm(join(dir, 'shadow.json'));
    const rejected = await empty.reload('test');
    expect(rejected).toMatchObject({
      ok: false,
      result: 'rejected',
      version: good.version,
      problems: [{ path: dir, message: expect.stringMatching(/all 1 rule\(s\) have mode "off".*AUTOMOD_ALLOW_EMPTY_RULES=true/) }],
    });
    expect(empty.status()).toMatchObject({ version: good.version, lastError: { trigger: 'test' } });
    expect(empty.status()).not.toHaveProperty('emptyPolicy');

    const allowed = createRulesRuntime({ rulesDir: dir, logger: createLogger({ logLevel: 'silent' }), allowEmptyRules: true });
    await allowed.load();
    expect(allowed.status()).not.toHaveProperty('emptyPolicy');
  });
});
