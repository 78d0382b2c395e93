import { Operator } from 'json-rules-engine';
import { RE2JS } from 're2js';
import type { ListSource } from './types.js';
import { createWordMatcher, normalizeWords, type WordMatcher } from './word-match.js';

/** The operators this product adds to json-rules-engine's own. */
export const CUSTOM_OPERATORS = ['matchesPattern', 'containsWord', 'inList', 'notInList'] as const;

/** `containsWord`'s value: a word or phrase, an array of them, or the words of a named list. */
export type ContainsWordValue = string | readonly string[] | { list: string };

/**
 * Builds the custom operators as json-rules-engine `Operator`s. `lists` is called on every use, so
 * a caller can swap the list source (a Redis-backed one is refreshed at run time). The operators
 * keep only caches; they are safe to share between engines.
 */
export function createOperators(lists: () => ListSource): Operator[] {
  return [
    new Operator<unknown, string>('matchesPattern', createPatternTest()),
    new Operator<unknown, ContainsWordValue>('containsWord', createContainsWord(lists)),
    new Operator<unknown, string>('inList', (factValue, list) => {
      const value = listValue(factValue);
      return value !== undefined && lists().has(list, value);
    }),
    new Operator<unknown, string>('notInList', (factValue, list) => {
      const value = listValue(factValue);
      return value === undefined || !lists().has(list, value);
    }),
  ];
}

/**
 * Compiles a `matchesPattern` value with re2js (RE2 syntax: linear time, flags inline as `(?i)`).
 * Throws re2js's syntax error for a bad pattern; the loader reports it.
 */
export function compilePattern(pattern: string): RE2JS {
  return RE2JS.compile(pattern);
}

function createPatternTest(): (factValue: unknown, pattern: string) => boolean {
  // Compiled once per pattern string: rule values are few and fixed, compiling is not cheap.
  const compiled = new Map<string, RE2JS>();
  return (factValue, pattern) => {
    if (typeof factValue !== 'string' || typeof pattern !== 'string') return false;
    let re = compiled.get(pattern);
    if (re === undefined) {
      re = compilePattern(pattern);
      compiled.set(pattern, re);
    }
    return re.test(factValue);
  };
}

function createContainsWord(lists: () => ListSource): (factValue: unknown, value: ContainsWordValue) => boolean {
  // Inline values: json-rules-engine hands the operator a fresh copy of the value on every run, so
  // they are cached by content. Lists: by name, rebuilt only when the values change; comparing the
  // values is far cheaper than normalizing them again, and free when the source returns the same
  // array instance while the list is unchanged.
  const byValue = new Map<string, WordMatcher>();
  const byList = new Map<string, { values: readonly string[]; matcher: WordMatcher }>();
  // The same text is often tested by several rules in one evaluation; normalize it once.
  let lastText: string | undefined;
  let lastWords: string[] = [];

  const matcherFor = (value: ContainsWordValue): WordMatcher | undefined => {
    if (typeof value === 'string' || Array.isArray(value)) {
      const phrases: readonly string[] = typeof value === 'string' ? [value] : value;
      const key = phrases.join('\u0000');
      let matcher = byValue.get(key);
      if (matcher === undefined) {
        matcher = createWordMatcher(phrases.filter((p): p is string => typeof p === 'string'));
        byValue.set(key, matcher);
      }
      return matcher;
    }
    if (value !== null && typeof value === 'object' && 'list' in value && typeof value.list === 'string') {
      const values = lists().values(value.list);
      const cached = byList.get(value.list);
      if (cached !== undefined && (cached.values === values || sameValues(cached.values, values))) {
        cached.values = values;
        return cached.matcher;
      }
      const matcher = createWordMatcher(values);
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
      lastWords = normalizeWords(factValue);
      lastText = factValue;
    }
    return matcher.test(lastWords);
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
