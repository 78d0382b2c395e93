import { Engine, type RuleProperties } from 'json-rules-engine';
import type { MeetingEvent } from '../shared/event-schema.js';
import { createOperators } from './operators.js';
import { compileVerdict, type OperatorLike, type PrecheckVerdict } from './prefilter.js';
import { counterKey, type CompiledRule, type EvaluationFacts, type ListSource, type RuleHit, type RuleSet } from './types.js';

/** Options of `createEvaluator`. */
export interface EvaluatorOptions {
  /** The lists `inList`, `notInList` and `containsWord {list}` read; called on every use. */
  lists: () => ListSource;
  /**
   * Skip json-rules-engine for events that no rule can match (decided by a synchronous pre-check
   * over the same operators and facts). Default true; false is for equivalence tests and benchmarks.
   */
  prefilter?: boolean;
}

/** Tests events against a compiled rule set. Safe for any number of concurrent calls. */
export interface Evaluator {
  /** The rules that fire for `event`, highest priority first, then by name. */
  evaluate(event: MeetingEvent, facts: EvaluationFacts): Promise<RuleHit[]>;
}

/** One engine and the facts of the evaluation it is running (at most one at a time). */
interface PooledEngine {
  engine: Engine;
  facts: EvaluationFacts;
}

/** Idle engines for one set of rules; an evaluation takes one and puts it back. */
interface Pool {
  rules: readonly CompiledRule[];
  idle: PooledEngine[];
}

/** One rule: its pre-check and its own engine pool. */
interface Single {
  rule: CompiledRule;
  verdict: (event: MeetingEvent, facts: EvaluationFacts) => PrecheckVerdict;
  pool: Pool;
}

/** The rules an event type can match: all in one engine pool, and each in its own. */
interface Group {
  all: Pool;
  single: readonly Single[];
}

const NO_FACTS: EvaluationFacts = Object.freeze({ eventCounts: Object.freeze({}), strikes: Object.freeze({}) });
// Idle engines kept per pool after a burst; more are built on demand and dropped afterwards.
const MAX_IDLE = 64;

/**
 * Compiles `ruleSet` for evaluation. Rules are grouped by the event types they can match, so an
 * event only meets the rules that could fire for it. A synchronous pre-check (`prefilter.ts`) drops
 * the rules that certainly cannot fire and takes those that certainly fire; json-rules-engine
 * decides the rest, each rule in an engine of its own (the whole group in one engine without the
 * pre-check). Engines are pooled because an Engine keeps run state and must never run two
 * evaluations at once. Counters and strikes come from the precomputed `facts`: no I/O here.
 */
