/**
 * What rules see of text: the folded form of a name or a chat message, so that look-alike letters,
 * full-width and mathematical letters, accents, invisible characters and spacing do not disguise
 * it. The confusable characters come from Unicode's confusables.txt (TS #39) as the `unhomoglyph`
 * package ships it (the table matrix-js-sdk uses), never from a table of our own.
 *
 * TS #39's skeleton maps plain ASCII too (`m` -> `rn`, `I` and `1` -> `l`), so `admin` would read
 * as `adrnin` and a rule written with plain letters would never match. Here ASCII is read as
 * written, and every other character that looks like an ASCII letter becomes that letter: `Аdmin`
 * with a Cyrillic А folds to `admin`, and so does `admin`.
 */
import confusables from 'unhomoglyph/data.json' with { type: 'json' };

// Plain ASCII needs no Unicode work; most names and chat are ASCII, and take the fast path.
// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL on purpose
const NON_ASCII = /[^\x00-\x7f]/;
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const ASCII_CONTROL = /[\x00-\x08\x0e-\x1f\x7f]/;
// eslint-disable-next-line no-control-regex -- control characters are what it removes
const ASCII_CONTROLS = /[\x00-\x08\x0e-\x1f\x7f]/g;
const UNUSUAL_SPACE = /\s\s|[\t\n\v\f\r]/;
const SPACES = /\s+/g;
/** Marks (accents, combining characters), format characters (zero-width, bidi) and other invisible ones. */
const INVISIBLE = /[\p{M}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cc}]/gu;
// eslint-disable-next-line no-control-regex -- the ASCII range starts at NUL on purpose
const NON_ASCII_CHAR = /[^\x00-\x7f]/gu;
/** Case folding beyond `toLowerCase` (Unicode CaseFolding.txt's full foldings that matter here). */
const FULL_FOLDS: Readonly<Record<string, string>> = { ß: 'ss', ς: 'σ' };
const FULL_FOLD = /[ßς]/g;

/**
 * Each non-ASCII character of confusables.txt mapped to the ASCII letters it looks like (or, when
 * it looks like no ASCII character, to its prototype). A prototype stands for several ASCII
 * characters at times (`l` for `l`, `I`, `1` and `|`): an upper-case character takes the upper-case
 * one (Greek `Ι` -> `I`), any other the lower-case one (`ӏ` -> `l`), then letters before digits.
 */
function buildConfusableMap(prototypes: Readonly<Record<string, string>>): ReadonlyMap<number, string> {
  const asciiOf = new Map<string, { lower?: string; upper?: string; other?: string }>();
  for (let code = 0x21; code < 0x7f; code++) {
    const ch = String.fromCharCode(code);
    const prototype = prototypes[ch] ?? ch;
    const entry = asciiOf.get(prototype) ?? {};
    if (ch >= 'a' && ch <= 'z') entry.lower ??= ch;
    else if (ch >= 'A' && ch <= 'Z') entry.upper ??= ch;
    else entry.other ??= ch;
    asciiOf.set(prototype, entry);
  }
  const pick = (entry: { lower?: string; upper?: string; other?: string }, upper: boolean): string =>
    (upper ? (entry.upper ?? entry.lower) : (entry.lower ?? entry.upper)) ?? entry.other ?? '';
  const map = new Map<number, string>();
  for (const [source, prototype] of Object.entries(prototypes)) {
    const code = source.codePointAt(0)!;
    // Sequences and ASCII sources are left alone: ASCII is read as written.
    if (code < 0x80 || String.fromCodePoint(code) !== source) continue;
    const upper = source !== source.toLowerCase();
    const whole = asciiOf.get(prototype);
    const target =
      whole !== undefined
        ? pick(whole, upper)
        : [...prototype].map((ch) => (asciiOf.has(ch) ? pick(asciiOf.get(ch)!, upper) : ch)).join('');
    if (target !== source) map.set(code, target);
  }
  return map;
}

const CONFUSABLE = buildConfusableMap(confusables as Readonly<Record<string, string>>);

const mapConfusable = (ch: string): string => CONFUSABLE.get(ch.codePointAt(0)!) ?? ch;

/**
 * The folded form of `text`: Unicode compatibility forms (NFKC: full-width, mathematical, ligatures),
 * confusable characters mapped to the ASCII letters they look like, case folded, combining marks,
 * format and other invisible characters removed, every run of whitespace one space. Idempotent.
 */
export function foldText(text: string): string {
  if (!NON_ASCII.test(text)) {
    let folded = text.toLowerCase();
    if (ASCII_CONTROL.test(folded)) folded = folded.replace(ASCII_CONTROLS, '');
    return UNUSUAL_SPACE.test(folded) ? folded.replace(SPACES, ' ') : folded;
  }
  // Decomposed first, so that accents come off their letters and compatibility forms become plain,
  // then composed again (Hangul syllables, which look like nothing else). The confusables are
  // mapped before and after lower-casing: some look alike only in one case.
  let folded = text.replace(SPACES, ' ').normalize('NFKD').replace(INVISIBLE, '').normalize('NFC');
  folded = folded
    .replace(NON_ASCII_CHAR, mapConfusable)
    .toLowerCase()
    .replace(FULL_FOLD, (c) => FULL_FOLDS[c]!);
  // A prototype may bring a mark of its own (`n̩`), and lower-casing one (`İ` -> `i̇`): removed too.
  folded = folded.replace(NON_ASCII_CHAR, mapConfusable).replace(INVISIBLE, '');
  return UNUSUAL_SPACE.test(folded) ? folded.replace(SPACES, ' ') : folded;
}

/** True when folding changes the character (so a pattern holding it could never match folded text). */
export function foldChanges(ch: string): boolean {
  return foldText(ch) !== ch;
}

/** Most texts kept folded at once: the texts of the events being evaluated now. */
const CACHE_SIZE = 64;

/**
 * `foldText` with a small cache: one event's text is read by many rules, and is folded once. The
 * cache holds the most recent texts only, so memory stays bounded whatever the traffic.
 */
export function createFoldCache(): (text: string) => string {
  const cache = new Map<string, string>();
  return (text) => {
    let folded = cache.get(text);
    if (folded === undefined) {
      folded = foldText(text);
      if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
      cache.set(text, folded);
    }
    return folded;
  };
}
