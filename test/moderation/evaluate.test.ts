import { describe, expect, it } from 'vitest';
import type { MeetingEvent } from '../../src/shared/event-schema.js';
import { createEvaluator } from '../../src/moderation/evaluate.js';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import type { EvaluationFacts } from '../../src/moderation/types.js';
import { ruleSetOf, typeIs } from '../helpers/rule-set.js';

const NO_FACTS: EvaluationFacts = { eventCounts: {}, strikes: {} };
const lists = createStaticListSource(
  new Map([
    ['blocked', ['bad-1']],
    ['words', ['free crypto']],
  ]),
);

const textHas = (word: string) => ({ fact: 'event', path: '$.data.text', operator: 'containsWord', value: word });

function chat(text: string, extra: Partial<MeetingEvent> = {}): MeetingEvent {
  return {
    id: 'e',
    type: 'chat-message',
    sessionId: 's',
    participantId: 'p',
    timestamp: '2026-01-01T00:00:00.000Z',
    data: { text },
    ...extra,
  };
}

const RULES = [
  { name: 'low', priority: 1, conditions: { all: [typeIs('chat-message'), textHas('spam')] }, event: { type: 'flag' } },
  {
    name: 'high-b',
    priority: 5,
    conditions: { all: [typeIs('chat-message'), textHas('spam')] },
    event: { type: 'remove-participant', params: { reason: 'B' } },
  },
  {
    name: 'high-a',
    priority: 5,
    mode: 'shadow',
    conditions: { all: [typeIs('chat-message'), textHas('spam')] },
    event: { type: 'remove-participant' },
  },
  { name: 'never', mode: 'off', conditions: { all: [typeIs('chat-message'), textHas('spam')] }, event: { type: 'remove-participant' } },
  {
    name: 'flood',
    conditions: {
      all: [
        typeIs('chat-message'),
        {
          fact: 'eventCount',
          params: { type: 'chat-message', windowSeconds: 10, scope: 'participant' },
          operator: 'greaterThanInclusive',
          value: 3,
        },
      ],
    },
    event: { type: 'remove-participant' },
  },
  {
    name: 'repeat',
    conditions: {
      all: [
        { fact: 'strikes', params: { windowSeconds: 600 }, operator: 'greaterThanInclusive', value: 2 },
        { fact: 'event', path: '$.participantId', operator: 'notInList', value: 'blocked' },
      ],
    },
    event: { type: 'flag' },
  },
  {
    name: 'joined-blocked',
    conditions: { all: [typeIs('participant-joined'), { fact: 'event', path: '$.participantId', operator: 'inList', value: 'blocked' }] },
    event: { type: 'remove-participant' },
  },
  // Conditions the pre-check cannot decide; json-rules-engine does.
  {
    name: 'tagged',
    conditions: {
      any: [
        { fact: 'event', path: "$.data['tags'][0]", operator: 'equal', value: 'vip' },
        {
          fact: 'event',
          path: '$.data.count',
          operator: 'greaterThan',
          value: { fact: 'eventCount', params: { type: 'chat-message', windowSeconds: 10, scope: 'participant' } },
        },
      ],
    },
    event: { type: 'flag' },
  },
  {
    name: 'not-chat',
    conditions: { not: { fact: 'event', path: '$.type', operator: 'in', value: ['chat-message', 'participant-joined'] } },
    event: { type: 'flag' },
  },
];

