import { createHash } from 'node:crypto';
import { compare } from '../shared/compare.js';
import { deepFreeze } from '../shared/deep-freeze.js';
import { problemPath, type Problem } from '../shared/errors.js';
import { ruleBanOf } from './ban-params.js';
import { ruleLockdownOf } from './lockdown-params.js';
import { parseBudget } from '../shared/budget.js';
import { mergeUsage, pinnedEventTypes, planCounters } from './counter-plan.js';
import { isListName, LIST_NAME_RULE } from './list-name.js';
import { parseListFile } from './list-source.js';
import { OPERATOR_VARIANTS } from './operators.js';
import { didYouMean, parseJson, ruleLabel } from './rule-text.js';
import { isRecord } from '../shared/is-record.js';
import { ruleSchema, walkTopLevel, type Usage, type Walk } from './rule-validation.js';
import {
  ruleHitRetentionSeconds,
  type CompiledRule,
  type ListFile,
  type RuleAction,
  type RuleFile,
  type RuleMode,
  type RuleSet,
} from './types.js';

/** Options of `loadRules`. */
export interface LoadRulesOptions {
  /**
   * Measures what a `matchesPattern` pattern costs (ms to search 64 KB of hostile text); a pattern
   * over `PATTERN_BUDGET_MS` is a problem. Passed in by the rules shell (it reads the clock); unset,
   * only the program size is checked.
   */
  patternCost?: (pattern: string) => number;
}

/** What `loadRules` gives back: a rule set, or every problem found (never both). */
export interface LoadRulesResult {
  ruleSet: RuleSet | undefined;
  problems: Problem[];
}

/**
 * Validates rule files and list files and compiles them into a `RuleSet`. Every problem names the
 * file, the rule and the JSON path inside the rule (`spam.json#free-crypto $.conditions.all[1].value`)
 * and says what is wrong; with any problem there is no rule set, so a bad change never half-applies.
 */
export function loadRules(files: RuleFile[], lists: ListFile[], options: LoadRulesOptions = {}): LoadRulesResult {
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
      const compiled = compileRule(item, file.path, report, options.patternCost);
      // Names repeat whatever else is wrong with either rule: said now, not after the fix.
      const name = isRecord(item) && typeof item.name === 'string' ? item.name : undefined;
      if (name !== undefined) {
        const first = firstFileOf.get(name);
        if (first === undefined) firstFileOf.set(name, file.path);
        else
          report(
            '$.name',
            first === file.path
              ? `duplicate rule name "${name}": already defined earlier in ${file.path}`
              : `duplicate rule name "${name}": already defined in ${first} (and again in ${file.path})`,
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

  problems.push(...ruleHitsProblems(rules, usages));
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
    ruleHitSpecs: Object.freeze(usage.ruleHits),
    countedRules: countedRulesOf(usage.ruleHits),
  });
  return { ruleSet, problems: [] };
}

