import { compare } from '../shared/compare.js';
import { isRecord } from '../shared/is-record.js';
import { isFactReference } from './rule-text.js';
import type { Usage } from './rule-validation.js';
import type { CounterPlan, CounterSpec, RuleHitSpec } from './types.js';

/**
 * The event types a rule can match: json-rules-engine's `all` fails when any child fails, so an
 * `equal`/`in` on `$.type` at the top level pins the types. Several such conditions intersect.
 */
export function pinnedEventTypes(conditions: Record<string, unknown>): readonly string[] | undefined {
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
export function planCounters(
  rules: readonly { eventTypes: readonly string[] | undefined; usage: Usage }[],
  counters: readonly CounterSpec[],
): { byType: ReadonlyMap<string, CounterPlan>; fallback: CounterPlan } {
  const planOf = (type: string | undefined): CounterPlan => {
    const matching = rules.filter((r) => r.eventTypes === undefined || (type !== undefined && r.eventTypes.includes(type)));
    const own: Usage = { counters: counters.filter((c) => c.type === type), strikeWindows: [], lists: new Set(), ruleHits: [] };
    const merged = mergeUsage([...matching.map((r) => r.usage), own]);
    return Object.freeze({
      counterSpecs: Object.freeze(merged.counters),
      strikeWindows: Object.freeze(merged.strikeWindows),
      ruleHits: Object.freeze(merged.ruleHits),
    });
  };
  const types = new Set([...rules.flatMap((r) => r.eventTypes ?? []), ...counters.map((c) => c.type)]);
  return { byType: new Map([...types].sort(compare).map((t) => [t, planOf(t)])), fallback: planOf(undefined) };
}

export function mergeUsage(usages: readonly Usage[]): Usage {
  const counters = new Map<string, CounterSpec>();
  const windows = new Set<number>();
  const lists = new Set<string>();
  const ruleHits = new Map<string, RuleHitSpec>();
  for (const u of usages) {
    for (const c of u.counters) counters.set(`${c.scope}:${c.type}:${c.windowSeconds}`, Object.freeze({ ...c }));
    for (const w of u.strikeWindows) windows.add(w);
    for (const l of u.lists) lists.add(l);
    for (const h of u.ruleHits)
      ruleHits.set(`${h.rule}:${h.windowSeconds}`, Object.freeze({ rule: h.rule, windowSeconds: h.windowSeconds }));
  }
  return {
    counters: [...counters.entries()].sort(([a], [b]) => compare(a, b)).map(([, c]) => c),
    strikeWindows: [...windows].sort((a, b) => a - b),
    lists,
    ruleHits: [...ruleHits.entries()].sort(([a], [b]) => compare(a, b)).map(([, h]) => h),
  };
}