describe('createEvaluator', () => {
  const ruleSet = ruleSetOf(RULES);
  const evaluator = createEvaluator(ruleSet, { lists: () => lists });

  it('reports enforce and shadow hits, never off rules, by priority then name', async () => {
    const hits = await evaluator.evaluate(chat('this is SPAM'), NO_FACTS);
    expect(hits).toEqual([
      { rule: 'high-a', mode: 'shadow', action: 'remove-participant', reason: 'high-a', priority: 5 },
      { rule: 'high-b', mode: 'enforce', action: 'remove-participant', reason: 'B', priority: 5 },
      { rule: 'low', mode: 'enforce', action: 'flag', reason: 'low', priority: 1 },
    ]);
  });

  it('reads eventCount and strikes from the facts given', async () => {
    const names = async (facts: EvaluationFacts) => (await evaluator.evaluate(chat('hi'), facts)).map((h) => h.rule);
    expect(await names(NO_FACTS)).toEqual([]);
    expect(await names({ eventCounts: { 'participant:chat-message:10': 2 }, strikes: { '600': 1 } })).toEqual([]);
    expect(await names({ eventCounts: { 'participant:chat-message:10': 3 }, strikes: {} })).toEqual(['flood']);
    expect(await names({ eventCounts: {}, strikes: { '600': 2 } })).toEqual(['repeat']);
  });

  it('runs an event only against rules for its type', async () => {
    const joined: MeetingEvent = { ...chat(''), type: 'participant-joined', participantId: 'bad-1', data: { text: 'spam' } };
    expect((await evaluator.evaluate(joined, NO_FACTS)).map((h) => h.rule)).toEqual(['joined-blocked']);
    const left: MeetingEvent = { ...chat('spam'), type: 'participant-left' };
    expect((await evaluator.evaluate(left, NO_FACTS)).map((h) => h.rule)).toEqual(['not-chat']);
  });

  it('waits where the event loop is to be served, and decides as without waiting', async () => {
    // A yielder that asks for a turn of the event loop at every other rule.
    let asked = 0;
    let waited = 0;
    const yieldToLoop = () => {
      if (++asked % 2 === 0) return undefined;
      return new Promise<void>((resolve) =>
        setImmediate(() => {
          waited++;
          resolve();
        }),
      );
    };
    const yielding = createEvaluator(ruleSet, { lists: () => lists, yieldToLoop });
    const events: [MeetingEvent, EvaluationFacts][] = [
      [chat('this is SPAM'), NO_FACTS],
      [chat('hi'), { eventCounts: { 'participant:chat-message:10': 3 }, strikes: { '600': 2 } }],
      [{ ...chat('x'), type: 'custom', data: { tags: ['vip'] } }, NO_FACTS],
    ];
    for (const [event, facts] of events) expect(await yielding.evaluate(event, facts)).toEqual(await evaluator.evaluate(event, facts));
    expect(waited).toBeGreaterThan(3);
  });

  it('leaves undecidable conditions to json-rules-engine', async () => {
    const tagged: MeetingEvent = { ...chat('x'), type: 'custom', data: { tags: ['vip'] } };
    expect((await evaluator.evaluate(tagged, NO_FACTS)).map((h) => h.rule)).toEqual(['not-chat', 'tagged']);
    const counted: MeetingEvent = { ...chat('x'), type: 'custom', data: { count: 5 } };
    expect((await evaluator.evaluate(counted, NO_FACTS)).map((h) => h.rule)).toEqual(['not-chat', 'tagged']);
  });

  it('gives the same results for concurrent calls as for sequential ones', async () => {
    const cases = Array.from({ length: 200 }, (_, i) => ({
      event: chat(i % 3 === 0 ? 'spam here' : 'hello', { participantId: `p${i}` }),
      facts: { eventCounts: { 'participant:chat-message:10': i % 5 }, strikes: { '600': i % 4 } },
    }));
    const sequential = [];
    for (const c of cases) sequential.push(await evaluator.evaluate(c.event, c.facts));
    const concurrent = await Promise.all(cases.map((c) => evaluator.evaluate(c.event, c.facts)));
    expect(concurrent).toEqual(sequential);
    expect(sequential.filter((h) => h.length > 0).length).toBeGreaterThan(100);
  });

  it('decides exactly as json-rules-engine does without the pre-check', async () => {
    const plain = createEvaluator(ruleSet, { lists: () => lists, prefilter: false });
    const texts = ['spam', 'hello', 'free crypto', ''];
    const types = ['chat-message', 'participant-joined', 'custom', 'participant-left'];
    for (let i = 0; i < 400; i++) {
      const event: MeetingEvent = {
        ...chat(texts[i % texts.length]!),
        type: types[i % types.length]!,
        participantId: i % 7 === 0 ? 'bad-1' : `p${i}`,
        ...(i % 5 === 0 ? { participantName: 'Kim' } : {}),
        data: {
          text: texts[i % 4]!,
          ...(i % 3 === 0 ? { tags: ['vip'] } : {}),
          ...(i % 10 === 0 ? { count: i % 4 } : {}),
          ...(i % 11 === 0 ? { text: 7 } : {}),
        },
      };
      const facts = { eventCounts: { 'participant:chat-message:10': i % 6 }, strikes: { '600': i % 3 } };
      expect(await evaluator.evaluate(event, facts), `event ${i}`).toEqual(await plain.evaluate(event, facts));
    }
  });
});
