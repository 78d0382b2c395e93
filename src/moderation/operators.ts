import { Operator } from 'json-rules-engine';
import { RE2JS, RE2Set } from 're2js';
import { createFoldCache, foldText } from './fold.js';
import { foldPattern } from './pattern-fold.js';
import type { ListSource } from './types.js';
import { createWordMatcher, plainWords, readWords, type TextWords, type WordMatcher } from './word-match.js';

/** The operators this product adds to json-rules-engine's own. */
export const CUSTOM_OPERATORS = ['matchesPattern', 'containsWord', 'inList', 'notInList'] as const;

/**
 * The variants a rule's conditions are compiled to (`rules-loader.ts`), never written by rule
 * authors: `"params": {"exact": true}` makes `matchesPattern` and `containsWord` read the raw text,
 * and `inList` / `notInList` read a name or a text folded (an id is always compared as written).
 */
export const OPERATOR_VARIANTS = {
  matchesPattern: { exact: 'matchesPatternExact' },
  containsWord: { exact: 'containsWordExact' },
  inList: { folded: 'inListFolded' },
  notInList: { folded: 'notInListFolded' },
} as const;

/** `containsWord`'s value: a word or phrase, an array of them, or the words of a named list. */
export type ContainsWordValue = string | readonly string[] | { list: string };

/** The `matchesPattern` values of a rule set, read folded and read exactly (`OPERATOR_VARIANTS`). */
export interface RulePatterns {
  folded: readonly string[];
  exact: readonly string[];
}

/**
 * Builds the custom operators as json-rules-engine `Operator`s. `lists` is called on every use, so
 * a caller can swap the list source (a Redis-backed one is refreshed at run time). The operators
 * keep only caches; they are safe to share between engines. Each text is folded once however many
 * rules read it. `patterns`, when given, are the rule set's patterns: a short text is then read
 * once for all of them (`createPatternTest`).
 */
export function createOperators(lists: () => ListSource, patterns: RulePatterns = { folded: [], exact: [] }): Operator[] {
  const fold = createFoldCache();
  const foldedLists = createFoldedLists(lists);
  return [
    new Operator<unknown, string>('matchesPattern', createPatternTest(fold, patterns.folded)),
    new Operator<unknown, string>(OPERATOR_VARIANTS.matchesPattern.exact, createPatternTest(undefined, patterns.exact)),
    new Operator<unknown, ContainsWordValue>('containsWord', createContainsWord(lists, fold)),
    new Operator<unknown, ContainsWordValue>(OPERATOR_VARIANTS.containsWord.exact, createContainsWord(lists, undefined)),
    new Operator<unknown, string>('inList', (factValue, list) => {
      const value = listValue(factValue);
      return value !== undefined && lists().has(list, value);
    }),
    new Operator<unknown, string>('notInList', (factValue, list) => {
      const value = listValue(factValue);
      return value === undefined || !lists().has(list, value);
    }),
    new Operator<unknown, string>(OPERATOR_VARIANTS.inList.folded, (factValue, list) => {
      const value = listValue(factValue);
      return value !== undefined && foldedLists(list).has(fold(value));
    }),
    new Operator<unknown, string>(OPERATOR_VARIANTS.notInList.folded, (factValue, list) => {
      const value = listValue(factValue);
      return value === undefined || !foldedLists(list).has(fold(value));
    }),
  ];
}

/**
 * Compiles a `matchesPattern` value with re2js (RE2 syntax: linear time, flags inline as `(?i)`),
 * as written. Throws re2js's syntax error for a bad pattern; the loader reports it.
 */
export function compilePattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

/**
 * Compiles a pattern to read folded text (`pattern-fold.ts`: case-insensitive, look-alikes mapped).
 * Throws for a pattern that cannot read folded text; the loader reports it first.
 */
export function compileFoldedPattern(pattern: string): RE2JS {
  const folded = foldPattern(pattern);
  if ('problem' in folded) throw new Error(folded.problem);
  return RE2JS.compile(folded.pattern);
}

/** Texts up to this long are read by the rule set's patterns all at once; longer ones rule by rule (between which evaluation may yield). */
const PATTERN_SET_TEXT_MAX = 4096;
/** Memory the automaton of a rule set's patterns may cache states in (re2js' default is 8 MB). */
const PATTERN_SET_MEMORY = 2 * 1024 * 1024;

function createPatternTest(
  fold: ((text: string) => string) | undefined,
  known: readonly string[],
): (factValue: unknown, pattern: string) => boolean {
  // Compiled once per pattern string: rule values are few and fixed, compiling is not cheap.
  const compiled = new Map<string, RE2JS>();
  const single = (pattern: string): RE2JS => {
    let re = compiled.get(pattern);
    if (re === undefined) {
      re = fold === undefined ? compilePattern(pattern) : compileFoldedPattern(pattern);
      compiled.set(pattern, re);
    }
    return re;
  };
  // The rule set's patterns in one automaton (RE2's set): a text is read once for every rule that
  // tests it, instead of once per pattern; it answers what each pattern alone would.
  const set = patternSet(known, fold !== undefined);
  let lastText: string | undefined;
  let lastMatches: readonly number[] = [];
  return (factValue, pattern) => {
    if (typeof factValue !== 'string' || typeof pattern !== 'string') return false;
    const text = fold === undefined ? factValue : fold(factValue);
    const at = set?.index.get(pattern);
    if (at === undefined || text.length > PATTERN_SET_TEXT_MAX) return single(pattern).test(text);
    if (text !== lastText) {
      lastMatches = set!.patterns.match(text);
      lastText = text;
    }
    return lastMatches.includes(at);
  };
}

