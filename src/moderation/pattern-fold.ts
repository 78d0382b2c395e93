import { foldChanges, foldText } from './fold.js';

/**
 * A `matchesPattern` pattern made to read folded text (`fold.ts`: lower case, look-alikes mapped):
 * its ASCII letters are lower-cased, upper-case letters in classes gain their lower-case
 * counterparts, and the `i` flag is dropped. On folded text this matches exactly what the pattern
 * matches case-insensitively, without the cost: re2js searches a case-insensitive pattern
 * character by character (about 2 µs a character), a case-sensitive one by its literal prefix.
 *
 * A pattern that cannot mean the same on folded text is refused with the reason: one that holds a
 * character folding changes (it could never match), or that tests letter case.
 */
export type FoldedPattern = { pattern: string } | { problem: string };

const EXACT_HINT = 'or add "params": {"exact": true} to read the raw text';
const CASE_PROPERTIES = /^\^?(Lu|Ll|Lt|Upper|Lower|Uppercase|Lowercase|Uppercase_Letter|Lowercase_Letter|Titlecase_Letter)$/;

const VISIBLE = /^[\p{L}\p{N}\p{P}\p{S}]$/u;

const isUpper = (code: number): boolean => code >= 0x41 && code <= 0x5a;
const isLower = (code: number): boolean => code >= 0x61 && code <= 0x7a;

