/**
 * Whole-word matching for `containsWord`. By default text and phrases are both read folded
 * (`fold.ts`: case, accents, look-alike letters, invisible characters), and the text is also read
 * the ways a word is disguised: its letters spaced or dotted out (`f r e e`, `f.r.e.e`), glued with
 * punctuation (`scum-bag`), or with digits for letters (`fr33`, `crypt0`). A word never matches
 * inside a longer word: "class" never matches "ass", and a spaced-out word must stand alone.
 * `exact` reads both as written (only split into words).
 */

const NON_WORD = /[^\p{L}\p{N}]+/u;
const HAS_LETTER = /\p{L}/u;
const HAS_DIGIT = /\d/;
// Unicode property classes cost several times their ASCII twins; folded chat is mostly ASCII
// (and lower case), and takes the ASCII ones.
// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL on purpose
const NON_ASCII = /[^\x00-\x7f]/;
const NON_WORD_ASCII = /[^a-z0-9]+/;
/** A digit (or `@`, `$`) beside a letter: a word that may spell letters with them. */
const LEET_IN_WORD = /\p{L}[\d@$]|[\d@$]\p{L}/u;
const LEET_IN_WORD_ASCII = /[a-z][\d@$]|[\d@$][a-z]/;
/** Punctuation between two letters or digits with no space: `scum-bag`, `f.r.e.e`. */
const GLUED = /[\p{L}\p{N}][^\p{L}\p{N}\s]+[\p{L}\p{N}]/u;
const GLUED_ASCII = /[a-z0-9][^a-z0-9\s]+[a-z0-9]/;
/** Digit-for-letter spellings (`1` is tried as `i` and as `l`); `2` and `6` stand for too many letters to guess. */
const LEET: Readonly<Record<string, string>> = { '0': 'o', '3': 'e', '4': 'a', '5': 's', '7': 't', '8': 'b', '9': 'g', '@': 'a', $: 's' };
const LEET_DIGITS = /[0345789@$]/g;

/** The words of `text`, split on anything that is not a letter or a digit. */
export function splitWords(text: string): string[] {
  const words = text.split(NON_WORD);
  // split leaves empty strings at the ends when the text starts or ends with a separator.
  return words.filter((w) => w.length > 0);
}

/** A text read for `containsWord`: its words, and the other ways of reading them. */
export interface TextWords {
  /** Word sequences to look for phrases in: the words as written first, then the disguised readings. */
  sequences: readonly (readonly string[])[];
  /** Words glued from spaced-out or punctuated letters (`freecrypto`), to compare with phrases written without spaces. */
  glued: readonly string[];
}

/** The words of an (already folded) text, with the readings of disguised words. */
export function readWords(folded: string): TextWords {
  const ascii = !NON_ASCII.test(folded);
  const words = ascii ? splitAscii(folded) : splitWords(folded);
  const sequences: string[][] = [words];
  const glued: string[] = [];
  const addReadings = (text: string, plain: readonly string[]): void => {
    // Most text has neither glued words nor letters standing alone in a row: no second reading.
    if (!(ascii ? GLUED_ASCII : GLUED).test(text) && !hasLetterRun(plain)) return;
    const joined = gluedWords(text);
    if (joined !== undefined) {
      sequences.push(joined);
      glued.push(...joined);
    }
  };
  addReadings(folded, words);
  if ((ascii ? LEET_IN_WORD_ASCII : LEET_IN_WORD).test(folded)) {
    for (const one of folded.includes('1') ? ['i', 'l'] : ['i']) {
      const read = unleet(folded, one);
      if (read === folded) break;
      const readWords = splitWords(read);
      sequences.push(readWords);
      addReadings(read, readWords);
    }
  }
  return { sequences, glued };
}

/** `splitWords` for folded ASCII text (lower case). */
function splitAscii(text: string): string[] {
  const words = text.split(NON_WORD_ASCII);
  if (words.length > 0 && words[0] === '') words.shift();
  if (words.length > 0 && words[words.length - 1] === '') words.pop();
  return words;
}

/** Two single-character words in a row (`f r e e`): letters spaced out. */
function hasLetterRun(words: readonly string[]): boolean {
  for (let i = 1; i < words.length; i++) if (words[i]!.length === 1 && words[i - 1]!.length === 1) return true;
  return false;
}

