/**
 * Case- and accent-insensitive whole-word matching for `containsWord`. Text and phrases are reduced
 * to words the same way (NFKD, combining marks dropped, lower case, split on anything that is not a
 * letter or digit), so "Café" matches "cafe" and "class" never matches "ass".
 */

const NON_WORD = /[^\p{L}\p{N}]+/u;
const COMBINING_MARKS = /\p{M}+/gu;
// Plain ASCII needs no Unicode normalization; most chat is ASCII, so this skips the costly part.
// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL on purpose
const NON_ASCII = /[^\u0000-\u007f]/;

/** The words of `text`, normalized for comparison. */
export function normalizeWords(text: string): string[] {
  const folded = NON_ASCII.test(text) ? text.normalize('NFKD').replace(COMBINING_MARKS, '') : text;
  const words = folded.toLowerCase().split(NON_WORD);
  // split leaves empty strings at the ends when the text starts or ends with a separator.
  return words.filter((w) => w.length > 0);
}

/** A precomputed index of words and phrases; `test` is linear in the number of words of the text. */
export interface WordMatcher {
  test(words: readonly string[]): boolean;
}

/** Builds a matcher for words and phrases (phrases match as consecutive words). */
export function createWordMatcher(phrases: Iterable<string>): WordMatcher {
  const single = new Set<string>();
  // Keyed by a phrase's first word so each text word costs one map lookup.
  const multi = new Map<string, string[][]>();
  for (const phrase of phrases) {
    const words = normalizeWords(phrase);
    const [first] = words;
    if (first === undefined) continue;
    if (words.length === 1) {
      single.add(first);
      continue;
    }
    const bucket = multi.get(first);
    if (bucket) bucket.push(words);
    else multi.set(first, [words]);
  }
  return {
    test(words) {
      for (let i = 0; i < words.length; i++) {
        const word = words[i]!;
        if (single.has(word)) return true;
        const candidates = multi.get(word);
        if (candidates === undefined) continue;
        for (const phrase of candidates) {
          if (i + phrase.length > words.length) continue;
          let k = 1;
          while (k < phrase.length && words[i + k] === phrase[k]) k++;
          if (k === phrase.length) return true;
        }
      }
      return false;
    },
  };
}
