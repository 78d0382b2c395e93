import { InvalidEventError } from '../shared/errors.js';
import { terminalText } from '../shared/terminal-text.js';
import { parseEvent, type MeetingEvent } from '../shared/event-schema.js';
import { isSkippedLine } from './json-lines.js';
import { createEvaluator } from './evaluate.js';
import { foldText } from './fold.js';
import { createMemoryCounters } from './memory-counters.js';
import type { ListSource, RuleHit, RuleSet } from './types.js';

/** The outcome of one line of a `rules test` events file. */
export interface RuleTestResult {
  /** 1-based line number in the file. */
  line: number;
  event?: MeetingEvent;
  /** Names of the rules that fired, shadow ones included (see `hits` for their mode). */
  fired: string[];
  hits: RuleHit[];
  /** The rules the line expects to fire (`[]` = none); absent when the line states nothing. */
  expect?: string[];
  /** False when the line is invalid or `expect` is not met. */
  ok: boolean;
  error?: string;
}

/** Totals of a `rules test` run; `ok` is what the exit code reflects. */
export interface RuleTestSummary {
  events: number;
  /** Lines with an `expect`. */
  checked: number;
  passed: number;
  failed: number;
  errors: number;
  ok: boolean;
}

/** What `runRuleTest` returns. */
export interface RuleTestReport {
  results: RuleTestResult[];
  summary: RuleTestSummary;
}

/**
 * Runs the lines of a JSON-lines events file through `ruleSet`, in order, with in-memory counters
 * so that windows and strikes follow the events' own timestamps. Each line is an event, optionally
 * with `"expect": ["rule-name", ...]` (the exact set of rules that must fire, shadow ones
 * included). Blank lines and lines starting with `#` are skipped. A line without a timestamp is
 * taken at the previous event's time (the epoch for the first), so a run never reads the clock.
 */
export async function runRuleTest(ruleSet: RuleSet, lines: readonly string[], lists: ListSource): Promise<RuleTestReport> {
  const evaluator = createEvaluator(ruleSet, { lists: () => lists });
  const counters = createMemoryCounters(ruleSet);
  const known = new Set(ruleSet.rules.map((r) => r.name));
  const results: RuleTestResult[] = [];
  let previous = new Date(0);

  for (const [index, text] of lines.entries()) {
    if (isSkippedLine(text)) continue;
    const trimmed = text.trim();
    const line = index + 1;
    const parsed = parseLine(trimmed, previous, known);
    if ('error' in parsed) {
      results.push({ line, fired: [], hits: [], ok: false, error: parsed.error, ...(parsed.expect ? { expect: parsed.expect } : {}) });
      continue;
    }
    const { event, expect } = parsed;
    previous = new Date(event.timestamp);
    const facts = counters.observe(event);
    const hits = await evaluator.evaluate(event, facts);
    counters.recordHits(event, hits);
    const fired = hits.map((h) => h.rule);
    const result: RuleTestResult = { line, event, fired, hits, ok: expect === undefined || sameSet(fired, expect) };
    if (expect !== undefined) result.expect = expect;
    results.push(result);
  }

  const checked = results.filter((r) => r.expect !== undefined && r.error === undefined);
  const errors = results.filter((r) => r.error !== undefined).length;
  const passed = checked.filter((r) => r.ok).length;
  return {
    results,
    summary: {
      events: results.length,
      checked: checked.length,
      passed,
      failed: checked.length - passed,
      errors,
      ok: errors === 0 && passed === checked.length,
    },
  };
}

/** Human-readable lines for the terminal: one per event, then a summary. */
export function formatRuleTest(report: RuleTestReport): string[] {
  const out: string[] = [];
  for (const r of report.results) {
    const status = r.error !== undefined ? 'ERROR' : !r.ok ? 'FAIL ' : r.expect !== undefined ? 'ok   ' : '     ';
    if (r.error !== undefined) {
      out.push(`${status} line ${r.line}: ${r.error}`);
      continue;
    }
    const who = r.event?.participantId === undefined ? '' : ` ${r.event.participantId}`;
    const fired = r.hits.length === 0 ? '(none)' : r.hits.map((h) => (h.mode === 'shadow' ? `${h.rule} [shadow]` : h.rule)).join(', ');
    // A disguised text explains its hits: say how the rules read it.
    const read = r.hits.length > 0 && r.event !== undefined ? readingOf(textOf(r.event)) : undefined;
    let text = `${status} line ${r.line}: ${r.event?.type ?? '?'}${who} -> ${fired}${read === undefined ? '' : ` [read as ${quoteText(read)}]`}`;
    if (!r.ok && r.expect !== undefined) text += `; expected ${r.expect.length === 0 ? '(none)' : r.expect.join(', ')}`;
    out.push(text);
  }
  const s = report.summary;
  out.push(
    `${s.ok ? 'PASS' : 'FAIL'}: ${s.events} events, ${s.checked} with expectations: ${s.passed} passed, ${s.failed} failed, ${s.errors} invalid`,
  );
  return out;
}