function compileRule(
  input: unknown,
  file: string,
  report: (path: string, message: string) => void,
  patternCost: ((pattern: string) => number) | undefined,
): { rule: CompiledRule; usage: Usage } | undefined {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    report('$', 'must be a rule object');
    return undefined;
  }
  const usage: Usage = { counters: [], strikeWindows: [], lists: new Set(), ruleHits: [] };
  const walk: Walk = { report, usage, patternCost };
  const result = ruleSchema.safeParse(input);
  if (!result.success) {
    for (const issue of result.error.issues) report(problemPath(issue.path), issue.message);
  }
  // Conditions are walked even when the shape is wrong elsewhere, so one run lists every problem.
  const conditions = (input as Record<string, unknown>).conditions;
  if (conditions !== null && typeof conditions === 'object' && !Array.isArray(conditions)) {
    walkTopLevel(conditions, '$.conditions', walk);
  }
  // So are the event's params, read as well as the shape allows (an unknown action is read by the
  // params it carries), so that fixing the shape does not bring a second round of problems.
  const event = (input as Record<string, unknown>).event;
  const rawParams = isRecord(event) && isRecord(event.params) ? event.params : {};
  const type = isRecord(event) ? event.type : undefined;
  const { ban, budget, lockdown } = checkParams(rawParams, isAction(type) ? type : undefined, usage, report);
  if (!result.success) return undefined;

  const raw = result.data;
  const params = raw.event.params ?? {};
  const mode: RuleMode = raw.mode ?? 'enforce';
  const action: RuleAction = raw.event.type;
  const priority = raw.priority ?? 1;
  const reason = typeof params.reason === 'string' ? params.reason : (raw.description ?? raw.name);
  const definition = deepFreeze({
    name: raw.name,
    priority,
    conditions: compileConditions(structuredClone(raw.conditions)),
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
  if (ban !== undefined) rule.ban = Object.freeze(ban);
  if (budget !== undefined) rule.budget = Object.freeze(budget);
  if (lockdown !== undefined) rule.lockdown = Object.freeze(lockdown);
  const eventTypes = pinnedEventTypes(raw.conditions);
  if (eventTypes !== undefined) rule.eventTypes = eventTypes;
  return { rule: Object.freeze(rule), usage };
}

/** What a rule's `event.params` ask for, each problem reported at its path. */
function checkParams(
  params: Readonly<Record<string, unknown>>,
  action: RuleAction | undefined,
  usage: Usage,
  report: (path: string, message: string) => void,
): Pick<CompiledRule, 'ban' | 'budget' | 'lockdown'> {
  if (params.reason !== undefined && (typeof params.reason !== 'string' || params.reason.trim() === '')) {
    report('$.event.params.reason', 'must be a non-empty string');
  }
  // Without a known action, ban and budget params are read as a remove-participant rule's (the
  // only one that has them) and lockdown params only when present.
  const ban = ruleBanOf(params, action ?? 'remove-participant', report);
  let budget: CompiledRule['budget'];
  if (params.budget !== undefined) {
    if (action !== undefined && action !== 'remove-participant')
      report('$.event.params.budget', 'only a "remove-participant" rule has a budget');
    else {
      const parsed = parseBudget(params.budget);
      if ('problem' in parsed) report('$.event.params.budget', parsed.problem);
      else budget = parsed.budget;
    }
  }
  const lockdown =
    action === 'lockdown' || (action === undefined && params.for !== undefined)
      ? ruleLockdownOf(params, Math.max(0, ...usage.counters.map((c) => c.windowSeconds)) * 1000, report)
      : undefined;
  return { ban, budget, lockdown };
}

function isAction(value: unknown): value is RuleAction {
  return value === 'remove-participant' || value === 'review' || value === 'flag' || value === 'lockdown';
}

/**
 * A rule reads the hits of rules evaluated before it on the same event: each rule a `ruleHits`
 * fact names must exist and have a higher priority than the rule that reads it.
 */
function ruleHitsProblems(rules: readonly CompiledRule[], usages: ReadonlyMap<CompiledRule, Usage>): Problem[] {
  const byName = new Map(rules.map((r) => [r.name, r]));
  const problems: Problem[] = [];
  for (const rule of rules) {
    for (const spec of usages.get(rule)?.ruleHits ?? []) {
      const where = `${rule.file}#${rule.name} ${spec.at ?? '$.conditions'}`;
      const named = byName.get(spec.rule);
      if (named === undefined) {
        problems.push({ path: where, message: `names unknown rule "${spec.rule}"${didYouMean(spec.rule, byName.keys())}` });
      } else if (named.priority <= rule.priority) {
        problems.push({
          path: where,
          message: `"${spec.rule}" must have a higher priority than "${rule.name}" (it has ${named.priority}, this rule ${rule.priority}): a rule counts the hits of rules evaluated before it`,
        });
      }
    }
  }
  return problems;
}

/** Rules whose hits are counted, each with how long its hits are kept (seconds). */
function countedRulesOf(specs: readonly { rule: string; windowSeconds: number }[]): ReadonlyMap<string, number> {
  const windows = new Map<string, number[]>();
  for (const s of specs) windows.set(s.rule, [...(windows.get(s.rule) ?? []), s.windowSeconds]);
  return new Map([...windows].sort(([a], [b]) => compare(a, b)).map(([rule, w]) => [rule, ruleHitRetentionSeconds(w)]));
}

/** The event fields that hold a name or a text: list look-ups of them compare folded values. */
const NAME_AND_TEXT_PATHS: ReadonlySet<string> = new Set(['$.participantName', '$.data.name', '$.data.text']);

/**
 * Conditions as the evaluator runs them: an `exact` condition gets the operator variant that reads
 * the raw value (json-rules-engine hands a condition's `params` to its fact, never to its operator),
 * and a list look-up of a name or a text the one that folds both sides. Mutates `node` (a copy).
 */
function compileConditions<T>(node: T): T {
  if (Array.isArray(node)) {
    for (const child of node) compileConditions(child);
    return node;
  }
  if (node === null || typeof node !== 'object') return node;
  const n = node as Record<string, unknown>;
  for (const key of ['all', 'any', 'not']) if (key in n) compileConditions(n[key]);
  if (n.fact !== 'event' || typeof n.operator !== 'string') return node;
  const params = n.params as Record<string, unknown> | undefined;
  const exact = params?.exact === true;
  if (params !== undefined && 'exact' in params) {
    delete params.exact;
    if (Object.keys(params).length === 0) delete n.params;
  }
  if (exact && (n.operator === 'matchesPattern' || n.operator === 'containsWord')) {
    n.operator = OPERATOR_VARIANTS[n.operator].exact;
  } else if (
    !exact &&
    (n.operator === 'inList' || n.operator === 'notInList') &&
    typeof n.path === 'string' &&
    NAME_AND_TEXT_PATHS.has(n.path)
  ) {
    n.operator = OPERATOR_VARIANTS[n.operator].folded;
  }
  return node;
}

function versionOf(files: readonly RuleFile[], lists: readonly ListFile[]): string {
  const hash = createHash('sha256');
  for (const f of [...files].sort((a, b) => compare(a.path, b.path))) hash.update(`rule\0${f.path}\0${f.content}\0`);
  for (const l of [...lists].sort((a, b) => compare(a.name, b.name))) hash.update(`list\0${l.name}\0${l.content}\0`);
  return hash.digest('hex').slice(0, 12);
}
