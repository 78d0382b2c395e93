import { InvalidEventError } from '../shared/errors.js';
import { parseEvent, type MeetingEvent } from '../shared/event-schema.js';
import { isSkippedLine } from './json-lines.js';
import { createEvaluator } from './evaluate.js';
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
    let text = `${status} line ${r.line}: ${r.event?.type ?? '?'}${who} -> ${fired}`;
    if (!r.ok && r.expect !== undefined) text += `; expected ${r.expect.length === 0 ? '(none)' : r.expect.join(', ')}`;
    out.push(text);
  }
  const s = report.summary;
  out.push(
    `${s.ok ? 'PASS' : 'FAIL'}: ${s.events} events, ${s.checked} with expectations: ${s.passed} passed, ${s.failed} failed, ${s.errors} invalid`,
  );
  return out;
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
