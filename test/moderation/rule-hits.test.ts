import { describe, expect, it } from 'vitest';
import { createEvaluator } from '../../src/moderation/evaluate.js';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { formatRuleTest, runRuleTest } from '../../src/moderation/rule-test.js';
import { loadRules } from '../../src/moderation/rules-loader.js';
import type { MeetingEvent } from '../../src/shared/event-schema.js';

const LINK = {
  name: 'link-in-chat',
  priority: 20,
  conditions: {
    all: [
      { fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' },
      { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: 'https?://' },
    ],
  },
  event: { type: 'flag', params: { reason: 'Link in chat' } },
};
const LINK_FLOOD = {
  name: 'link-flood',
  priority: 10,
  conditions: {
    all: [
      { fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' },
      { fact: 'ruleHits', params: { rule: 'link-in-chat', windowSeconds: 60 }, operator: 'greaterThanInclusive', value: 4 },
    ],
  },
  event: { type: 'remove-participant', params: { reason: 'Four links in a minute', banFor: '10m' } },
};

const load = (...rules: object[]) => loadRules([{ path: 'r.json', content: JSON.stringify(rules) }], []);
const lists = createStaticListSource(new Map());

describe('ruleHits', () => {
  it("adds this event's hit of a higher-priority rule to the count of earlier ones", async () => {
    const ruleSet = load(LINK, LINK_FLOOD).ruleSet!;
    expect(ruleSet.countedRules).toEqual(new Map([['link-in-chat', 3600]]));
    const event = (text: string): MeetingEvent => ({
      id: 'e',
      type: 'chat-message',
      sessionId: 's',
      participantId: 'p',
      timestamp: '2026-01-01T00:00:00Z',
      data: { text },
    });
    for (const prefilter of [true, false]) {
      const evaluator = createEvaluator(ruleSet, { lists: () => lists, prefilter });
      const names = async (text: string, earlier: number) =>
        (await evaluator.evaluate(event(text), { eventCounts: {}, strikes: {}, ruleHits: { 'link-in-chat:60': earlier } })).map(
          (h) => h.rule,
        );
      expect(await names('see https://x.example', 3)).toEqual(['link-in-chat', 'link-flood']);
      expect(await names('no link here', 3)).toEqual([]);
      expect(await names('no link here', 4)).toEqual(['link-flood']);
      expect(await names('see https://x.example', 2)).toEqual(['link-in-chat']);
    }
  });

  it("counts four links in a minute per participant, not other rules' hits, not shadow hits", async () => {
    const ruleSet = load(LINK, LINK_FLOOD, {
      name: 'greeting',
      priority: 30,
      conditions: { all: [{ fact: 'event', path: '$.data.text', operator: 'containsWord', value: 'hello' }] },
      event: { type: 'flag' },
    }).ruleSet!;
    const chat = (who: string, second: number, text: string, expect: string[]) =>
      JSON.stringify({
        type: 'chat-message',
        sessionId: 's',
        participantId: who,
        timestamp: new Date(Date.UTC(2026, 0, 1, 10, 0, second)).toISOString(),
        data: { text },
        expect,
      });
    const report = await runRuleTest(
      ruleSet,
      [
        chat('ann', 0, 'hello https://a.example', ['greeting', 'link-in-chat']),
        chat('ann', 10, 'hello hello', ['greeting']),
        chat('bob', 11, 'https://b.example', ['link-in-chat']),
        chat('ann', 20, 'https://c.example', ['link-in-chat']),
        chat('ann', 20, 'https://c.example again', ['link-in-chat']),
        chat('ann', 30, 'last one https://d.example', ['link-in-chat', 'link-flood']),
        chat('ann', 59, 'and no link', ['link-flood']),
        // A minute after the first link, three remain in the window.
        chat('ann', 60, 'quiet now', []),
      ],
      lists,
    );
    expect(report.summary.ok, formatRuleTest(report).join('\n')).toBe(true);

    const shadowed = load({ ...LINK, mode: 'shadow' }, LINK_FLOOD).ruleSet!;
    const quiet = await runRuleTest(
      shadowed,
      [0, 1, 2, 3, 4].map((s) => chat('cy', s, 'https://e.example', ['link-in-chat'])),
      lists,
    );
    expect(quiet.summary.ok).toBe(true);
  });

  it('refuses a ruleHits that names an unknown rule or one that is not evaluated first', () => {
    const problems = (...rules: object[]) => load(...rules).problems.map((p) => `${p.path}: ${p.message}`);
    const counting = (rule: string, priority = 10) => ({
      ...LINK_FLOOD,
      priority,
      conditions: { all: [{ fact: 'ruleHits', params: { rule, windowSeconds: 60 }, operator: 'greaterThan', value: 1 }] },
    });
    expect(problems(LINK, counting('link-in-chatt'))).toEqual([
      'r.json#link-flood $.conditions.all[0].params.rule: names unknown rule "link-in-chatt" (did you mean "link-in-chat"?)',
    ]);
    expect(problems(LINK, counting('link-in-chat', 20))).toEqual([
      'r.json#link-flood $.conditions.all[0].params.rule: "link-in-chat" must have a higher priority than "link-flood" (it has 20, this rule 20): a rule counts the hits of rules evaluated before it',
    ]);
    expect(
      problems(LINK, {
        ...counting('link-in-chat'),
        conditions: { all: [{ fact: 'ruleHits', params: { windowSeconds: 0 }, operator: 'greaterThan', value: 1 }] },
      }),
    ).toEqual([
      'r.json#link-flood $.conditions.all[0].params.rule: is required',
      'r.json#link-flood $.conditions.all[0].params.windowSeconds: must be at least 1',
    ]);
  });
});