/**
 * The text's space-separated chunks with their punctuation removed (`scum-bag` -> `scumbag`,
 * `f.r.e.e` -> `free`), and each run of single letters joined (`f r e e` -> `free`); undefined when
 * that reads the same as the plain words.
 */
function gluedWords(text: string): string[] | undefined {
  const out: string[] = [];
  let changed = false;
  let run = '';
  let runLength = 0;
  const endRun = (): void => {
    if (runLength > 1) changed = true;
    if (run !== '') out.push(run);
    run = '';
    runLength = 0;
  };
  for (const chunk of text.split(' ')) {
    const pieces = splitWords(chunk);
    if (pieces.length === 0) continue;
    if (pieces.length > 1) changed = true;
    const word = pieces.join('');
    if ([...word].length === 1) {
      run += word;
      runLength++;
      continue;
    }
    endRun();
    out.push(word);
  }
  endRun();
  return changed ? out : undefined;
}

/** `text` with digits read as letters inside words that hold a letter (`fr33` -> `free`, never `2024`). */
function unleet(text: string, one: string): string {
  return text
    .split(' ')
    .map((chunk) =>
      HAS_LETTER.test(chunk) && (HAS_DIGIT.test(chunk) || chunk.includes('@') || chunk.includes('$'))
        ? chunk.replace(LEET_DIGITS, (d) => LEET[d]!).replaceAll('1', one)
        : chunk,
    )
    .join(' ');
}

/** A precomputed index of words and phrases; `test` is linear in the number of words of the text. */
export interface WordMatcher {
  test(text: TextWords): boolean;
  /** The phrases (as given) that `text` holds, at most `limit`. */
  matches(text: TextWords, limit: number): string[];
}

/**
 * Builds a matcher for words and phrases (phrases match as consecutive words). `normalize` reads a
 * phrase the way the text is read (folded, or as written).
 */
export function createWordMatcher(phrases: Iterable<string>, normalize: (text: string) => string): WordMatcher {
  const single = new Map<string, string>();
  // Keyed by a phrase's first word so each text word costs one map lookup.
  const multi = new Map<string, { words: string[]; phrase: string }[]>();
  // Phrases with their words run together, for text whose letters were spaced out.
  const runTogether = new Map<string, string>();
  for (const phrase of phrases) {
    const words = splitWords(normalize(phrase));
    const [first] = words;
    if (first === undefined) continue;
    if (words.length === 1) {
      if (!single.has(first)) single.set(first, phrase);
      continue;
    }
    const bucket = multi.get(first);
    if (bucket) bucket.push({ words, phrase });
    else multi.set(first, [{ words, phrase }]);
    const joined = words.join('');
    if (!runTogether.has(joined)) runTogether.set(joined, phrase);
  }

  const scan = (words: readonly string[], found: (phrase: string) => boolean): boolean => {
    for (let i = 0; i < words.length; i++) {
      const word = words[i]!;
      const one = single.get(word);
      if (one !== undefined && found(one)) return true;
      const candidates = multi.get(word);
      if (candidates === undefined) continue;
      for (const { words: phrase, phrase: original } of candidates) {
        if (i + phrase.length > words.length) continue;
        let k = 1;
        while (k < phrase.length && words[i + k] === phrase[k]) k++;
        if (k === phrase.length && found(original)) return true;
      }
    }
    return false;
  };
  const visit = (text: TextWords, found: (phrase: string) => boolean): boolean => {
    for (const words of text.sequences) if (scan(words, found)) return true;
    for (const word of text.glued) {
      const phrase = runTogether.get(word);
      if (phrase !== undefined && found(phrase)) return true;
    }
    return false;
  };

  return {
    test: (text) => visit(text, () => true),
    matches(text, limit) {
      const out = new Set<string>();
      visit(text, (phrase) => {
        out.add(phrase);
        return out.size >= limit;
      });
      return [...out];
    },
  };
}

/** The plain reading of a text, for `exact` matching: its words as written, nothing else. */
export function plainWords(text: string): TextWords {
  return { sequences: [splitWords(text)], glued: [] };
}