/**
 * One automaton for `patterns` (folded ones read as `compileFoldedPattern` reads them); undefined
 * when there are none or it cannot be built. Even one pattern is worth it: the set's matcher
 * (a DFA) reads a short text faster than a pattern's own search.
 */
function patternSet(patterns: readonly string[], folded: boolean): { patterns: RE2Set; index: ReadonlyMap<string, number> } | undefined {
  const distinct = [...new Set(patterns)];
  if (distinct.length === 0) return undefined;
  try {
    const set = new RE2Set(RE2Set.UNANCHORED, 0, PATTERN_SET_MEMORY);
    const index = new Map<string, number>();
    for (const pattern of distinct) {
      const source = folded ? foldPattern(pattern) : { pattern };
      // A pattern the loader refused, or the set cannot take, is tested alone.
      if ('problem' in source) continue;
      try {
        index.set(pattern, set.add(source.pattern));
      } catch {
        continue;
      }
    }
    set.compile();
    return index.size > 0 ? { patterns: set, index } : undefined;
  } catch {
    return undefined;
  }
}

function createContainsWord(
  lists: () => ListSource,
  fold: ((text: string) => string) | undefined,
): (factValue: unknown, value: ContainsWordValue) => boolean {
  const normalize = fold ?? ((text: string) => text);
  // Inline values: json-rules-engine hands the operator a fresh copy of the value on every run, so
  // they are cached by content. Lists: by name, rebuilt only when the values change; comparing the
  // values is far cheaper than normalizing them again, and free when the source returns the same
  // array instance while the list is unchanged.
  const byValue = new Map<string, WordMatcher>();
  const byList = new Map<string, { values: readonly string[]; matcher: WordMatcher }>();
  // The same text is often tested by several rules in one evaluation; read it once.
  let lastText: string | undefined;
  let lastWords: TextWords = { sequences: [], glued: [] };

  // The pre-check hands over the rule's own (frozen) array every time: found by identity, without
  // joining its phrases into a key on every test.
  const byArray = new WeakMap<readonly string[], WordMatcher>();

  const matcherFor = (value: ContainsWordValue): WordMatcher | undefined => {
    if (Array.isArray(value)) {
      const found = byArray.get(value);
      if (found !== undefined) return found;
    }
    if (typeof value === 'string' || Array.isArray(value)) {
      const phrases: readonly string[] = typeof value === 'string' ? [value] : value;
      const key = phrases.join('\u0000');
      let matcher = byValue.get(key);
      if (matcher === undefined) {
        matcher = createWordMatcher(
          phrases.filter((p): p is string => typeof p === 'string'),
          normalize,
        );
        byValue.set(key, matcher);
      }
      if (Object.isFrozen(value) && Array.isArray(value)) byArray.set(value, matcher);
      return matcher;
    }
    if (value !== null && typeof value === 'object' && 'list' in value && typeof value.list === 'string') {
      const values = lists().values(value.list);
      const cached = byList.get(value.list);
      if (cached !== undefined && (cached.values === values || sameValues(cached.values, values))) {
        cached.values = values;
        return cached.matcher;
      }
      const matcher = createWordMatcher(values, normalize);
      byList.set(value.list, { values, matcher });
      return matcher;
    }
    return undefined;
  };

  return (factValue, value) => {
    if (typeof factValue !== 'string') return false;
    const matcher = matcherFor(value);
    if (matcher === undefined) return false;
    if (factValue !== lastText) {
      lastWords = fold === undefined ? plainWords(factValue) : readWords(fold(factValue));
      lastText = factValue;
    }
    return matcher.test(lastWords);
  };
}

/** The values of a list, folded, rebuilt only when the list changes. */
function createFoldedLists(lists: () => ListSource): (list: string) => ReadonlySet<string> {
  const byList = new Map<string, { values: readonly string[]; folded: ReadonlySet<string> }>();
  return (list) => {
    const values = lists().values(list);
    const cached = byList.get(list);
    if (cached !== undefined && (cached.values === values || sameValues(cached.values, values))) {
      cached.values = values;
      return cached.folded;
    }
    // Not through the text cache: a long list would push the texts out of it.
    const folded = new Set(values.map(foldText));
    byList.set(list, { values, folded });
    return folded;
  };
}

function sameValues(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function listValue(factValue: unknown): string | undefined {
  if (typeof factValue === 'string') return factValue;
  if (typeof factValue === 'number' && Number.isFinite(factValue)) return String(factValue);
  return undefined;
}
