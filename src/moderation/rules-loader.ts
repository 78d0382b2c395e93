import { createHash } from 'node:crypto';
import { z } from 'zod';
import { problemPath, type Problem } from '../errors.js';
import { jsonErrorPosition } from './json-error-position.js';
import { isListName, LIST_NAME_RULE } from './list-name.js';
import { parseListFile } from './list-source.js';
import { compilePattern, CUSTOM_OPERATORS } from './operators.js';
import type { CompiledRule, CounterPlan, CounterSpec, ListFile, RuleAction, RuleFile, RuleMode, RuleSet } from './types.js';

/** What `loadRules` gives back: a rule set, or every problem found (never both). */
export interface LoadRulesResult {
  ruleSet: RuleSet | undefined;
  problems: Problem[];
}

/** The facts a condition may read. */
export const FACTS = ['event', 'eventCount', 'strikes'] as const;

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
const ACTIONS = ['remove-participant', 'flag'] as const;
const MODES = ['enforce', 'shadow', 'off'] as const;

const required =
  (message: string) =>
  (issue: { input?: unknown }): string =>
    issue.input === undefined ? 'is required' : message;

const ruleSchema = z.strictObject({
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
      type: z.enum(ACTIONS, { error: required('must be "remove-participant" or "flag"') }),
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

/** Everything one rule's conditions use, gathered while validating them. */
interface Usage {
  counters: CounterSpec[];
  strikeWindows: number[];
  lists: Set<string>;
}

interface Walk {
  report(path: string, message: string): void;
  usage: Usage;
}

/**
 * Validates rule files and list files and compiles them into a `RuleSet`. Every problem names the
 * file, the rule and the JSON path inside the rule (`spam.json#free-crypto $.conditions.all[1].value`)
 * and says what is wrong; with any problem there is no rule set, so a bad change never half-applies.
 */
export function loadRules(files: RuleFile[], lists: ListFile[]): LoadRulesResult {
  const problems: Problem[] = [];
  const rules: CompiledRule[] = [];
  const usages = new Map<CompiledRule, Usage>();
  const firstFileOf = new Map<string, string>();

  for (const file of [...files].sort((a, b) => compare(a.path, b.path))) {
    const parsed = parseJson(file);
    if ('problem' in parsed) {
      problems.push(parsed.problem);
      continue;
    }
    const items: unknown[] = Array.isArray(parsed.value) ? parsed.value : [parsed.value];
    if (items.length === 0) {
      problems.push({ path: file.path, message: 'holds no rules: write a rule object or a non-empty array of rules' });
      continue;
    }
    items.forEach((item, index) => {
      const label = ruleLabel(item, Array.isArray(parsed.value) ? index : undefined);
      const ruleProblems: Problem[] = [];
      const report = (path: string, message: string): void => {
        ruleProblems.push({ path: `${file.path}#${label} ${path}`, message });
      };
      const compiled = compileRule(item, file.path, report);
      const rule = compiled?.rule;
      if (rule !== undefined) {
        const first = firstFileOf.get(rule.name);
        if (first === undefined) firstFileOf.set(rule.name, file.path);
        else
          report(
            '$.name',
            first === file.path
              ? `duplicate rule name "${rule.name}": already defined earlier in ${file.path}`
              : `duplicate rule name "${rule.name}": already defined in ${first} (and again in ${file.path})`,
          );
      }
      problems.push(...ruleProblems);
      if (compiled !== undefined && ruleProblems.length === 0) {
        rules.push(compiled.rule);
        usages.set(compiled.rule, compiled.usage);
      }
    });
  }

  const fileLists = new Map<string, readonly string[]>();
  for (const list of [...lists].sort((a, b) => compare(a.name, b.name))) {
    const where = `lists/${list.name}.txt`;
    if (!isListName(list.name)) {
      problems.push({ path: where, message: `list name must be ${LIST_NAME_RULE}` });
    } else if (fileLists.has(list.name)) {
      problems.push({ path: where, message: `list "${list.name}" is defined twice` });
    } else {
      fileLists.set(list.name, Object.freeze(parseListFile(list.content)));
    }
  }

  if (problems.length > 0) return { ruleSet: undefined, problems };

  const active = rules.filter((r) => r.mode !== 'off');
  const usage = mergeUsage(active.map((r) => usages.get(r)!));
  const plans = planCounters(
    active.map((r) => ({ eventTypes: r.eventTypes, usage: usages.get(r)! })),
    usage.counters,
  );
  const ruleSet: RuleSet = Object.freeze({
    version: versionOf(files, lists),
    rules: Object.freeze(rules),
    counterSpecs: Object.freeze(usage.counters),
    strikeWindows: Object.freeze(usage.strikeWindows),
    counterPlans: plans.byType,
    defaultCounterPlan: plans.fallback,
    fileLists,
    referencedLists: Object.freeze([...usage.lists].sort(compare)),
  });
  return { ruleSet, problems: [] };
}

function compileRule(
  input: unknown,
  file: string,
  report: (path: string, message: string) => void,
): { rule: CompiledRule; usage: Usage } | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    report('$', 'must be a rule object');
    return undefined;
  }
  const usage: Usage = { counters: [], strikeWindows: [], lists: new Set() };
  const walk: Walk = { report, usage };
  const result = ruleSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) report(problemPath(issue.path), issue.message);
  }
  // Conditions are walked even when the shape is wrong elsewhere, so one run lists every problem.
  const conditions = (input as Record<string, unknown>).conditions;
  if (conditions !== null && typeof conditions === 'object' && !Array.isArray(conditions)) {
    walkTopLevel(conditions, '$.conditions', walk);
  }
  if (!result.success) return undefined;

  const raw = result.data;
  const params = raw.event.params ?? {};
  if (params.reason !== undefined && (typeof params.reason !== 'string' || params.reason.trim() === '')) {
    report('$.event.params.reason', 'must be a non-empty string');
  }
  const mode: RuleMode = raw.mode ?? 'enforce';
  const action: RuleAction = raw.event.type;
  const priority = raw.priority ?? 1;
  const reason = typeof params.reason === 'string' ? params.reason : (raw.description ?? raw.name);
  const definition = deepFreeze({
    name: raw.name,
    priority,
    conditions: structuredClone(raw.conditions),
    event: { type: action, params: structuredClone(params) },
  });
  const rule: CompiledRule = {
    name: raw.name,
    mode,
    priority,
    action,
    reason,
    params: definition.event.params,
    file,
    definition,
  };
  if (raw.description !== undefined) rule.description = raw.description;
  const eventTypes = pinnedEventTypes(raw.conditions);
  if (eventTypes !== undefined) rule.eventTypes = eventTypes;
  return { rule: Object.freeze(rule), usage };
}

