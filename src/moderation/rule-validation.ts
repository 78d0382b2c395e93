import { z } from 'zod';
import { problemPath } from '../shared/errors.js';
import { isRecord } from '../shared/is-record.js';
import { isListName, LIST_NAME_RULE } from './list-name.js';
import { compilePattern, CUSTOM_OPERATORS } from './operators.js';
import { foldPattern } from './pattern-fold.js';
import { MAX_PATTERN_PROGRAM, PATTERN_BUDGET_MS } from './pattern-budget.js';
import { didYouMean, isFactReference } from './rule-text.js';
import type { CounterSpec, RuleHitSpec } from './types.js';

/** The facts a condition may read. */
export const FACTS = ['event', 'eventCount', 'strikes', 'ruleHits'] as const;

const BUILTIN_OPERATORS = [
  'equal',
  'notEqual',
  'lessThan',
  'lessThanInclusive',
  'greaterThan',
  'greaterThanInclusive',
  'in',
  'notIn',
  'contains',
  'doesNotContain',
] as const;
const OPERATORS: ReadonlySet<string> = new Set<string>([...BUILTIN_OPERATORS, ...CUSTOM_OPERATORS]);
const CUSTOM: ReadonlySet<string> = new Set<string>(CUSTOM_OPERATORS);
const NUMERIC: ReadonlySet<string> = new Set(['lessThan', 'lessThanInclusive', 'greaterThan', 'greaterThanInclusive']);
// json-rules-engine's operator decorators (`not:equal`, `someFact:in`, ...).
const DECORATORS: ReadonlySet<string> = new Set(['someFact', 'someValue', 'everyFact', 'everyValue', 'swap', 'not']);