/** The name or text of an event that rules read as text. */
function textOf(event: MeetingEvent): string {
  const data = event.data;
  if (typeof data.text === 'string') return data.text;
  if (typeof data.name === 'string') return data.name;
  return event.participantName ?? '';
}

function parseLine(
  text: string,
  previous: Date,
  known: ReadonlySet<string>,
): { event: MeetingEvent; expect?: string[] } | { error: string; expect?: string[] } {
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (err) {
    return { error: `malformed JSON: ${err instanceof Error ? err.message.slice(0, 200) : String(err)}` };
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return { error: 'must be a JSON object (one event)' };
  const { expect: rawExpect, ...rest } = input as Record<string, unknown>;
  let expect: string[] | undefined;
  if (rawExpect !== undefined) {
    if (!Array.isArray(rawExpect) || !rawExpect.every((r): r is string => typeof r === 'string')) {
      return { error: '"expect" must be an array of rule names' };
    }
    expect = rawExpect;
    const unknown = expect.filter((r) => !known.has(r));
    if (unknown.length > 0) return { error: `"expect" names unknown rules: ${unknown.join(', ')}`, expect };
  }
  try {
    const event = parseEvent(rest, previous);
    return expect === undefined ? { event } : { event, expect };
  } catch (err) {
    if (err instanceof InvalidEventError) return { error: err.message, ...(expect ? { expect } : {}) };
    throw err;
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  const sb = new Set(b);
  return sa.size === sb.size && [...sa].every((x) => sb.has(x));
}

/** Which corpus a line comes from: text no rule may hit, or disguised text named rules must catch. */
export type CorpusKind = 'clean' | 'evasions';

/** How a corpus text is put before the rules: as chat, as the name of a joining participant, as a new name. */
export type Carrier = 'chat' | 'join name' | 'rename';

/** The outcome of one corpus line. */
export interface CorpusResult {
  kind: CorpusKind;
  /** 1-based line number in its file. */
  line: number;
  text: string;
  /** The rules an evasions line names (all must catch it); none for a clean line. */
  rules: string[];
  /** The rules that fired, per carrier that fired any. */
  fired: { carrier: Carrier; rules: string[] }[];
  /** The text as the rules read it, when that differs from it by more than case and spacing. */
  read?: string;
  ok: boolean;
  error?: string;
}

/** What `runCorpusTest` returns; `summary.ok` is what the exit code reflects. */
export interface CorpusReport {
  results: CorpusResult[];
  summary: { clean: number; evasions: number; failed: number; errors: number; ok: boolean };
}

const EVASION_LINE = /^([a-z0-9][a-z0-9-]*(?:\s*,\s*[a-z0-9][a-z0-9-]*)*):\s?(.*)$/;
// One moment for every corpus event: each line has a participant and a session of its own, so no
// window or strike of one line reaches another.
const CORPUS_TIME = '2026-01-01T00:00:00.000Z';

/**
 * Runs text corpora through `ruleSet`: every line of `clean` (ordinary chat and names: the
 * Scunthorpe problem) must fire no rule, and every line of `evasions` (`rule-name: text`, or
 * `rule-a, rule-b: text`) must be caught by each rule it names. Each text is put before the rules
 * three ways (chat, the name of a joining participant, a new name), by a participant and in a
 * session of its own; a rule catches a text when it fires on any of them. Blank and `#` lines are
 * skipped.
 */
export async function runCorpusTest(
  ruleSet: RuleSet,
  corpora: { clean?: readonly string[]; evasions?: readonly string[] },
  lists: ListSource,
): Promise<CorpusReport> {
  const evaluator = createEvaluator(ruleSet, { lists: () => lists });
  const counters = createMemoryCounters(ruleSet);
  const known = new Set(ruleSet.rules.map((r) => r.name));
  const results: CorpusResult[] = [];

  const fire = async (kind: CorpusKind, line: number, text: string): Promise<CorpusResult['fired']> => {
    const fired: CorpusResult['fired'] = [];
    const base = { sessionId: `corpus-${kind}-${line}`, participantId: `corpus-${kind}-${line}`, timestamp: CORPUS_TIME };
    const events: [Carrier, unknown][] = [
      ['chat', { ...base, type: 'chat-message', data: { text } }],
      ['join name', { ...base, type: 'participant-joined', participantName: text }],
      ['rename', { ...base, type: 'participant-renamed', data: { name: text } }],
    ];
    for (const [carrier, input] of events) {
      const event = parseEvent(input, new Date(CORPUS_TIME));
      const facts = counters.observe(event);
      const hits = await evaluator.evaluate(event, facts);
      counters.recordHits(event, hits);
      if (hits.length > 0) fired.push({ carrier, rules: hits.map((h) => h.rule) });
    }
    return fired;
  };

  for (const [kind, lines] of [
    ['clean', corpora.clean ?? []],
    ['evasions', corpora.evasions ?? []],
  ] as const) {
    for (const [index, raw] of lines.entries()) {
      if (isSkippedLine(raw)) continue;
      const line = index + 1;
      let text = raw.replace(/\r$/, '');
      let rules: string[] = [];
      if (kind === 'evasions') {
        const m = EVASION_LINE.exec(text.trim());
        if (m === null) {
          results.push({ kind, line, text, rules, fired: [], ok: false, error: 'must be "rule-name: text" (or "rule-a, rule-b: text")' });
          continue;
        }
        rules = m[1]!.split(',').map((r) => r.trim());
        text = m[2]!;
        const unknown = rules.filter((r) => !known.has(r));
        if (unknown.length > 0) {
          results.push({ kind, line, text, rules, fired: [], ok: false, error: `names unknown rules: ${unknown.join(', ')}` });
          continue;
        }
      }
      const fired = await fire(kind, line, text);
      const caught = new Set(fired.flatMap((f) => f.rules));
      const ok = kind === 'clean' ? caught.size === 0 : rules.every((r) => caught.has(r));
      const result: CorpusResult = { kind, line, text, rules, fired, ok };
      const read = readingOf(text);
      if (read !== undefined) result.read = read;
      results.push(result);
    }
  }
  const errors = results.filter((r) => r.error !== undefined).length;
  const failed = results.filter((r) => !r.ok && r.error === undefined).length;
  return {
    results,
    summary: {
      clean: results.filter((r) => r.kind === 'clean').length,
      evasions: results.filter((r) => r.kind === 'evasions').length,
      failed,
      errors,
      ok: failed === 0 && errors === 0,
    },
  };
}

/** Terminal lines for a corpus run: every failure and error with what fired, then a summary. */
export function formatCorpusTest(report: CorpusReport, options: { all?: boolean } = {}): string[] {
  const out: string[] = [];
  for (const r of report.results) {
    if (r.ok && !options.all) continue;
    const where = `${r.kind} line ${r.line}: ${quoteText(r.text)}`;
    if (r.error !== undefined) {
      out.push(`ERROR ${where}: ${r.error}`);
      continue;
    }
    const fired = r.fired.length === 0 ? '(none)' : r.fired.map((f) => `${f.rules.join(', ')} (as ${f.carrier})`).join('; ');
    const read = r.read === undefined ? '' : ` [read as ${quoteText(r.read)}]`;
    const wanted =
      r.kind === 'evasions' && !r.ok ? `; expected ${r.rules.join(', ')}` : r.kind === 'clean' && !r.ok ? '; expected (none)' : '';
    out.push(`${r.ok ? 'ok   ' : 'FAIL '} ${where}${read} -> ${fired}${wanted}`);
  }
  const s = report.summary;
  out.push(`${s.ok ? 'PASS' : 'FAIL'}: ${s.clean} clean texts, ${s.evasions} evasions: ${s.failed} failed, ${s.errors} invalid`);
  return out;
}

/**
 * How the rules read `text` (folded), when that differs from it by more than case and spacing:
 * what explains a decision on a disguised text. Cut to 200 characters.
 */
export function readingOf(text: string): string | undefined {
  const folded = foldText(text);
  if (folded === text.toLowerCase().replace(/\s+/g, ' ')) return undefined;
  return folded.length > 200 ? `${folded.slice(0, 200)}…` : folded;
}

// Characters that hide what a terminal shows, beyond those `terminalText` escapes: zero-width and
// other format characters, private use and unassigned ones, and the quote itself.
const HIDDEN = /[\p{Cf}\p{Co}\p{Cn}"]/gu;

/**
 * Participant text quoted for a terminal: in double quotes, cut to 80 characters, every control,
 * bidi, zero-width and unassigned character written as an escape (`\u202e`, `\x07`).
 */
export function quoteText(text: string): string {
  const cut = text.length > 80 ? `${text.slice(0, 80)}…` : text;
  const shown = terminalText(cut.replace(/\\/g, '\\\\')).replace(HIDDEN, (c) =>
    c === '"' ? '\\"' : `\\u${c.codePointAt(0)!.toString(16).padStart(4, '0')}`,
  );
  return `"${shown}"`;
}
