import type { ListSource } from './types.js';

/** Parses a `rules/lists/NAME.txt` file: one value a line, `#` comments and blank lines ignored. */
export function parseListFile(content: string): string[] {
  const values: string[] = [];
  for (const line of content.split(/\r?\n/)) {
    const value = line.trim();
    if (value === '' || value.startsWith('#')) continue;
    values.push(value);
  }
  return values;
}

/**
 * A `ListSource` over fixed lists (the rules folder's files), for `rules test`, backtests and tests.
 * `values()` returns the same array each time so `containsWord` can cache its index.
 */
export function createStaticListSource(lists: ReadonlyMap<string, readonly string[]>): ListSource {
  const sets = new Map<string, ReadonlySet<string>>();
  for (const [name, values] of lists) sets.set(name, new Set(values));
  const empty: readonly string[] = Object.freeze([]);
  return {
    has: (list, value) => sets.get(list)?.has(value) ?? false,
    values: (list) => lists.get(list) ?? empty,
    exists: (list) => lists.has(list),
  };
}