export function createEvaluator(ruleSet: RuleSet, options: EvaluatorOptions): Evaluator {
  const operators = createOperators(options.lists);
  const prefilter = options.prefilter ?? true;
  const active = ruleSet.rules.filter((r) => r.mode !== 'off');
  const byName = new Map(active.map((r) => [r.name, r]));

  // One engine only to look operators up for the pre-checks (built-ins with decorators and ours).
  const lookup = newEngine([], operators);
  const operatorOf = (name: string): OperatorLike | undefined => operatorMap(lookup.engine)?.get(name) ?? undefined;

  // Every rule gets its own pool once, shared by the groups it belongs to.
  const singles = new Map(
    active.map((r) => [
      r.name,
      { rule: r, verdict: compileVerdict((r.definition as RuleProperties).conditions, operatorOf), pool: { rules: [r], idle: [] } },
    ]),
  );
  const makeGroup = (rules: readonly CompiledRule[]): Group => ({
    all: { rules, idle: [] },
    single: rules.map((r) => singles.get(r.name)!),
  });
  const wildcard = makeGroup(active.filter((r) => r.eventTypes === undefined));
  const groups = new Map<string, Group>();
  for (const type of new Set(active.flatMap((r) => r.eventTypes ?? []))) {
    groups.set(type, makeGroup(active.filter((r) => r.eventTypes === undefined || r.eventTypes.includes(type))));
  }

  async function run(pool: Pool, event: MeetingEvent, facts: EvaluationFacts): Promise<RuleHit[]> {
    const pooled = pool.idle.pop() ?? newEngine(pool.rules, operators);
    pooled.facts = facts;
    try {
      const { results } = await pooled.engine.run({ event });
      const hits: RuleHit[] = [];
      for (const result of results) {
        const rule = byName.get(result.name);
        if (rule === undefined || rule.mode === 'off') continue;
        hits.push(hitOf(rule));
      }
      return hits;
    } finally {
      pooled.facts = NO_FACTS;
      if (pool.idle.length < MAX_IDLE) pool.idle.push(pooled);
    }
  }

  async function runCandidates(group: Group, event: MeetingEvent, facts: EvaluationFacts): Promise<RuleHit[]> {
    // A rule the pre-check decided fires without json-rules-engine (it would decide the same: the
    // same operators on the same values); only the undecided ones run. Rules never see each other's
    // results (no rule adds facts), so running those in engines of their own gives what one engine
    // holding the whole group would.
    const hits: RuleHit[] = [];
    let undecided: Single[] | undefined;
    for (const s of group.single) {
      const verdict = s.verdict(event, facts);
      if (verdict === 'fires') hits.push(hitOf(s.rule));
      else if (verdict === 'unknown') (undecided ??= []).push(s);
    }
    if (undecided !== undefined) {
      const ran =
        undecided.length === 1
          ? await run(undecided[0]!.pool, event, facts)
          : (await Promise.all(undecided.map((c) => run(c.pool, event, facts)))).flat();
      hits.push(...ran);
    }
    return hits.length > 1 ? hits.sort(byPriorityThenName) : hits;
  }

  return {
    async evaluate(event, facts) {
      const group = groups.get(event.type) ?? wildcard;
      if (group.single.length === 0) return [];
      if (prefilter) return runCandidates(group, event, facts);
      return (await run(group.all, event, facts)).sort(byPriorityThenName);
    },
  };
}

function newEngine(rules: readonly CompiledRule[], operators: ReturnType<typeof createOperators>): PooledEngine {
  // Undefined paths on the event are "no match", not an error: events carry free-form data.
  const engine = new Engine([], { allowUndefinedFacts: true });
  const pooled: PooledEngine = { engine, facts: NO_FACTS };
  for (const op of operators) engine.addOperator(op);
  // Counters are read from the facts of the evaluation this engine is running; no caching, since
  // hashing the params for json-rules-engine's cache costs more than the lookup.
  engine.addFact(
    'eventCount',
    (params: Record<string, unknown>) =>
      pooled.facts.eventCounts[
        counterKey({
          type: String(params.type),
          windowSeconds: Number(params.windowSeconds),
          scope: params.scope === 'session' ? 'session' : 'participant',
        })
      ] ?? 0,
    { cache: false },
  );
  engine.addFact('strikes', (params: Record<string, unknown>) => pooled.facts.strikes[String(params.windowSeconds)] ?? 0, {
    cache: false,
  });
  // json-rules-engine mutates what it is given (condition priorities), so each engine gets a copy.
  for (const rule of rules) engine.addRule(structuredClone(rule.definition) as RuleProperties);
  return pooled;
}

/** json-rules-engine's operator map (not in its typings; stable across 6.x and 7.x). */
function operatorMap(engine: Engine): { get(name: string): OperatorLike | null } | undefined {
  const map: unknown = (engine as unknown as { operators?: unknown }).operators;
  if (map !== null && typeof map === 'object' && typeof (map as { get?: unknown }).get === 'function') {
    return map as { get(name: string): OperatorLike | null };
  }
  return undefined;
}

function hitOf(rule: CompiledRule): RuleHit {
  return {
    rule: rule.name,
    mode: rule.mode === 'shadow' ? 'shadow' : 'enforce',
    action: rule.action,
    reason: rule.reason,
    priority: rule.priority,
  };
}

function byPriorityThenName(a: RuleHit, b: RuleHit): number {
  return b.priority - a.priority || (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : 0);
}
