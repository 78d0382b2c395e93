import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/shared/event-schema.js';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { createEvaluator } from '../../src/moderation/evaluate.js';
import { loadRules } from '../../src/moderation/rules-loader.js';
import type { RuleSet } from '../../src/moderation/types.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

/**
 * Rules are data. A regex in a rule cannot backtrack catastrophically (RE2 semantics), and
 * nothing in a rule file runs code: not a `condition` string, not a JSONPath script or filter
 * expression, not an operator or fact named after a prototype property.
 */

const NO_FACTS = { eventCounts: {}, strikes: {} };
const declared = globalThis as { __pwned?: unknown };

function rule(conditions: unknown, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ name: 'hostile', conditions, event: { type: 'remove-participant', params: { reason: 'x' } }, ...extra });
}

function evaluator(ruleSet: RuleSet) {
  return createEvaluator(ruleSet, { lists: () => createStaticListSource(ruleSet.fileLists) });
}

function untouched(): void {
  expect(declared.__pwned).toBeUndefined();
  expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
}

describe('catastrophic regex', () => {
  const evil = rule({ all: [{ fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: '(a+)+$' }] });

  it('(a+)+$ on the longest text an event keeps (4,000 characters) is decided', async () => {
    const loaded = loadRules([{ path: 'evil.json', content: evil }], []);
    expect(loaded.problems).toEqual([]);
    const rules = evaluator(loaded.ruleSet!);
    const text = `${'a'.repeat(4_000)}!`;
    const miss = await rules.evaluate(parseEvent({ type: 'chat-message', sessionId: 's', participantId: 'p', data: { text } }), NO_FACTS);
    const hit = await rules.evaluate(
      parseEvent({ type: 'chat-message', sessionId: 's', participantId: 'p', data: { text: 'a'.repeat(4_000) } }),
      NO_FACTS,
    );
    // A backtracking engine needs longer than the age of the universe for this (a test that never
    // ends, not a slow one); RE2 a few ms. That the engine is RE2 is the next test's to show.
    expect(miss).toEqual([]);
    expect(hit.map((h) => h.rule)).toEqual(['hostile']);
  });

  it('refuses constructs only a backtracking engine has (backreferences, lookaround)', () => {
    for (const pattern of ['(a)\\1', '(?=a)a', '(?<!b)a', 'a++']) {
      const loaded = loadRules(
        [{ path: 'bt.json', content: rule({ all: [{ fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: pattern }] }) }],
        [],
      );
      expect(loaded.ruleSet, pattern).toBeUndefined();
      expect(loaded.problems[0]?.message, pattern).toMatch(/RE2/);
    }
  });

  describe('through a running worker', () => {
    let h: Harness;
    let dir: string;
    beforeAll(async () => {
      dir = await mkdtemp(join(tmpdir(), 'automod-evil-rules-'));
      await writeFile(join(dir, 'evil.json'), evil);
      h = await startHarness('evil-regex', { AUTOMOD_RULES: dir });
    });
    afterAll(async () => {
      await h?.close();
      await rm(dir, { recursive: true, force: true });
    });

    it('processes a long hostile chat message and keeps going', async () => {
      const sid = sessionId();
      h.simulator.addSession({
        id: sid,
        meetingId: 'room-r',
        participants: [
          { participantId: 'a-lot', name: 'A' },
          { participantId: 'bang', name: 'B' },
        ],
      });
      const base = { type: 'chat-message', meetingId: 'room-r', sessionId: sid };
      const res = await h.api('POST', '/v1/events', [
        { ...base, participantId: 'bang', data: { text: `${'a'.repeat(4_000)}!` } },
        { ...base, participantId: 'a-lot', data: { text: 'a'.repeat(4_000) } },
      ]);
      expect(res.status).toBe(202);
      const removals = await waitFor(
        async () => {
          const r = (await h.automod.services.sessions.get(sid))?.removals ?? [];
          return r.length > 0 ? r : undefined;
        },
        5000,
        'the removal',
      );
      expect(removals.map((r) => r.participantId)).toEqual(['a-lot']);
    });
  });
});

