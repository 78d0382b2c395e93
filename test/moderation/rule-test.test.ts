import { describe, expect, it } from 'vitest';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { formatRuleTest, runRuleTest } from '../../src/moderation/rule-test.js';
import { loadRules } from '../../src/moderation/rules-loader.js';

const RULE = {
  name: 'no-spam',
  conditions: {
    all: [
      { fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' },
      { fact: 'event', path: '$.data.text', operator: 'containsWord', value: 'spam' },
    ],
  },
  event: { type: 'flag' },
};

describe('runRuleTest', () => {
  const ruleSet = loadRules([{ path: 'r.json', content: JSON.stringify(RULE) }], []).ruleSet!;
  const lists = createStaticListSource(ruleSet.fileLists);
  const chat = (text: string, expect?: string[]) =>
    JSON.stringify({ type: 'chat-message', sessionId: 's', participantId: 'p', data: { text }, ...(expect ? { expect } : {}) });

  it('passes when every expectation is met, skipping blank and comment lines', async () => {
    const report = await runRuleTest(
      ruleSet,
      ['# comment', chat('spam!', ['no-spam']), '', chat('hello', []), chat('no expectation')],
      lists,
    );
    expect(report.results.map((r) => [r.line, r.fired, r.ok])).toEqual([
      [2, ['no-spam'], true],
      [4, [], true],
      [5, [], true],
    ]);
    expect(report.summary).toEqual({ events: 3, checked: 2, passed: 2, failed: 0, errors: 0, ok: true });
  });

  it('fails on an unmet expectation, an invalid line or an unknown rule name, and says so', async () => {
    const report = await runRuleTest(
      ruleSet,
      [chat('hello', ['no-spam']), '{"type": "chat-message"}', 'not json', chat('x', ['nope'])],
      lists,
    );
    expect(report.summary).toMatchObject({ failed: 1, errors: 3, ok: false });
    const text = formatRuleTest(report).join('\n');
    expect(text).toContain('FAIL  line 1: chat-message p -> (none); expected no-spam');
    expect(text).toMatch(/ERROR line 2: invalid event: \$\.sessionId/);
    expect(text).toMatch(/ERROR line 3: malformed JSON/);
    expect(text).toContain('ERROR line 4: "expect" names unknown rules: nope');
  });

  it('lets a rule match oversized input itself through `truncated`, and still checks the cut text', async () => {
    const oversized = {
      name: 'oversized-chat',
      conditions: { all: [{ fact: 'event', path: '$.truncated', operator: 'contains', value: 'data.text' }] },
      event: { type: 'flag' },
    };
    const both = loadRules([{ path: 'r.json', content: JSON.stringify([RULE, oversized]) }], []).ruleSet!;
    const report = await runRuleTest(
      both,
      [chat(`spam ${'x'.repeat(70_000)}`, ['no-spam', 'oversized-chat']), chat('spam', ['no-spam'])],
      createStaticListSource(both.fileLists),
    );
    expect(report.summary).toMatchObject({ ok: true, checked: 2, errors: 0 });
  });
});

describe('formatRuleTest', () => {
  it('says how the rules read a disguised text that fired', async () => {
    const ruleSet = loadRules([{ path: 'r.json', content: JSON.stringify(RULE) }], []).ruleSet!;
    const lines = [
      JSON.stringify({ type: 'chat-message', sessionId: 's', participantId: 'p', data: { text: 'ѕраm' }, expect: ['no-spam'] }),
    ];
    const report = await runRuleTest(ruleSet, lines, createStaticListSource(ruleSet.fileLists));
    expect(formatRuleTest(report)[0]).toBe('ok    line 1: chat-message p -> no-spam [read as "spam"]');
  });
});
