import { describe, expect, it } from 'vitest';
import { counterPlanFor } from '../../src/moderation/types.js';
import { ruleSetOf, typeIs } from '../helpers/rule-set.js';

const count = (type: string, windowSeconds: number, scope = 'participant') => ({
  fact: 'eventCount',
  params: { type, windowSeconds, scope },
  operator: 'greaterThan',
  value: 1,
});
const strikes = (windowSeconds: number) => ({ fact: 'strikes', params: { windowSeconds }, operator: 'greaterThan', value: 1 });

describe('counter plans', () => {
  const ruleSet = ruleSetOf([
    { name: 'chat-flood', conditions: { all: [typeIs('chat-message'), count('chat-message', 10)] }, event: { type: 'flag' } },
    // Reads the join counter on chat messages: joins must be counted on join events.
    {
      name: 'chat-after-rejoins',
      conditions: { all: [typeIs('chat-message'), count('participant-joined', 60), strikes(600)] },
      event: { type: 'flag' },
    },
    {
      name: 'session-raid',
      conditions: { all: [typeIs('participant-joined'), count('participant-joined', 30, 'session')] },
      event: { type: 'flag' },
    },
    { name: 'any-type-strikes', conditions: { all: [strikes(60)] }, event: { type: 'flag' } },
    { name: 'disabled', mode: 'off', conditions: { all: [typeIs('chat-message'), count('chat-message', 99)] }, event: { type: 'flag' } },
  ]);

  it('gives each type the counters its rules read plus every counter of that type, and nothing of off rules', () => {
    expect(counterPlanFor(ruleSet, 'chat-message')).toEqual({
      counterSpecs: [
        { type: 'chat-message', windowSeconds: 10, scope: 'participant' },
        { type: 'participant-joined', windowSeconds: 60, scope: 'participant' },
      ],
      strikeWindows: [60, 600],
      ruleHits: [],
    });
    expect(counterPlanFor(ruleSet, 'participant-joined')).toEqual({
      counterSpecs: [
        { type: 'participant-joined', windowSeconds: 60, scope: 'participant' },
        { type: 'participant-joined', windowSeconds: 30, scope: 'session' },
      ].sort((a, b) => `${a.scope}:${a.type}:${a.windowSeconds}`.localeCompare(`${b.scope}:${b.type}:${b.windowSeconds}`)),
      strikeWindows: [60],
      ruleHits: [],
    });
  });

  it('gives other types only what type-agnostic rules read', () => {
    expect(counterPlanFor(ruleSet, 'participant-renamed')).toEqual({ counterSpecs: [], strikeWindows: [60], ruleHits: [] });
    expect(counterPlanFor(ruleSet, 'custom-anything')).toBe(ruleSet.defaultCounterPlan);
  });

  it('is empty for a rule set without counters', () => {
    const plain = ruleSetOf([{ name: 'x', conditions: { all: [typeIs('chat-message')] }, event: { type: 'flag' } }]);
    expect(counterPlanFor(plain, 'chat-message')).toEqual({ counterSpecs: [], strikeWindows: [], ruleHits: [] });
  });
});