describe('rule files cannot run code', () => {
  // Script and filter expressions a JSONPath engine with eval would run (the shapes of
  // CVE-2024-21534 and CVE-2025-1302 against jsonpath-plus), and prototype walks.
  const paths = [
    "$[?(@.constructor.constructor('globalThis.__pwned = 1')())]",
    "$..[?(p=\"globalThis.__pwned = 1\";a=''[['constructor']][['constructor']](p);a())]",
    '$[(globalThis.__pwned = 1)]',
    '$..constructor',
    '$.constructor.constructor',
    '$.__proto__',
    '$.__proto__.polluted',
    '$..*',
    '$.data.__proto__',
  ];

  it.each(paths)('a condition path of %s runs nothing and pollutes nothing', async (path) => {
    const loaded = loadRules(
      [{ path: 'hostile.json', content: rule({ all: [{ fact: 'event', path, operator: 'equal', value: 'x' }] }) }],
      [],
    );
    const asValue = loadRules(
      [
        {
          path: 'hostile-value.json',
          content: rule({ all: [{ fact: 'event', path: '$.type', operator: 'equal', value: { fact: 'event', path } }] }),
        },
      ],
      [],
    );
    untouched();
    if (/[()?]|__proto__|constructor/.test(path)) {
      // Anything but plain member access is refused when the rules load, in both positions.
      expect(loaded.ruleSet).toBeUndefined();
      expect(loaded.problems[0]).toMatchObject({
        path: expect.stringContaining('.path'),
        message: expect.stringMatching(/filter and script|__proto__/),
      });
      expect(asValue.ruleSet).toBeUndefined();
      return;
    }
    // What loads is harmless to evaluate.
    const event = parseEvent({ type: 'chat-message', sessionId: 's', participantId: 'p', data: { text: 'x', nested: { a: 'b' } } });
    await evaluator(loaded.ruleSet!).evaluate(event, NO_FACTS);
    await evaluator(asValue.ruleSet!).evaluate(event, NO_FACTS);
    untouched();
  });

  it('refuses a condition given as a string or a shared condition reference', () => {
    for (const conditions of [
      { all: [{ condition: 'process.exit(1)' }] },
      { all: ['process.exit(1)'] },
      { condition: "require('child_process').execSync('touch /tmp/pwned')" },
    ]) {
      const loaded = loadRules([{ path: 'c.json', content: rule(conditions) }], []);
      expect(loaded.ruleSet, JSON.stringify(conditions)).toBeUndefined();
      expect(loaded.problems.length).toBeGreaterThan(0);
    }
    untouched();
  });

  it('refuses operators and facts named after prototype properties', () => {
    for (const leaf of [
      { fact: 'event', path: '$.type', operator: 'constructor', value: 'x' },
      { fact: 'event', path: '$.type', operator: '__proto__', value: 'x' },
      { fact: 'event', path: '$.type', operator: 'toString', value: 'x' },
      { fact: 'constructor', operator: 'equal', value: 1 },
      { fact: '__proto__', operator: 'equal', value: 1 },
      { fact: 'hasOwnProperty', operator: 'equal', value: 1 },
    ]) {
      const loaded = loadRules([{ path: 'o.json', content: rule({ all: [leaf] }) }], []);
      expect(loaded.ruleSet, JSON.stringify(leaf)).toBeUndefined();
      expect(loaded.problems[0]?.message).toMatch(/unknown (operator|fact)/);
    }
    untouched();
  });

  it('keeps __proto__ keys in a rule file from polluting anything', async () => {
    // Written as text: JSON.stringify cannot produce a literal "__proto__" key.
    const content = `{"name":"proto","__proto__":{"polluted":1},"conditions":{"all":[{"fact":"event","path":"$.type","operator":"equal","value":"chat-message","__proto__":{"polluted":1}}]},"event":{"type":"flag","params":{"reason":"r","__proto__":{"polluted":1}}}}`;
    const loaded = loadRules([{ path: 'proto.json', content }], []);
    untouched();
    if (loaded.ruleSet) {
      await evaluator(loaded.ruleSet).evaluate(parseEvent({ type: 'chat-message', sessionId: 's', participantId: 'p' }), NO_FACTS);
    }
    untouched();
  });
});