// A JSONPath of member names, indexes and wildcards only: filter (`?()`) and script (`()`)
// expressions are evaluated inside jsonpath-plus, and a rule file must never run anything.
const SAFE_JSON_PATH = /^\$(?:\.\.?(?:[A-Za-z_$][A-Za-z0-9_$-]*|\*)|\[(?:\d+|\*|'[^'()\\]*'|"[^"()\\]*")\])*$/;
const PROTOTYPE_SEGMENT = /(?:^|[.'"[])(?:__proto__|constructor|prototype)(?:$|[.'"\]])/;

/** Longest counter or strike window a rule may ask for: counters in Redis must stay bounded. */
export const MAX_WINDOW_SECONDS = 86_400;

const SLUG = /^[a-z0-9][a-z0-9-]*$/;
const ACTIONS = ['remove-participant', 'review', 'flag', 'lockdown'] as const;
const MODES = ['enforce', 'shadow', 'off'] as const;

const required =
  (message: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : message;

export const ruleSchema = z.strictObject({
  name: z
    .string({ error: required('must be a string') })
    .max(100, 'must be at most 100 characters')
    .regex(SLUG, 'must be a slug: lower-case letters, digits and "-", starting with a letter or digit'),
  description: z.string({ error: 'must be a string' }).optional(),
  mode: z.enum(MODES, { error: 'must be "enforce", "shadow" or "off"' }).optional(),
  priority: z
    .number({ error: 'must be a number' })
    .int('must be a whole number')
    .min(1, 'must be at least 1 (json-rules-engine priorities are positive)')
    .optional(),
  conditions: z.record(z.string(), z.unknown(), { error: required('must be an object with "all", "any" or "not"') }),
  event: z.strictObject(
    {
      type: z.enum(ACTIONS, { error: required('must be "remove-participant", "review", "flag" or "lockdown"') }),
      params: z.record(z.string(), z.unknown(), { error: 'must be an object' }).optional(),
    },
    { error: required('must be an object with "type" and optional "params"') },
  ),
});

const windowSeconds = z
  .number({ error: required('must be a number of seconds') })
  .int('must be a whole number of seconds')
  .min(1, 'must be at least 1')
  .max(MAX_WINDOW_SECONDS, `must be at most ${MAX_WINDOW_SECONDS}`);

const eventCountParams = z.strictObject(
  {
    type: z.string({ error: required('must be an event type') }).min(1, 'must not be empty'),
    windowSeconds,
    scope: z.enum(['participant', 'session'], { error: required('must be "participant" or "session"') }),
  },
  { error: required('must be an object {type, windowSeconds, scope}') },
);

const strikesParams = z.strictObject({ windowSeconds }, { error: required('must be an object {windowSeconds}') });

const ruleHitsParams = z.strictObject(
  {
    rule: z.string({ error: required('must be the name of a rule') }).regex(SLUG, 'must be the name of a rule (a slug)'),
    windowSeconds,
  },
  { error: required('must be an object {rule, windowSeconds}') },
);

/** Everything one rule's conditions use, gathered while validating them. */
export interface Usage {
  counters: CounterSpec[];
  strikeWindows: number[];
  lists: Set<string>;
  /** The `ruleHits` facts read, each with the JSON path of its params (for problems). */
  ruleHits: (RuleHitSpec & { at?: string })[];
}

export interface Walk {
  report(path: string, message: string): void;
  usage: Usage;
  /** Measures a pattern's cost (ms to search 64 KB of hostile text); unset: only its program size is checked. */
  patternCost?: ((pattern: string) => number) | undefined;
}

export function walkTopLevel(node: object, path: string, walk: Walk): void {
  if ('condition' in node) {
    walk.report(`${path}.condition`, 'shared condition references are not supported: write the conditions inline');
    return;
  }
  const booleans = ['all', 'any', 'not'].filter((k) => k in node);
  if (booleans.length !== 1) {
    walk.report(path, 'must hold exactly one of "all", "any" or "not"');
    return;
  }
  walkCondition(node, path, walk);
}

function walkCondition(node: unknown, path: string, walk: Walk): void {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) {
    walk.report(path, 'must be a condition object');
    return;
  }
  const record = node as Record<string, unknown>;
  if ('condition' in record) {
    walk.report(`${path}.condition`, 'shared condition references are not supported: write the conditions inline');
    return;
  }
  const booleans = ['all', 'any', 'not'].filter((k) => k in record);
  if (booleans.length > 1) {
    walk.report(path, `must hold only one of "all", "any" or "not" (found ${booleans.map((b) => `"${b}"`).join(', ')})`);
    return;
  }
  const [operator] = booleans;
  checkPriority(record, path, walk);
  if (operator !== undefined) {
    checkKeys(record, path, [operator, 'name', 'priority'], walk);
    const inner = record[operator];
    if (operator === 'not') {
      if (Array.isArray(inner)) walk.report(`${path}.not`, 'must be one condition, not an array');
      else walkCondition(inner, `${path}.not`, walk);
    } else if (!Array.isArray(inner)) {
      walk.report(`${path}.${operator}`, 'must be an array of conditions');
    } else if (inner.length === 0) {
      // json-rules-engine treats an empty "all" and an empty "any" alike as true: surely a mistake.
      walk.report(`${path}.${operator}`, 'must hold at least one condition');
    } else {
      inner.forEach((child, i) => walkCondition(child, `${path}.${operator}[${i}]`, walk));
    }
    return;
  }
  walkLeaf(record, path, walk);
}

function walkLeaf(leaf: Record<string, unknown>, path: string, walk: Walk): void {
  checkKeys(leaf, path, ['fact', 'operator', 'value', 'path', 'params', 'priority', 'name'], walk);
  if (leaf.name !== undefined && typeof leaf.name !== 'string') walk.report(`${path}.name`, 'must be a string');
  if (!('fact' in leaf)) walk.report(`${path}.fact`, 'is required');
  else checkFact(leaf.fact, leaf.params, leaf.path, path, walk);

  if (!('operator' in leaf)) {
    walk.report(`${path}.operator`, 'is required');
    return;
  }
  if (typeof leaf.operator !== 'string') {
    walk.report(`${path}.operator`, 'must be a string');
    return;
  }
  const parts = leaf.operator.split(':');
  const name = parts.pop()!;
  const badDecorator = parts.find((d) => !DECORATORS.has(d));
  if (!OPERATORS.has(name) || badDecorator !== undefined) {
    walk.report(
      `${path}.operator`,
      `unknown operator "${leaf.operator}"${OPERATORS.has(name) ? '' : didYouMean(name, OPERATORS)}: use one of ${[...OPERATORS].join(', ')}` +
        (badDecorator === undefined ? '' : ` (decorators: ${[...DECORATORS].join(', ')})`),
    );
    return;
  }
  if (!('value' in leaf)) {
    walk.report(`${path}.value`, 'is required');
    return;
  }
  const value = leaf.value;
  const at = `${path}.value`;
  if (CUSTOM.has(name) && parts.length > 0) {
    walk.report(`${path}.operator`, `"${name}" cannot be combined with decorators`);
    return;
  }
  if (isFactReference(value)) {
    if (CUSTOM.has(name)) walk.report(at, `"${name}" needs a literal value, not a fact reference`);
    else checkFact(value.fact, value.params, value.path, at, walk, true);
    return;
  }
  const exact = checkExact(leaf, name, path, walk);
  // With decorators the value's shape depends on them; json-rules-engine's semantics apply as is.
  if (parts.length > 0) return;
  checkValue(name, value, at, walk, exact);
}

/**
 * `"params": {"exact": true}` on an `event` condition of our text operators: compare the raw value
 * instead of the folded one. Returns whether the condition asks for it.
 */
function checkExact(leaf: Record<string, unknown>, operator: string, path: string, walk: Walk): boolean {
  if (leaf.fact !== 'event' || leaf.params === undefined) return false;
  const at = `${path}.params`;
  if (!isRecord(leaf.params)) {
    walk.report(at, 'must be an object {"exact": true}');
    return false;
  }
  for (const key of Object.keys(leaf.params)) {
    if (key !== 'exact') walk.report(`${at}.${key}`, `unknown key "${key}" (allowed: exact)`);
  }
  const exact = leaf.params.exact;
  if (exact !== undefined && typeof exact !== 'boolean') walk.report(`${at}.exact`, 'must be true or false');
  if (exact !== undefined && !CUSTOM.has(operator)) {
    walk.report(`${at}.exact`, `applies to ${CUSTOM_OPERATORS.join(', ')} only ("${operator}" compares the raw value already)`);
  }
  return exact === true;
}

function checkValue(operator: string, value: unknown, at: string, walk: Walk, exact: boolean): void {
  switch (operator) {
    case 'matchesPattern': {
      if (typeof value !== 'string') {
        walk.report(at, 'must be a regular expression string (RE2 syntax)');
        return;
      }
      try {
        compilePattern(value);
      } catch (err) {
        walk.report(at, `invalid RE2 pattern: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      let running = value;
      if (!exact) {
        const folded = foldPattern(value);
        if ('problem' in folded) {
          walk.report(at, `pattern ${folded.problem}`);
          return;
        }
        running = folded.pattern;
      }
      checkPatternCost(running, at, walk);
      return;
    }
    case 'containsWord': {
      if (typeof value === 'string') {
        if (value.trim() === '') walk.report(at, 'must not be empty');
      } else if (Array.isArray(value)) {
        if (value.length === 0) walk.report(at, 'must hold at least one word or phrase');
        value.forEach((v, i) => {
          if (typeof v !== 'string' || v.trim() === '') walk.report(`${at}[${i}]`, 'must be a non-empty word or phrase');
        });
      } else if (value !== null && typeof value === 'object') {
        const keys = Object.keys(value);
        const list = (value as Record<string, unknown>).list;
        if (keys.length !== 1 || typeof list !== 'string') walk.report(at, 'must be {"list": "NAME"}');
        else checkListName(list, `${at}.list`, walk);
      } else {
        walk.report(at, 'must be a word or phrase, an array of them, or {"list": "NAME"}');
      }
      return;
    }
    case 'inList':
    case 'notInList':
      if (typeof value !== 'string') walk.report(at, 'must be a list name (string)');
      else checkListName(value, at, walk);
      return;
    case 'in':
    case 'notIn':
      if (!Array.isArray(value)) walk.report(at, `must be an array for "${operator}"`);
      return;
    default:
      if (NUMERIC.has(operator) && typeof value !== 'number') walk.report(at, `must be a number for "${operator}"`);
  }
}

/** The pattern as it runs (folded unless exact) must stay within the pattern budget. */
function checkPatternCost(pattern: string, at: string, walk: Walk): void {
  const size = compilePattern(pattern).programSize();
  const hint = 'it could stall the worker on a long message: simplify it (a bounded repetition such as {0,1000} multiplies the program)';
  if (size > MAX_PATTERN_PROGRAM) {
    walk.report(at, `pattern compiles to ${size} instructions, more than ${MAX_PATTERN_PROGRAM}: ${hint}`);
    return;
  }
  const cost = walk.patternCost?.(pattern);
  if (cost !== undefined && cost > PATTERN_BUDGET_MS) {
    walk.report(
      at,
      `pattern takes about ${Math.round(cost)} ms to search 64 KB of text, more than the ${PATTERN_BUDGET_MS} ms budget: ${hint}`,
    );
  }
}

function checkListName(name: string, at: string, walk: Walk): void {
  if (!isListName(name)) walk.report(at, `list name "${name}" must be ${LIST_NAME_RULE}`);
  else walk.usage.lists.add(name);
}

function checkFact(fact: unknown, params: unknown, path: unknown, at: string, walk: Walk, reference = false): void {
  const factAt = `${at}.fact`;
  if (typeof fact !== 'string' || !(FACTS as readonly string[]).includes(fact)) {
    walk.report(
      factAt,
      `unknown fact ${JSON.stringify(fact)}${typeof fact === 'string' ? didYouMean(fact, FACTS) : ''}: use "event", "eventCount", "strikes" or "ruleHits"`,
    );
    return;
  }
  if (reference && isRecord(params) === false && params !== undefined) walk.report(`${at}.params`, 'must be an object');
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('$'))) {
    walk.report(`${at}.path`, 'must be a JSONPath string starting with "$" (e.g. "$.data.text")');
  } else if (typeof path === 'string' && !SAFE_JSON_PATH.test(path)) {
    walk.report(
      `${at}.path`,
      'must name members and indexes only (e.g. "$.data.text", "$.data[\'a key\']"): JSONPath filter and script expressions are not allowed',
    );
  } else if (typeof path === 'string' && PROTOTYPE_SEGMENT.test(path)) {
    walk.report(`${at}.path`, 'must not read __proto__, constructor or prototype');
  }
  if (fact === 'event') return;
  if (path !== undefined) walk.report(`${at}.path`, `"${fact}" is a number: remove "path"`);
  const reportIssues = (issues: readonly { path: readonly PropertyKey[]; message: string }[]): void => {
    for (const issue of issues) walk.report(`${at}.params${problemPath(issue.path).slice(1)}`, issue.message);
  };
  if (fact === 'eventCount') {
    const parsed = eventCountParams.safeParse(params);
    if (parsed.success) walk.usage.counters.push(parsed.data);
    else reportIssues(parsed.error.issues);
  } else if (fact === 'ruleHits') {
    const parsed = ruleHitsParams.safeParse(params);
    if (parsed.success) walk.usage.ruleHits.push({ ...parsed.data, at: `${at}.params.rule` });
    else reportIssues(parsed.error.issues);
  } else {
    const parsed = strikesParams.safeParse(params);
    if (parsed.success) walk.usage.strikeWindows.push(parsed.data.windowSeconds);
    else reportIssues(parsed.error.issues);
  }
}

function checkPriority(node: Record<string, unknown>, path: string, walk: Walk): void {
  const p = node.priority;
  if (p !== undefined && !(typeof p === 'number' && Number.isInteger(p) && p >= 1)) {
    walk.report(`${path}.priority`, 'must be a whole number of at least 1');
  }
}

function checkKeys(node: Record<string, unknown>, path: string, allowed: readonly string[], walk: Walk): void {
  for (const key of Object.keys(node)) {
    if (!allowed.includes(key)) walk.report(`${path}.${key}`, `unknown key "${key}" (allowed: ${allowed.join(', ')})`);
  }
}