export function foldPattern(source: string): FoldedPattern {
  const out: string[] = [];
  // Whether the `i` flag is on, per open group: `(?i)` holds to the end of its group.
  const groups: boolean[] = [];
  let caseless = false;
  let i = 0;

  const literal = (ch: string): string | { problem: string } => {
    const code = ch.codePointAt(0)!;
    if (isUpper(code)) return ch.toLowerCase();
    return code >= 0x80 && foldChanges(ch) ? unseen(ch) : ch;
  };

  while (i < source.length) {
    const ch = String.fromCodePoint(source.codePointAt(i)!);
    if (ch === '\\') {
      const escape = readEscape(source, i);
      if ('problem' in escape) return escape;
      if (escape.literal !== undefined) {
        const lit = literal(escape.literal);
        if (typeof lit !== 'string') return lit;
        out.push(escape.literal === lit ? escape.text : lit);
      } else if (escape.quoted !== undefined) {
        let quoted = '';
        for (const q of escape.quoted) {
          const lit = literal(q);
          if (typeof lit !== 'string') return lit;
          quoted += lit;
        }
        out.push(`\\Q${quoted}${escape.closed ? '\\E' : ''}`);
      } else {
        out.push(escape.text);
      }
      i = escape.end;
      continue;
    }
    if (ch === '[') {
      const cls = readClass(source, i, caseless);
      if ('problem' in cls) return cls;
      out.push(cls.text);
      i = cls.end;
      continue;
    }
    if (ch === '(') {
      if (source[i + 1] !== '?') {
        groups.push(caseless);
        out.push('(');
        i++;
        continue;
      }
      const named = /^\(\?P?<[^>]*>/.exec(source.slice(i));
      if (named !== null) {
        groups.push(caseless);
        out.push(named[0]);
        i += named[0].length;
        continue;
      }
      const flags = /^\(\?([a-zA-Z]*)(?:-([a-zA-Z]*))?([:)])/.exec(source.slice(i));
      if (flags === null) {
        // Not a flag group (RE2 has no look-around): re2js reports it.
        out.push(ch);
        i++;
        continue;
      }
      const [whole, on = '', off = '', end] = flags;
      if (off.includes('i')) return caseProblem(whole.slice(0, -1) + (end === ':' ? ':...)' : ')'));
      const nowCaseless: boolean = on.includes('i') ? true : off.includes('i') ? false : caseless;
      const keptOn = on.replaceAll('i', '');
      const keptOff = off.replaceAll('i', '');
      const kept = keptOn + (keptOff === '' ? '' : `-${keptOff}`);
      if (end === ':') {
        groups.push(caseless);
        caseless = nowCaseless;
        out.push(`(?${kept}:`);
      } else {
        caseless = nowCaseless;
        if (kept !== '') out.push(`(?${kept})`);
      }
      i += whole.length;
      continue;
    }
    if (ch === ')') {
      caseless = groups.pop() ?? caseless;
      out.push(ch);
      i++;
      continue;
    }
    const lit = literal(ch);
    if (typeof lit !== 'string') return lit;
    out.push(lit);
    i += ch.length;
  }
  return { pattern: out.join('') };
}

interface Escape {
  text: string;
  end: number;
  /** The character an escape stands for (`\x41`, `\.`), when it is one character. */
  literal?: string;
  /** The text of `\Q...\E`. */
  quoted?: string;
  closed?: boolean;
}

function readEscape(source: string, at: number): Escape | { problem: string } {
  const next = source[at + 1];
  if (next === undefined) return { text: '\\', end: at + 1 };
  if (next === 'Q') {
    const close = source.indexOf('\\E', at + 2);
    const end = close < 0 ? source.length : close;
    return { text: '', quoted: source.slice(at + 2, end), closed: close >= 0, end: close < 0 ? source.length : close + 2 };
  }
  if (next === 'p' || next === 'P') {
    if (source[at + 2] === '{') {
      const close = source.indexOf('}', at + 3);
      const end = close < 0 ? source.length : close + 1;
      const name = source.slice(at + 3, close < 0 ? source.length : close);
      if (CASE_PROPERTIES.test(name)) return caseProblem(`\\${next}{${name}}`);
      return { text: source.slice(at, end), end };
    }
    return { text: source.slice(at, at + 3), end: at + 3 };
  }
  if (next === 'x') {
    const braced = /^\\x\{([0-9a-fA-F]+)\}/.exec(source.slice(at));
    const short = braced === null ? /^\\x([0-9a-fA-F]{2})/.exec(source.slice(at)) : null;
    const m = braced ?? short;
    if (m === null) return { text: source.slice(at, at + 2), end: at + 2 };
    const code = Number.parseInt(m[1]!, 16);
    const text = m[0];
    return code <= 0x10ffff ? { text, end: at + text.length, literal: String.fromCodePoint(code) } : { text, end: at + text.length };
  }
  // Escaped punctuation stands for itself; letters (\b, \S, \pN, \A, \z, ...) are classes and anchors.
  const code = next.codePointAt(0)!;
  const text = source.slice(at, at + 1 + String.fromCodePoint(code).length);
  const punctuation = code < 0x80 && !/[0-9A-Za-z]/.test(next);
  return punctuation ? { text, end: at + text.length, literal: next } : { text, end: at + text.length };
}

/** A character that folded text never holds. */
function unseen(ch: string): { problem: string } {
  const hex = ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0');
  // Invisible and bidi characters are named by their code only: printed, they would reorder the line.
  const shown = VISIBLE.test(ch) ? `"${ch}" (U+${hex})` : `U+${hex}`;
  const folded = foldText(ch);
  const reads = folded === '' ? 'it is removed' : `it reads as "${folded}"`;
  return {
    problem: `holds ${shown}, which rules never see: text is folded before matching (${reads}); write the folded form, ${EXACT_HINT}`,
  };
}

function caseProblem(what: string): { problem: string } {
  return { problem: `${what} tests letter case, but rules read text folded to lower case: ${EXACT_HINT.replace(/^or /, '')}` };
}

/**
 * A character class, with the lower-case counterparts of its upper-case letters and ranges added
 * at its front (as ranges, `a-a`, so that they cannot join a `-` that follows into a range).
 */
function readClass(source: string, at: number, caseless: boolean): { text: string; end: number } | { problem: string } {
  let i = at + 1;
  let head = '[';
  if (source[i] === '^') {
    head += '^';
    i++;
  }
  // A `]` first in a class is a literal.
  if (source[i] === ']') {
    head += ']';
    i++;
  }
  const body: string[] = [];
  const added: string[] = [];
  let hasUpper = false;
  let hasLower = false;
  /** Code points of the class's literal characters in order, for ranges (`undefined` after an escape class). */
  let previous: number | undefined;
  let rangeFrom: number | undefined;
  while (i < source.length && source[i] !== ']') {
    let code: number | undefined;
    let text: string;
    if (source.startsWith('[:', i)) {
      const close = source.indexOf(':]', i + 2);
      if (close < 0) return { text: source.slice(at), end: source.length };
      const name = source.slice(i + 2, close).replace(/^\^/, '');
      if (name === 'upper' || name === 'lower') return caseProblem(`[:${name}:]`);
      text = source.slice(i, close + 2);
      i = close + 2;
    } else if (source[i] === '\\') {
      const escape = readEscape(source, i);
      if ('problem' in escape) return escape;
      text = escape.text;
      if (escape.literal !== undefined) code = escape.literal.codePointAt(0)!;
      i = escape.end;
    } else {
      code = source.codePointAt(i)!;
      text = String.fromCodePoint(code);
      i += text.length;
      if (text === '-' && previous !== undefined && source[i] !== ']') {
        rangeFrom = previous;
        body.push(text);
        continue;
      }
    }
    if (code !== undefined && code >= 0x80 && foldChanges(String.fromCodePoint(code))) return unseen(String.fromCodePoint(code));
    if (rangeFrom !== undefined && code !== undefined) {
      const lo = Math.max(rangeFrom, 0x41);
      const hi = Math.min(code, 0x5a);
      if (lo <= hi) {
        hasUpper = true;
        added.push(`${String.fromCharCode(lo + 32)}-${String.fromCharCode(hi + 32)}`);
      }
      if (Math.max(rangeFrom, 0x61) <= Math.min(code, 0x7a)) hasLower = true;
      rangeFrom = undefined;
      previous = undefined;
    } else {
      rangeFrom = undefined;
      previous = code;
      // The start of a range (`A` of `A-Z`) is added with the range.
      const startsRange = source[i] === '-' && i + 1 < source.length && source[i + 1] !== ']';
      if (code !== undefined && isUpper(code) && !startsRange) {
        hasUpper = true;
        const lower = String.fromCharCode(code + 32);
        added.push(`${lower}-${lower}`);
      }
      if (code !== undefined && isLower(code) && !startsRange) hasLower = true;
    }
    body.push(text);
  }
  const end = i < source.length ? i + 1 : source.length;
  // `[A-Z]` without the `i` flag asks for capitals; on folded text it would read as any letter.
  if (hasUpper && !hasLower && !caseless) return caseProblem(source.slice(at, end));
  return { text: `${head}${added.join('')}${body.join('')}${i < source.length ? ']' : ''}`, end };
}
