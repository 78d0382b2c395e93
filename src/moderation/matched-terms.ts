import { foldText } from './fold.js';
import { compileFoldedPattern, compilePattern, OPERATOR_VARIANTS } from './operators.js';
import { isRecord } from '../shared/is-record.js';
import type { ListSource } from './types.js';
import { createWordMatcher, plainWords, readWords, type TextWords } from './word-match.js';

/** Most terms reported for one event: evidence stays small whatever the lists hold. */
const MAX_TERMS = 20;
/** Longest text kept as evidence (a chat message may hold 64 KB). */
export const EVIDENCE_TEXT_LENGTH = 4096;

/** What a moderator is shown of why a rule read a text as it did. */
export interface MatchEvidence {
  /** The words, phrases (as listed) and pattern matches (as read) of the rule found in the text. */
  matched: string[];
  /**
   * The text as the rules read it (`fold.ts`), around the first match: present when that reading
   * differs from the text by more than case and spacing (look-alike letters, accents, invisible
   * characters), or when the text is longer than the evidence keeps.
   */
  folded?: string;
}

/**
 * The words, phrases and pattern matches of a rule's `containsWord` and `matchesPattern`
 * conditions that `text` contains: what a moderator sees marked in the chat text, with the folded
 * reading that explains it. Pure; it reads the rule as written, so it reports candidates even
 * under an `any` the rule did not need.
 */
export function matchedTerms(definition: unknown, text: string, lists: ListSource): MatchEvidence {
  let folded: string | undefined;
  let foldedWords: TextWords | undefined;
  let rawWords: TextWords | undefined;
  let firstAt: number | undefined;
  const readFolded = (): string => (folded ??= foldText(text));
  const found = new Set<string>();
  const visit = (node: unknown): void => {
    if (found.size >= MAX_TERMS) return;
    if (Array.isArray(node)) return node.forEach(visit);
    if (!isRecord(node)) return;
    for (const key of ['all', 'any', 'not', 'conditions']) if (key in node) visit(node[key]);
    const operator = node.operator;
    if (operator === 'containsWord' || operator === OPERATOR_VARIANTS.containsWord.exact) {
      const exact = operator !== 'containsWord';
      const value = node.value;
      const phrases = isRecord(value) && typeof value.list === 'string' ? lists.values(value.list) : Array.isArray(value) ? value : [value];
      const matcher = createWordMatcher(
        phrases.filter((p): p is string => typeof p === 'string'),
        exact ? (t) => t : foldText,
      );
      const words = exact ? (rawWords ??= plainWords(text)) : (foldedWords ??= readWords(readFolded()));
      for (const phrase of matcher.matches(words, MAX_TERMS - found.size)) found.add(phrase);
    } else if ((operator === 'matchesPattern' || operator === OPERATOR_VARIANTS.matchesPattern.exact) && typeof node.value === 'string') {
      try {
        const exact = operator !== 'matchesPattern';
        const read = exact ? text : readFolded();
        const matcher = (exact ? compilePattern(node.value) : compileFoldedPattern(node.value)).matcher(read);
        if (matcher.find() && matcher.group() !== '') {
          found.add(matcher.group()!);
          if (!exact) firstAt ??= matcher.start();
        }
      } catch {
        // The loader refused bad patterns already; nothing to mark.
      }
    }
  };
  if (isRecord(definition)) visit(definition.conditions);
  const evidence: MatchEvidence = { matched: [...found] };
  if (folded !== undefined && (text.length > EVIDENCE_TEXT_LENGTH || folded !== text.toLowerCase().replace(/\s+/g, ' '))) {
    evidence.folded = around(folded, firstAt ?? firstIndexOf(folded, evidence.matched));
  }
  return evidence;
}

/** Where the first of `terms` stands in the folded text (0 when none is found as written). */
function firstIndexOf(folded: string, terms: readonly string[]): number {
  let first = -1;
  for (const term of terms) {
    const at = folded.indexOf(foldText(term));
    if (at >= 0 && (first < 0 || at < first)) first = at;
  }
  return Math.max(0, first);
}

/** At most `EVIDENCE_TEXT_LENGTH` characters of `text` around `at`, with `…` where it was cut. */
function around(text: string, at: number): string {
  if (text.length <= EVIDENCE_TEXT_LENGTH) return text;
  const start = Math.max(0, Math.min(at - EVIDENCE_TEXT_LENGTH / 4, text.length - EVIDENCE_TEXT_LENGTH));
  const end = start + EVIDENCE_TEXT_LENGTH;
  return `${start > 0 ? '…' : ''}${text.slice(start, end)}${end < text.length ? '…' : ''}`;
}

/** The text as evidence keeps it: at most `EVIDENCE_TEXT_LENGTH` characters, with `…` where it was cut. */
export function evidenceText(text: string): string {
  return text.length <= EVIDENCE_TEXT_LENGTH ? text : `${text.slice(0, EVIDENCE_TEXT_LENGTH)}…`;
}
