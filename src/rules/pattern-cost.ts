import { RE2JS } from 're2js';
import { PATTERN_BUDGET_MS, PATTERN_TEXT_CHARS } from '../moderation/pattern-budget.js';

/**
 * Measures what a `matchesPattern` pattern costs on hostile text: the time re2js takes to search
 * each of a set of probe texts of a whole chat message's length (`PATTERN_TEXT_CHARS`: plain
 * letters, words, URLs, every character the pattern names, its literal words at the very end, ...).
 * Full length, because what is slow is re2js's fallback when a long text outgrows its DFA's
 * cache, which a short probe never meets. A search near the budget is timed twice more and the
 * fastest kept (a busy machine only adds time); once one is over the budget the measuring stops. Results
 * are kept per pattern: a reload does not measure an unchanged pattern again, nor decide anew.
 */
export function createPatternCostProbe(clock: () => number = () => performance.now()): (pattern: string) => number {
  const measured = new Map<string, number>();
  return (pattern) => {
    let cost = measured.get(pattern);
    if (cost === undefined) {
      cost = measure(pattern, clock);
      measured.set(pattern, cost);
    }
    return cost;
  };
}

function measure(pattern: string, clock: () => number): number {
  const re = RE2JS.compile(pattern);
  // Warm up: the first searches of a pattern run cold code.
  for (let i = 0; i < 3; i++) re.test('warm up text 123 https://example.com');
  let slowest = 0;
  for (const text of probes(pattern)) {
    // A quarter first: a pattern far over the budget is not searched at full length (it may take
    // seconds), and its estimate is enough to refuse it.
    const quarter = timeOf(re, text.slice(0, text.length / 4), clock) * 4;
    let ms = quarter > 4 * PATTERN_BUDGET_MS ? quarter : timeOf(re, text, clock);
    // Near the budget, the fastest of three: a busy machine only adds time.
    if (ms > PATTERN_BUDGET_MS && ms < 4 * PATTERN_BUDGET_MS) ms = Math.min(ms, timeOf(re, text, clock), timeOf(re, text, clock));
    slowest = Math.max(slowest, ms);
    if (slowest > PATTERN_BUDGET_MS) break;
  }
  return slowest;
}

function timeOf(re: RE2JS, text: string, clock: () => number): number {
  const start = clock();
  // The call the operator makes: re2js answers it with a DFA, unless the pattern's states outgrow
  // the DFA's cache, when it falls back to a far slower search: what the probes look for.
  re.test(text);
  return clock() - start;
}

/** Probe texts of `PATTERN_TEXT_CHARS` each, lower case (as folded text is). */
function probes(pattern: string): string[] {
  const fill = (unit: string): string => unit.repeat(Math.ceil(PATTERN_TEXT_CHARS / unit.length)).slice(0, PATTERN_TEXT_CHARS);
  // The characters the pattern names, in its order: text that keeps its partial matches alive.
  const own = [...new Set(pattern.replace(/\\[pPx]\{[^}]*\}|\\./g, ' ').toLowerCase())].filter((c) => c.trim() !== '').join('');
  let seed = 0x2545f491;
  const random = (alphabet: string): string => {
    let out = '';
    for (let i = 0; i < PATTERN_TEXT_CHARS; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      out += alphabet[(seed >>> 16) % alphabet.length];
    }
    return out;
  };
  // The pattern's literal words at the very end: a search that must reach them scans everything.
  const tail = ` ${pattern
    .replace(/\\[pPx]\{[^}]*\}|\\./g, ' ')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 1)
    .join(' ')}`;
  const ending = (text: string): string => `${text.slice(0, PATTERN_TEXT_CHARS - tail.length)}${tail}`;
  const plain = [
    fill('a'),
    fill('ab'),
    fill('hello world, this is a chat message. '),
    random('abcdefghijklmnopqrstuvwxyz0123456789 .,:/-_'),
  ];
  return [
    ...plain,
    ...(tail.trim() === '' ? [] : plain.map(ending)),
    fill('https://example.com/'),
    fill('1234567890'),
    fill(' '),
    fill('дмитрий ελένη '),
    own === '' ? fill('x') : fill(own),
  ];
}
