import { readFile } from 'node:fs/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import {
  formatCorpusTest,
  formatRuleTest,
  quoteText,
  runCorpusTest,
  runRuleTest,
  type CorpusReport,
} from '../../src/moderation/rule-test.js';
import { loadRules } from '../../src/moderation/rules-loader.js';
import type { RuleSet } from '../../src/moderation/types.js';
import { readRulesFolder } from '../../src/rules/rules-source.js';

const CORPORA = 'test/fixtures/corpora';

/**
 * False positives are a test like any other: the shipped rules must hit none of the ordinary text
 * of `clean.txt` and catch every disguise of `evasions.txt`.
 */
describe('shipped rules against the corpora', () => {
  let ruleSet: RuleSet;
  let report: CorpusReport;

  beforeAll(async () => {
    const { files, lists } = await readRulesFolder('rules');
    ruleSet = loadRules(files, lists).ruleSet!;
    const read = async (name: string) => (await readFile(`${CORPORA}/${name}`, 'utf8')).split('\n');
    report = await runCorpusTest(
      ruleSet,
      { clean: await read('clean.txt'), evasions: await read('evasions.txt') },
      createStaticListSource(ruleSet.fileLists),
    );
  });

  it('hit no clean text and catch every evasion', () => {
    expect(report.summary.ok, formatCorpusTest(report).join('\n')).toBe(true);
    expect(report.summary.clean).toBeGreaterThan(40);
    expect(report.summary.evasions).toBeGreaterThan(20);
  });

  it('moderate the whole text up to 64 KB, and mark the cut beyond', async () => {
    const chat = (text: string, expect: string[]) =>
      JSON.stringify({ type: 'chat-message', sessionId: 's', participantId: `p${text.length}`, data: { text }, expect });
    const lines = [
      chat(`${'x'.repeat(5000)} free crypto`, ['banned-words']),
      chat(`${'hello '.repeat(700)}free crypto`, ['banned-words']),
      chat(`${'hello '.repeat(10_000)}fr33 crypt0`, ['banned-words']),
      chat(`${'hello '.repeat(11_000)}free crypto`, []),
    ];
    const result = await runRuleTest(ruleSet, lines, createStaticListSource(ruleSet.fileLists));
    expect(result.summary.ok, formatRuleTest(result).join('\n')).toBe(true);
    expect(result.results[2]!.event!.truncated).toBeUndefined();
    expect(result.results[3]!.event!.truncated).toEqual(['data.text']);
  });

  it('say how they read a disguised text', () => {
    const free = report.results.find((r) => r.text === 'frее crypto')!;
    expect(free.read).toBe('free crypto');
    expect(free.fired).toEqual([{ carrier: 'chat', rules: ['banned-words'] }]);
    const lines = formatCorpusTest(report, { all: true });
    expect(lines).toContain('ok    evasions line 15: "frее crypto" [read as "free crypto"] -> banned-words (as chat)');
  });
});

describe('runCorpusTest', () => {
  const ruleSet = loadRules(
    [
      {
        path: 'r.json',
        content: JSON.stringify({
          name: 'no-ass',
          conditions: { all: [{ fact: 'event', path: '$.data.text', operator: 'containsWord', value: 'ass' }] },
          event: { type: 'flag' },
        }),
      },
    ],
    [],
  ).ruleSet!;
  const lists = createStaticListSource(new Map());

  it('fails a clean text that a rule hits and an evasion no rule catches, and names bad lines', async () => {
    const report = await runCorpusTest(
      ruleSet,
      { clean: ['# comment', 'first class', 'you ass'], evasions: ['no-ass: a.s.s', 'no-ass: a s', 'nope: x', 'no colon'] },
      lists,
    );
    expect(report.summary).toEqual({ clean: 2, evasions: 4, failed: 2, errors: 2, ok: false });
    expect(formatCorpusTest(report)).toEqual([
      'FAIL  clean line 3: "you ass" -> no-ass (as chat); expected (none)',
      'FAIL  evasions line 2: "a s" -> (none); expected no-ass',
      'ERROR evasions line 3: "x": names unknown rules: nope',
      'ERROR evasions line 4: "no colon": must be "rule-name: text" (or "rule-a, rule-b: text")',
      'FAIL: 2 clean texts, 4 evasions: 2 failed, 2 invalid',
    ]);
  });

  it('quotes participant text for a terminal', () => {
    expect(quoteText('a\u202eb\u0007"c"\\\u200b')).toBe('"a\\u202eb\\x07\\"c\\"\\\\\\u200b"');
    expect(quoteText('x'.repeat(100))).toBe(`"${'x'.repeat(80)}…"`);
  });
});
