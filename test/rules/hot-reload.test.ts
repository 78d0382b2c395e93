import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { runRulesReload } from '../../src/cli/commands/rules.js';
import { createRulesRuntime } from '../../src/rules/rules-runtime.js';
import type { AuditRecord } from '../../src/store/audit.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { fired, send, testEvent } from '../helpers/events.js';
import { captureIo } from '../helpers/io.js';
import { removeDir, tempRules } from '../helpers/rules-dir.js';

const flagWord = (name: string, word: string) => ({
  name,
  conditions: {
    all: [
      { fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' },
      { fact: 'event', path: '$.data.text', operator: 'containsWord', value: word },
    ],
  },
  event: { type: 'flag', params: { reason: `said ${word}` } },
});
const chat = (sid: string, text: string) => testEvent(sid, { data: { text } });

async function reloads(h: Harness): Promise<AuditRecord[]> {
  return h.automod.services.audit.query({ kind: 'rules-reload' });
}

describe('hot reload on a change to the rules folder', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = await tempRules({ 'hello.json': flagWord('says-hello', 'hello') });
    h = await startHarness('rules-hot-reload', { AUTOMOD_RULES: dir }, { watchRules: true });
  });
  afterAll(async () => {
    await h?.close();
    await removeDir(dir);
  });

  it('puts a new rule in force, keeps the last good rules on a bad file, and loads the fix', async () => {
    const sid = sessionId();
    const v1 = h.automod.rules!.status().version!;
    const [first] = await send(h, [chat(sid, 'hello bye')]);
    expect(fired(first!)).toEqual(['says-hello']);
    expect(first!.rulesVersion).toBe(v1);

    // A new file: in force without a restart.
    await writeFile(join(dir, 'bye.json'), JSON.stringify(flagWord('says-bye', 'bye')));
    const v2 = await waitFor(
      () => {
        const v = h.automod.rules!.status().version;
        return v !== v1 ? v : undefined;
      },
      5000,
      'reload after a new file',
    );
    const [second] = await send(h, [chat(sid, 'hello bye')]);
    expect(fired(second!).sort()).toEqual(['says-bye', 'says-hello']);
    expect(second!.rulesVersion).toBe(v2);
    const loaded = await waitFor(
      async () => (await reloads(h)).find((r) => r.outcome === 'loaded' && r.rulesVersion === v2),
      5000,
      'audit of the reload',
    );
    expect(loaded.detail).toMatchObject({ trigger: 'file change', previous: v1 });

    // A broken change: reported (status, /readyz 200 with the detail, audit), old rules stay.
    await writeFile(
      join(dir, 'broken.json'),
      JSON.stringify({
        ...flagWord('says-nope', 'nope'),
        conditions: { all: [{ fact: 'event', path: '$.data.text', operator: 'sortOf', value: 'x' }] },
      }),
    );
    const error = await waitFor(() => h.automod.rules!.status().lastError, 5000, 'rejected reload');
    expect(error.problems).toContainEqual({
      path: 'broken.json#says-nope $.conditions.all[0].operator',
      message: expect.stringMatching(/unknown operator "sortOf"/),
    });
    expect(h.automod.rules!.status().version).toBe(v2);
    const ready = await h.api('GET', '/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({
      status: 'ready',
      rules: {
        version: v2,
        lastError: { trigger: 'file change', problems: [{ path: 'broken.json#says-nope $.conditions.all[0].operator' }] },
      },
    });
    const rejected = await waitFor(
      async () => (await reloads(h)).find((r) => r.outcome === 'rejected'),
      5000,
      'audit of the rejected reload',
    );
    expect(rejected).toMatchObject({ kind: 'rules-reload', rulesVersion: v2, detail: { keptVersion: v2, trigger: 'file change' } });
    const [third] = await send(h, [chat(sid, 'hello bye nope')]);
    expect(fired(third!).sort()).toEqual(['says-bye', 'says-hello']);
    expect(third!.rulesVersion).toBe(v2);

    // The fix loads, and the problem is gone from /readyz.
    await writeFile(join(dir, 'broken.json'), JSON.stringify(flagWord('says-nope', 'nope')));
    const v3 = await waitFor(
      () => {
        const s = h.automod.rules!.status();
        return s.version !== v2 && s.lastError === undefined ? s.version : undefined;
      },
      5000,
      'reload of the fix',
    );
    const [fourth] = await send(h, [chat(sid, 'nope')]);
    expect(fired(fourth!)).toEqual(['says-nope']);
    expect(fourth!.rulesVersion).toBe(v3);
    expect(((await h.api('GET', '/readyz')).body as { rules: object }).rules).not.toHaveProperty('lastError');
  });

  it('watches lists/ too', async () => {
    const sid = sessionId();
    const before = h.automod.rules!.status().version;
    await writeFile(join(dir, 'lists', 'words.txt'), 'zonk\n');
    await writeFile(
      join(dir, 'zonk.json'),
      JSON.stringify({
        ...flagWord('says-zonk', 'x'),
        conditions: { all: [{ fact: 'event', path: '$.data.text', operator: 'containsWord', value: { list: 'words' } }] },
      }),
    );
    await waitFor(() => (h.automod.rules!.status().version !== before ? true : undefined), 5000, 'reload');
    const [hit] = await send(h, [chat(sid, 'ZONK')]);
    expect(fired(hit!)).toContain('says-zonk');
    const version = h.automod.rules!.status().version;
    await writeFile(join(dir, 'lists', 'words.txt'), 'zonk\nwibble\n');
    await waitFor(() => (h.automod.rules!.status().version !== version ? true : undefined), 5000, 'reload after a list change');
    const [hit2] = await send(h, [chat(sid, 'wibble')]);
    expect(fired(hit2!)).toContain('says-zonk');
  });
});

