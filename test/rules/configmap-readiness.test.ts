import { cp, mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, type Harness } from '../helpers/harness.js';
import { fired, send, testEvent } from '../helpers/events.js';

// The attack: the shipped rules mounted as a Kubernetes ConfigMap volume (every file a symbolic
// link through ..data). Before, the worker saw 0 rules, answered /readyz 200 and moderated nothing.

let base: string;
let configMap: string;
let emptyDir: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'automod-configmap-'));
  configMap = join(base, 'rules');
  const stamp = '..2026_11_29_10_00_00.123456789';
  await mkdir(configMap);
  await cp('rules', join(configMap, stamp), { recursive: true });
  await symlink(stamp, join(configMap, '..data'));
  for (const name of await readdir(join(configMap, stamp))) await symlink(join('..data', name), join(configMap, name));
  emptyDir = join(base, 'empty');
  await mkdir(emptyDir);
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});

describe('a worker on a ConfigMap-mounted rules folder', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('rules-configmap', { AUTOMOD_RULES: configMap });
  });
  afterAll(async () => {
    await h?.close();
  });

  it('loads every linked rule and list, is ready, and moderates', async () => {
    const ready = await h.api('GET', '/readyz');
    expect(ready.status).toBe(200);
    const rules = (ready.body as { rules: { rules: number } }).rules.rules;
    expect(rules).toBeGreaterThan(5);
    const [logged] = await send(h, [testEvent(sessionId(), { data: { text: 'free crypto here' } })]);
    expect(fired(logged!)).toContain('banned-words'); // a rule reading lists/banned-words.txt
  });
});

describe('a worker whose rules moderate nothing', () => {
  let h: Harness | undefined;
  afterAll(async () => {
    await h?.close();
  });

  it('is not ready, saying why, unless AUTOMOD_ALLOW_EMPTY_RULES=true', async () => {
    h = await startHarness('rules-empty', { AUTOMOD_RULES: emptyDir });
    const ready = await h.api('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body).toMatchObject({
      status: 'unavailable',
      reasons: [
        expect.stringMatching(/holds no rule .*nothing would be moderated \(set AUTOMOD_ALLOW_EMPTY_RULES=true if that is intended\)/),
      ],
      rules: { rules: 0 },
    });
    await h.close();
    h = undefined;

    h = await startHarness('rules-empty-allowed', { AUTOMOD_RULES: emptyDir, AUTOMOD_ALLOW_EMPTY_RULES: 'true' });
    const allowed = await h.api('GET', '/readyz');
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ status: 'ready', rules: { rules: 0 } });
  });
});
