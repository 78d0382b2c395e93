import { describe, expect, it } from 'vitest';
import { createEvaluator } from '../../src/moderation/evaluate.js';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { matchedTerms } from '../../src/moderation/matched-terms.js';
import { loadRules } from '../../src/moderation/rules-loader.js';
import type { EvaluationFacts } from '../../src/moderation/types.js';
import type { MeetingEvent } from '../../src/shared/event-schema.js';

const NO_FACTS: EvaluationFacts = { eventCounts: {}, strikes: {} };

function rule(name: string, condition: Record<string, unknown>) {
  return { name, conditions: { all: [{ fact: 'event', ...condition }] }, event: { type: 'flag' } };
}

const RULES = [
  rule('staff-name', { path: '$.participantName', operator: 'matchesPattern', value: '(?i)^\\s*(admin|support)\\b' }),
  rule('staff-name-exact', { path: '$.participantName', operator: 'matchesPattern', value: '^Admin\\b', params: { exact: true } }),
  rule('scam', { path: '$.data.text', operator: 'containsWord', value: ['free crypto', 'moron', 'scumbag'] }),
  rule('scam-exact', { path: '$.data.text', operator: 'containsWord', value: 'Moron', params: { exact: true } }),
  rule('vip-name', { path: '$.participantName', operator: 'inList', value: 'vips' }),
  rule('vip-name-exact', { path: '$.participantName', operator: 'inList', value: 'vips', params: { exact: true } }),
  rule('vip-id', { path: '$.participantId', operator: 'inList', value: 'vips' }),
];
const lists = createStaticListSource(new Map([['vips', ['Zoë Smith', 'admin-7']]]));
const ruleSet = loadRules([{ path: 'r.json', content: JSON.stringify(RULES) }], []).ruleSet!;
// With and without the pre-check: both must read the folded form alike.
const evaluators = [true, false].map((prefilter) => createEvaluator(ruleSet, { lists: () => lists, prefilter }));

function event(fields: Partial<MeetingEvent>): MeetingEvent {
  return { id: 'e', type: 'chat-message', sessionId: 's', participantId: 'p', timestamp: '2026-01-01T00:00:00Z', data: {}, ...fields };
}

async function fired(e: MeetingEvent): Promise<string[]> {
  const [a, b] = await Promise.all(evaluators.map((ev) => ev.evaluate(e, NO_FACTS)));
  expect(a!.map((h) => h.rule)).toEqual(b!.map((h) => h.rule));
  return a!.map((h) => h.rule).sort();
}

describe('rules read folded text', () => {
  it('matchesPattern reads look-alike, full-width, mathematical and marked names as plain letters', async () => {
    for (const name of ['Аdmin', 'Αdmin', 'Ａｄｍｉｎ', '𝐀𝐝𝐦𝐢𝐧', 'Ad\u0301min', 'Suppоrt', 'ADMIN']) {
      expect(await fired(event({ participantName: name })), name).toContain('staff-name');
    }
    expect(await fired(event({ participantName: 'Adminton' }))).toEqual([]);
  });

  it('"exact" keeps the raw comparison', async () => {
    expect(await fired(event({ participantName: 'Admin' }))).toEqual(['staff-name', 'staff-name-exact']);
    expect(await fired(event({ participantName: 'Аdmin' }))).toEqual(['staff-name']);
    expect(await fired(event({ data: { text: 'you Moron' } }))).toEqual(['scam', 'scam-exact']);
    expect(await fired(event({ data: { text: 'you moron' } }))).toEqual(['scam']);
    expect(await fired(event({ data: { text: 'you morοn' } }))).toEqual(['scam']);
  });

  it('containsWord reads disguised words, whole words only', async () => {
    for (const text of ['frее crypto', 'morοn', 'fr33 crypt0', 'f r e e  c r y p t o', 'f.r.e.e crypto', 'scum-bag', 'M O R O N!']) {
      expect(await fired(event({ data: { text } })), text).toContain('scam');
    }
    for (const text of ['cryptography for free', 'more on that', 'scum in a bag', 'freecryptography', 'a f r e e c r y p t o']) {
      expect(await fired(event({ data: { text } })), text).toEqual([]);
    }
  });

  it('list look-ups fold names and text, never ids', async () => {
    expect(await fired(event({ participantName: 'ZOË  SMITH' }))).toEqual(['vip-name']);
    expect(await fired(event({ participantName: 'Zoë Smith' }))).toEqual(['vip-name', 'vip-name-exact']);
    expect(await fired(event({ participantId: 'admin-7' }))).toEqual(['vip-id']);
    expect(await fired(event({ participantId: 'ADMIN-7' }))).toEqual([]);
    expect(await fired(event({ participantId: 'аdmin-7' }))).toEqual([]);
  });

  it('marks the terms that matched and shows the folded reading in the evidence', () => {
    const scam = ruleSet.rules.find((r) => r.name === 'scam')!;
    expect(matchedTerms(scam.definition, 'get frее crypto, m o r o n', lists)).toEqual({
      matched: ['free crypto', 'moron'],
      folded: 'get free crypto, m o r o n',
    });
    expect(matchedTerms(scam.definition, 'get FREE crypto', lists)).toEqual({ matched: ['free crypto'] });
    const long = `${'x'.repeat(70_000)} moron`;
    const evidence = matchedTerms(scam.definition, long, lists);
    expect(evidence.matched).toEqual(['moron']);
    expect(evidence.folded).toMatch(/^….*moron$/);
    expect(evidence.folded!.length).toBeLessThanOrEqual(4097);
  });
});

describe('rules check on folded text', () => {
  const problems = (condition: Record<string, unknown>) =>
    loadRules([{ path: 'r.json', content: JSON.stringify(rule('r', condition)) }], []).problems.map((p) => `${p.path}: ${p.message}`);

  it('refuses a pattern that could never match folded text, or that tests letter case', () => {
    expect(problems({ path: '$.participantName', operator: 'matchesPattern', value: '^Аdmin' })).toEqual([
      expect.stringMatching(/^r\.json#r \$\.conditions\.all\[0\]\.value: pattern holds "А" \(U\+0410\), which rules never see/),
    ]);
    expect(problems({ path: '$.data.text', operator: 'matchesPattern', value: '[A-Z]{10,}' })).toEqual([
      expect.stringContaining('[A-Z] tests letter case, but rules read text folded to lower case: add "params": {"exact": true}'),
    ]);
    expect(problems({ path: '$.data.text', operator: 'matchesPattern', value: '[A-Z]{10,}', params: { exact: true } })).toEqual([]);
  });

  it('takes "exact" only as a boolean on our text operators', () => {
    expect(problems({ path: '$.data.text', operator: 'equal', value: 'x', params: { exact: true } })).toEqual([
      expect.stringContaining('params.exact: applies to matchesPattern, containsWord, inList, notInList only'),
    ]);
    expect(problems({ path: '$.data.text', operator: 'containsWord', value: 'x', params: { exact: 'yes', fold: 1 } })).toEqual([
      expect.stringContaining('params.fold: unknown key "fold" (allowed: exact)'),
      expect.stringContaining('params.exact: must be true or false'),
    ]);
  });
});