describe('reload on request: automod rules reload (Redis pub/sub) and SIGHUP', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = await tempRules({ 'hello.json': flagWord('says-hello', 'hello') });
    // No file watching: only a request reloads.
    h = await startHarness('rules-reload-request', { AUTOMOD_RULES: dir }, { watchRules: false });
  });
  afterAll(async () => {
    await h?.close();
    await removeDir(dir);
  });

  it('reaches the running worker, which answers with what it did', async () => {
    const v1 = h.automod.rules!.status().version;
    // Not watching: a watching runtime on the same folder, with the same (default) debounce, is
    // the clock. Once it has observed the change and reloaded, a watching worker would have too.
    const control = createRulesRuntime({ rulesDir: dir, logger: createLogger({ logLevel: 'silent' }) });
    await control.load();
    control.watchFolder();
    try {
      await writeFile(join(dir, 'bye.json'), JSON.stringify(flagWord('says-bye', 'bye')));
      await waitFor(() => (control.status().version !== v1 ? true : undefined), 5000, 'the watching control runtime to reload');
    } finally {
      control.close();
    }
    expect(h.automod.rules!.status().version).toBe(v1);

    const io = captureIo();
    expect(await runRulesReload(h.automod.services, { timeoutMs: 5000, json: false }, io)).toBe(0);
    const v2 = h.automod.rules!.status().version;
    expect(v2).not.toBe(v1);
    expect(io.out()).toMatch(new RegExp(`${h.automod.rules!.workerId}\\s+loaded\\s+${v2}\\s+${v1}`));
    expect(io.out()).toContain(`1 of 1 worker(s) run the folder's rules (version ${v2})`);
    const [hit] = await send(h, [chat(sessionId(), 'bye')]);
    expect(fired(hit!)).toEqual(['says-bye']);

    // A bad change: the worker says no, names the problem, and keeps its rules; exit code 1.
    await writeFile(join(dir, 'bad.json'), '{"name": "bad", ');
    const bad = captureIo();
    expect(await runRulesReload(h.automod.services, { timeoutMs: 5000, json: false }, bad)).toBe(1);
    expect(bad.out()).toMatch(/rejected/);
    expect(bad.err()).toMatch(new RegExp(`rejected the change and keeps version ${v2}:\\n  bad\\.json:1:\\d+: malformed JSON: `));
    expect(h.automod.rules!.status().version).toBe(v2);
    const audit = await h.automod.services.audit.query({ kind: 'rules-reload', outcome: 'rejected' });
    expect(audit[0]?.detail).toMatchObject({ trigger: 'rules reload command', keptVersion: v2 });
  });

  it('reloads on SIGHUP', async () => {
    await writeFile(join(dir, 'bad.json'), JSON.stringify(flagWord('says-ciao', 'ciao')));
    const before = h.automod.rules!.status().version;
    process.emit('SIGHUP', 'SIGHUP');
    await waitFor(() => (h.automod.rules!.status().version !== before ? true : undefined), 5000, 'reload on SIGHUP');
    const [hit] = await send(h, [chat(sessionId(), 'ciao')]);
    expect(fired(hit!)).toEqual(['says-ciao']);
    const audit = await h.automod.services.audit.query({ kind: 'rules-reload', outcome: 'loaded' });
    expect(audit[0]?.detail).toMatchObject({ trigger: 'SIGHUP' });
  });
});
