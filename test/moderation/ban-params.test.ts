import { describe, expect, it } from 'vitest';
import { parseBanDuration, parseBanScope } from '../../src/moderation/ban-params.js';
import { loadRules } from '../../src/moderation/rules-loader.js';

describe('ban durations', () => {
  it.each([
    ['10m', 600_000],
    ['24h', 86_400_000],
    ['7d', 604_800_000],
    ['30s', 30_000],
    ['365d', 365 * 86_400_000],
    ['permanent', null],
  ])('%s', (text, ms) => expect(parseBanDuration(text, 'banFor')).toBe(ms));

  it.each([
    ['0m', /banFor must be longer than zero/],
    ['-5m', /banFor must be longer than zero/],
    ['366d', /banFor must be at most 365 days/],
    ['10 minutes', /banFor must be a duration like "10m", "24h", "7d" or "permanent", got "10 minutes"/],
    [10, /got 10/],
    ['', /duration like/],
  ])('refuses %j', (text, message) => expect(() => parseBanDuration(text, 'banFor')).toThrow(message));

  it('scopes', () => {
    expect(parseBanScope('all', 'banScope')).toBe('all');
    expect(() => parseBanScope('room', 'banScope')).toThrow('banScope must be "meeting" or "all", got "room"');
  });
});

describe('rules check of ban params', () => {
  const ruleWith = (type: string, params: Record<string, unknown>) => ({
    path: 'r.json',
    content: JSON.stringify({
      name: 'r',
      conditions: { all: [{ fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' }] },
      event: { type, params },
    }),
  });

  it('loads banFor, banScope and banHosts onto the rule', () => {
    const { ruleSet } = loadRules([ruleWith('remove-participant', { banFor: '7d', banScope: 'meeting', banHosts: true })], []);
    expect(ruleSet!.rules[0]!.ban).toEqual({ forMs: 604_800_000, for: '7d', scope: 'meeting', hosts: true });
    const all = loadRules([ruleWith('remove-participant', { banFor: 'permanent', banScope: 'all' })], []);
    expect(all.ruleSet!.rules[0]!.ban).toEqual({ forMs: null, for: 'permanent', scope: 'all', hosts: false });
  });

  it.each([
    [{ banFor: '0m' }, '$.event.params.banFor', 'must be longer than zero, got "0m"'],
    [{ banFor: 'forever' }, '$.event.params.banFor', 'must be a duration like "10m", "24h", "7d" or "permanent", got "forever"'],
    [{ banFor: '1h', banScope: 'room' }, '$.event.params.banScope', 'must be "meeting" or "all", got "room"'],
    [{ banFor: '1h', banHosts: 'yes' }, '$.event.params.banHosts', 'must be true or false, got "yes"'],
    [{ banScope: 'all' }, '$.event.params.banScope', 'needs "banFor"'],
    // One bad rule must not ban a meeting's hosts from every meeting.
    [
      { banFor: 'permanent', banScope: 'all', banHosts: true },
      '$.event.params.banHosts',
      'a rule cannot ban hosts from every meeting: "banHosts": true needs "banScope": "meeting"',
    ],
    [{ budget: '0/60s' }, '$.event.params.budget', 'must allow from 1 to 1000000 removals, got "0/60s"'],
    [
      { budget: 'lots' },
      '$.event.params.budget',
      'must be a budget like "200/60s" (at most 200 removals in 60 seconds; units s, m, h), got "lots"',
    ],
    [{ budget: '10/2d' }, '$.event.params.budget', expect.stringContaining('the window must be from 1s to 24h')],
  ])('reports %j', (params, path, message) => {
    const { problems } = loadRules([ruleWith('remove-participant', params)], []);
    expect(problems).toContainEqual(expect.objectContaining({ path: expect.stringContaining(path), message }));
  });

  it('loads a budget onto a removing rule, and refuses one on any other', () => {
    const { ruleSet } = loadRules([ruleWith('remove-participant', { budget: '5000/10m' })], []);
    expect(ruleSet!.rules[0]!.budget).toEqual({ max: 5000, windowMs: 600_000 });
    const { problems } = loadRules([ruleWith('flag', { budget: '10/60s' })], []);
    expect(problems).toContainEqual(expect.objectContaining({ message: 'only a "remove-participant" rule has a budget' }));
  });

  it('refuses banFor on a flag rule', () => {
    const { problems } = loadRules([ruleWith('flag', { banFor: '1h' })], []);
    expect(problems).toContainEqual(expect.objectContaining({ message: 'only a "remove-participant" rule can ban' }));
  });
});
