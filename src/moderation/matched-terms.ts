import { compilePattern } from './operators.js';
import { isRecord } from '../shared/is-record.js';
import type { ListSource } from './types.js';
import { normalizeWords } from './word-match.js';

/** Most terms reported for one event: evidence stays small whatever the lists hold. */
const MAX_TERMS = 20;

/**
 * The words, phrases and pattern matches of a rule's `containsWord` and `matchesPattern`
 * conditions that `text` contains: what a moderator sees marked in the chat text. Pure; it reads
 * the rule as written, so it reports candidates even under an `any` the rule did not need.
 */
export function matchedTerms(definition: unknown, text: string, lists: ListSource): string[] {
  const words = normalizeWords(text);
  const joined = ` ${words.join(' ')} `;
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (found.size >= MAX_TERMS) return;
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isRecord(node)) return;
    for (const key of ['all', 'any', 'not', 'conditions']) if (key in node) visit(node[key]);
    if (node.operator === 'containsWord') {
      const value = node.value;
      const phrases = isRecord(value) && typeof value.list === 'string' ? lists.values(value.list) : Array.isArray(value) ? value : [value];
      for (const phrase of phrases) {
        if (typeof phrase !== 'string') continue;
        const normalized = normalizeWords(phrase).join(' ');
        if (normalized !== '' && joined.includes(` ${normalized} `)) found.add(phrase);
        if (found.size >= MAX_TERMS) return;
      }
    } else if (node.operator === 'matchesPattern' && typeof node.value === 'string') {
      try {
        const matcher = compilePattern(node.value).matcher(text);
        if (matcher.find() && matcher.group() !== '') found.add(matcher.group()!);
      } catch {
        // The loader refused bad patterns already; nothing to mark.
      }
    }
  };
  if (isRecord(definition)) visit(definition.conditions);
  return [...found];
}