function walkTopLevel(node: object, path: string, walk: Walk): void {
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
  // With decorators the value's shape depends on them; json-rules-engine's semantics apply as is.
  if (parts.length > 0) return;
  checkValue(name, value, at, walk);
}

function checkValue(operator: string, value: unknown, at: string, walk: Walk): void {
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
      }
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

function checkListName(name: string, at: string, walk: Walk): void {
  if (!isListName(name)) walk.report(at, `list name "${name}" must be ${LIST_NAME_RULE}`);
  else walk.usage.lists.add(name);
}

function checkFact(fact: unknown, params: unknown, path: unknown, at: string, walk: Walk, reference = false): void {
  const factAt = `${at}.fact`;
  if (typeof fact !== 'string' || !(FACTS as readonly string[]).includes(fact)) {
    walk.report(factAt, `unknown fact ${JSON.stringify(fact)}${typeof fact === 'string' ? didYouMean(fact, FACTS) : ''}: use "event", "eventCount" or "strikes"`);
    return;
  }
  if (reference && isRecord(params) === false && params !== undefined) walk.report(`${at}.params`, 'must be an object');
  if (path !== undefined && (typeof path !== 'string' || !path.startsWith('$'))) {
    walk.report(`${at}.path`, 'must be a JSONPath string starting with "$" (e.g. "$.data.text")');
  } else if (typeof path === 'string' && !SAFE_JSON_PATH.test(path)) {
    walk.report(`${at}.path`, 'must name members and indexes only (e.g. "$.data.text", "$.data[\'a key\']"): JSONPath filter and script expressions are not allowed');
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

/**
 * The event types a rule can match: json-rules-engine's `all` fails when any child fails, so an
 * `equal`/`in` on `$.type` at the top level pins the types. Several such conditions intersect.
 */
function pinnedEventTypes(conditions: Record<string, unknown>): readonly string[] | undefined {
  const all = conditions.all;
  if (!Array.isArray(all)) return undefined;
  let types: string[] | undefined;
  for (const child of all) {
    if (!isRecord(child) || child.fact !== 'event' || child.path !== '$.type' || isFactReference(child.value)) continue;
    let pinned: string[] | undefined;
    if (child.operator === 'equal' && typeof child.value === 'string') pinned = [child.value];
    else if (child.operator === 'in' && Array.isArray(child.value)) {
      pinned = child.value.filter((v): v is string => typeof v === 'string');
    }
    if (pinned !== undefined) types = types === undefined ? pinned : types.filter((t) => pinned.includes(t));
  }
  return types === undefined ? undefined : Object.freeze([...new Set(types)].sort(compare));
}

/**
 * The counters each event type needs (see `CounterPlan`): an event is recorded in every counter of
 * its type, and gets the counts and strikes that the rules able to match it read, not more.
 */
function planCounters(
  rules: readonly { eventTypes: readonly string[] | undefined; usage: Usage }[],
  counters: readonly CounterSpec[],
): { byType: ReadonlyMap<string, CounterPlan>; fallback: CounterPlan } {
  const planOf = (type: string | undefined): CounterPlan => {
    const matching = rules.filter((r) => r.eventTypes === undefined || (type !== undefined && r.eventTypes.includes(type)));
    const own: Usage = { counters: counters.filter((c) => c.type === type), strikeWindows: [], lists: new Set() };
    const merged = mergeUsage([...matching.map((r) => r.usage), own]);
    return Object.freeze({ counterSpecs: Object.freeze(merged.counters), strikeWindows: Object.freeze(merged.strikeWindows) });
  };
  const types = new Set([...rules.flatMap((r) => r.eventTypes ?? []), ...counters.map((c) => c.type)]);
  return { byType: new Map([...types].sort(compare).map((t) => [t, planOf(t)])), fallback: planOf(undefined) };
}

function mergeUsage(usages: readonly Usage[]): Usage {
  const counters = new Map<string, CounterSpec>();
  const windows = new Set<number>();
  const lists = new Set<string>();
  for (const u of usages) {
    for (const c of u.counters) counters.set(`${c.scope}:${c.type}:${c.windowSeconds}`, Object.freeze({ ...c }));
    for (const w of u.strikeWindows) windows.add(w);
    for (const l of u.lists) lists.add(l);
  }
  return {
    counters: [...counters.entries()].sort(([a], [b]) => compare(a, b)).map(([, c]) => c),
    strikeWindows: [...windows].sort((a, b) => a - b),
    lists,
  };
}

function parseJson(file: RuleFile): { value: unknown } | { problem: Problem } {
  try {
    return { value: JSON.parse(file.content) as unknown };
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    const { line, column } = jsonErrorPosition(file.content, message);
    // The position is in the path (file:line:column, as editors and compilers show it); V8 quotes
    // the input in some messages, so keep the message short.
    const detail = message.replace(/\s*\(line \d+ column \d+\)/, '').replace(/ in JSON at position \d+/, '').replace(/\s*\n\s*/g, ' ').slice(0, 200);
    return { problem: { path: `${file.path}:${line}:${column}`, message: `malformed JSON: ${detail}` } };
  }
}

function ruleLabel(item: unknown, index: number | undefined): string {
  const name = isRecord(item) ? item.name : undefined;
  if (typeof name === 'string' && name.length > 0 && name.length <= 100) return name;
  return index === undefined ? '(unnamed rule)' : `(rule ${index})`;
}

function isFactReference(value: unknown): value is { fact: unknown; params?: unknown; path?: unknown } {
  return isRecord(value) && Object.hasOwn(value, 'fact');
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}


function versionOf(files: readonly RuleFile[], lists: readonly ListFile[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => compare(a.path, b.path))) hash.update(`rule\0${f.path}\0${f.content}\0`);
  for (const l of [...lists].sort((a, b) => compare(a.name, b.name))) hash.update(`list\0${l.name}\0${l.content}\0`);
  return hash.digest('hex').slice(0, 12);
}

/** ` (did you mean "x"?)` when one known name is close to `name` (case, "-"/"_", a typo or two). */
function didYouMean(name: string, known: Iterable<string>): string {
  const plain = (s: string) => s.toLowerCase().replace(/[^a-z0-9]/g, '');
  const close = [...known].filter((k) => plain(k) === plain(name) || editDistance(k.toLowerCase(), name.toLowerCase()) <= 2);
  return close.length === 1 ? ` (did you mean "${close[0]}"?)` : '';
}

function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2) return 3;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) {
      row[j] = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = row;
  }
  return previous[b.length]!;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
