import type { Operator } from 'json-rules-engine';
import { describe, expect, it } from 'vitest';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { createOperators } from '../../src/moderation/operators.js';
import type { ListSource } from '../../src/moderation/types.js';

/** The operator's own evaluate, as json-rules-engine calls it. */
function op(name: string, lists: ListSource = createStaticListSource(new Map())) {
  const found = createOperators(() => lists).find((o) => o.name === name) as
    (Operator & { evaluate(a: unknown, b: unknown): boolean }) | undefined;
  if (!found) throw new Error(`no operator ${name}`);
  return (factValue: unknown, value: unknown) => found.evaluate(factValue, value);
}

describe('matchesPattern', () => {
  const matches = op('matchesPattern');

  it('uses RE2 syntax with inline flags', () => {
    const staff = '(?i)^\\s*(admin|administrator|support|moderator|staff|videosdk)\\b';
    expect(matches('  ADMIN team', staff)).toBe(true);
    expect(matches('Administrator', staff)).toBe(true);
    expect(matches('Adminton', staff)).toBe(false);
    expect(matches('Bob from support', staff)).toBe(false);
  });

  it('is false for values that are not strings', () => {
    expect(matches(undefined, 'x')).toBe(false);
    expect(matches(42, '4')).toBe(false);
  });

  it('decides a catastrophic-backtracking pattern, with an engine that has no backtracking', () => {
    // A backtracking engine would not come back from this at all; RE2 takes a few ms.
    expect(matches(`${'a'.repeat(50_000)}!`, '(a+)+$')).toBe(false);
    expect(matches('a'.repeat(50_000), '(a+)+$')).toBe(true);
    // What only a backtracking engine can do is refused: the engine is RE2, linear in the text.
    expect(() => matches('aa', '(a)\\1')).toThrow();
  });
});

describe("matchesPattern with the rule set's patterns read at once", () => {
  const patterns = [
    '(?i)^\\s*(admin|administrator|support|moderator|staff|videosdk)\\b',
    '(?i)(discord\\.gg|t\\.me|chat\\.whatsapp\\.com)/[a-z0-9]+',
    '\\b(?:\\d[ -]?){13,16}\\b',
    '(?i)https?://',
    '^[^a-z]*[A-Z]{12,}[^a-z]*$',
  ];
  const evaluateWith = (name: string, known: { folded: string[]; exact: string[] }) => {
    const found = createOperators(() => createStaticListSource(new Map()), known).find((o) => o.name === name) as Operator & {
      evaluate(a: unknown, b: unknown): boolean;
    };
    return (factValue: unknown, value: unknown) => found.evaluate(factValue, value);
  };

  it('answers each pattern as it alone would, folded and exact, short texts and long', () => {
    const texts = [
      'ADMIN team',
      'Ａdmin here',
      'join discord.gg/abc now',
      'card 4111 1111 1111 1111 ok',
      'see https://example.com',
      'SHOUTING LOUDLY AT EVERYONE!!',
      'nothing to see',
      '',
      `${'x'.repeat(5000)} https://late.example`,
    ];
    // Letter case means nothing to folded text: that pattern is only read exactly.
    for (const [name, key, read] of [
      ['matchesPattern', 'folded', patterns.slice(0, -1)],
      ['matchesPatternExact', 'exact', patterns],
    ] as const) {
      const alone = evaluateWith(name, { folded: [], exact: [] });
      const together = evaluateWith(name, { folded: [], exact: [], [key]: read });
      for (const text of texts)
        for (const pattern of [...read, '(?i)not-in-the-set'])
          expect(together(text, pattern), `${name} ${pattern} on ${text.slice(0, 30)}`).toBe(alone(text, pattern));
    }
    expect(evaluateWith('matchesPattern', { folded: patterns, exact: [] })('Ａdmin here', patterns[0])).toBe(true);
  });
});

describe('containsWord', () => {
  const lists = createStaticListSource(new Map([['banned', ['free crypto', 'Scám']]]));
  const contains = op('containsWord', lists);

  it('ignores case and accents', () => {
    expect(contains('Un CAFÉ noir', 'cafe')).toBe(true);
    expect(contains('un cafe noir', 'Café')).toBe(true);
    expect(contains('ﬁne', 'fine')).toBe(true);
  });

  it('matches whole words only', () => {
    expect(contains('first class seats', 'ass')).toBe(false);
    expect(contains('cafeteria', 'cafe')).toBe(false);
    expect(contains('you ass!', 'ass')).toBe(true);
    expect(contains('room42 ok', 'room42')).toBe(true);
  });

  it('matches phrases as consecutive words', () => {
    expect(contains('get FREE   crypto!', 'free crypto')).toBe(true);
    expect(contains('free, crypto', 'free crypto')).toBe(true);
    expect(contains('free cryptography', 'free crypto')).toBe(false);
    expect(contains('crypto free', 'free crypto')).toBe(false);
    expect(contains('free stuff crypto', 'free crypto')).toBe(false);
  });

  it('takes an array of words or the words of a list', () => {
    expect(contains('hello there', ['bye', 'there'])).toBe(true);
    expect(contains('hello there', ['bye', 'now'])).toBe(false);
    expect(contains('this is a scam', { list: 'banned' })).toBe(true);
    expect(contains('Free Crypto!!', { list: 'banned' })).toBe(true);
    expect(contains('hello', { list: 'banned' })).toBe(false);
    expect(contains('hello', { list: 'missing' })).toBe(false);
    expect(contains(undefined, 'x')).toBe(false);
  });

  it('follows a list that changes', () => {
    let values = ['one'];
    const live: ListSource = { has: () => false, values: () => [...values], exists: () => true };
    const containsLive = op('containsWord', live);
    expect(containsLive('two words', { list: 'l' })).toBe(false);
    values = ['one', 'two'];
    expect(containsLive('two words', { list: 'l' })).toBe(true);
  });
});

describe('inList / notInList', () => {
  const lists = createStaticListSource(new Map([['blocked', ['p1', '42']]]));
  const inList = op('inList', lists);
  const notInList = op('notInList', lists);

  it('checks membership of strings and numbers', () => {
    expect(inList('p1', 'blocked')).toBe(true);
    expect(inList(42, 'blocked')).toBe(true);
    expect(inList('P1', 'blocked')).toBe(false);
    expect(inList('p1', 'other')).toBe(false);
    expect(notInList('p2', 'blocked')).toBe(true);
    expect(notInList('p1', 'blocked')).toBe(false);
  });

  it('treats values that are not strings as not in any list', () => {
    expect(inList(undefined, 'blocked')).toBe(false);
    expect(inList({ id: 'p1' }, 'blocked')).toBe(false);
    expect(notInList(undefined, 'blocked')).toBe(true);
  });
});
