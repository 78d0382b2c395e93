import { jsonErrorPosition } from './json-error-position.js';
import type { Problem } from '../shared/errors.js';
import { isRecord } from '../shared/is-record.js';
import type { RuleFile } from './types.js';

export function parseJson(file: RuleFile): { value: unknown } | { problem: Problem } {
  try {
    return { value: JSON.parse(file.content) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const { line, column } = jsonErrorPosition(file.content, message);
    // The position is in the path (file:line:column, as editors and compilers show it); V8 quotes
    // the input in some messages, so keep the message short.
    const detail = message
      .replace(/\s*\(line \d+ column \d+\)/, '')
      .replace(/ in JSON at position \d+/, '')
      .replace(/\s*\n\s*/g, ' ')
      .slice(0, 200);
    return { problem: { path: `${file.path}:${line}:${column}`, message: `malformed JSON: ${detail}` } };
  }
}

export function ruleLabel(item: unknown, index: number | undefined): string {
  const name = isRecord(item) ? item.name : undefined;
  if (typeof name === 'string' && name.length > 0 && name.length <= 100) return name;
  return index === undefined ? '(unnamed rule)' : `(rule ${index})`;
}

export function isFactReference(value: unknown): value is { fact: unknown; params?: unknown; path?: unknown } {
  return isRecord(value) && Object.hasOwn(value, 'fact');
}

/** ` (did you mean "x"?)` when one known name is close to `name` (case, "-"/"_", a typo or two). */
export function didYouMean(name: string, known: Iterable<string>): string {
  const plain = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const close = [...known].filter((k) => plain(k) === plain(name) || editDistance(k.toLowerCase(), name.toLowerCase()) <= 2);
  return close.length === 1 ? ` (did you mean "${close[0]}"?)` : '';
}

export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}
