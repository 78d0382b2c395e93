import { Engine, type RuleProperties } from 'json-rules-engine';
import type { MeetingEvent } from '../shared/event-schema.js';
import { createOperators, OPERATOR_VARIANTS, type RulePatterns } from './operators.js';
import { compileVerdict, type OperatorLike, type PrecheckVerdict } from './prefilter.js';
import {
  counterKey,
  ruleHitsKey,
  type CompiledRule,
  type EvaluationFacts,
  type ListSource,
  type RuleHit,
  type RuleHitSpec,
  type RuleSet,
} from './types.js';

/** Options of `createEvaluator`. */
export interface EvaluatorOptions {
  /** The lists `inList`, `notInList` and `containsWord {list}` read; called on every use. */
  lists: () => ListSource;
  /**
   * Skip json-rules-engine for events that no rule can match (decided by a synchronous pre-check
   * over the same operators and facts). Default true; false is for equivalence tests and benchmarks.
   */
  prefilter?: boolean;
  /**
   * Called between rules; when it returns a promise, evaluation waits for it. The worker gives
   * one that yields to the event loop when evaluation has held it too long (`shared/yielder.ts`),
   * so a costly rule on a long text cannot hold back health checks or job lock renewals.
   */
  yieldToLoop?: (() => Promise<void> | undefined) | undefined;
}

/** Tests events against a compiled rule set. Safe for any number of concurrent calls. */
export interface Evaluator {
  /**
   * The rules that fire for `event`, highest priority first, then by name. Answered at once unless
   * evaluation must wait (a yield to the event loop, or a rule json-rules-engine decides): await it.
   */
  evaluate(event: MeetingEvent, facts: EvaluationFacts): RuleHit[] | Promise<RuleHit[]>;
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

/** Rules evaluated together: all in one engine pool, and each in its own. */
interface Stage {
  all: Pool;
  single: readonly Single[];
}

/**
 * The rules an event type can match, in stages: a rule that reads `ruleHits` runs after the rules
 * it counts, and sees their hits on this event. Without `ruleHits` there is one stage.
 */
interface Group {
  stages: readonly Stage[];
  size: number;
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
  const active = ruleSet.rules.filter((r) => r.mode !== 'off');
  const operators = createOperators(options.lists, rulePatterns(active));
  const prefilter = options.prefilter ?? true;
  const yieldToLoop = options.yieldToLoop;
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
  // A rule's stage: one after the latest stage of the rules it counts (they have higher
  // priorities, so the loader has refused any cycle).
  const counted = new Map<string, readonly string[]>();
  for (const r of active) counted.set(r.name, ruleHitRules(r));
  const stageOf = new Map<string, number>();
  const stageOfRule = (name: string): number => {
    let stage = stageOf.get(name);
    if (stage === undefined) {
      stage = Math.max(-1, ...(counted.get(name) ?? []).filter((n) => counted.has(n)).map(stageOfRule)) + 1;
      stageOf.set(name, stage);
    }
    return stage;
  };
  const makeGroup = (rules: readonly CompiledRule[]): Group => {
    const stages: CompiledRule[][] = [];
    for (const r of rules) (stages[stageOfRule(r.name)] ??= []).push(r);
    return {
      size: rules.length,
      stages: stages
        .filter((s) => s !== undefined)
        .map((stage) => ({ all: { rules: stage, idle: [] }, single: stage.map((r) => singles.get(r.name)!) })),
    };
  };
  const specs = ruleSet.ruleHitSpecs ?? [];
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

  /**
   * The stage's pre-checks from rule `from` on; a promise only when evaluation must wait (a yield
   * to the event loop, or rules json-rules-engine decides): nearly every event needs none.
   */
  function runCandidates(
    stage: Stage,
    event: MeetingEvent,
    facts: EvaluationFacts,
    hits: RuleHit[],
    from = 0,
    undecided?: Single[],
  ): Promise<void> | undefined {
    // A rule the pre-check decided fires without json-rules-engine (it would decide the same: the
    // same operators on the same values); only the undecided ones run. Rules of one stage never see
    // each other's results, so running those in engines of their own gives what one engine
    // holding the whole stage would.
    const singles = stage.single;
    for (let k = from; k < singles.length; k++) {
      const wait = yieldToLoop?.();
      if (wait !== undefined) return wait.then(() => runCandidates(stage, event, facts, hits, k, undecided));
      const s = singles[k]!;
      const verdict = s.verdict(event, facts);
      if (verdict === 'fires') hits.push(hitOf(s.rule));
      else if (verdict === 'unknown') (undecided ??= []).push(s);
    }
    return undecided === undefined ? undefined : runUndecided(undecided, event, facts, hits);
  }

  async function runUndecided(undecided: readonly Single[], event: MeetingEvent, facts: EvaluationFacts, hits: RuleHit[]): Promise<void> {
    const ran =
      undecided.length === 1
        ? await run(undecided[0]!.pool, event, facts)
        : (await Promise.all(undecided.map((c) => run(c.pool, event, facts)))).flat();
    hits.push(...ran);
  }

  return {
    evaluate(event, facts) {
      const group = groups.get(event.type) ?? wildcard;
      if (group.size === 0) return [];
      if (!prefilter) return evaluateInEngines(group, event, facts);
      const hits: RuleHit[] = [];
      const stages = group.stages;
      for (let i = 0; i < stages.length; i++) {
        // A later stage counts this event's hits of the earlier ones.
        const pending = runCandidates(stages[i]!, event, i === 0 ? facts : withOwnHits(facts, hits, specs), hits);
        if (pending !== undefined) return finishStages(group, event, facts, hits, i, pending);
      }
      return byPriority(hits);
    },
  };

  /** The stages after `from`, once `pending` (stage `from`) is done. */
  async function finishStages(
    group: Group,
    event: MeetingEvent,
    facts: EvaluationFacts,
    hits: RuleHit[],
    from: number,
    pending: Promise<void>,
  ): Promise<RuleHit[]> {
    await pending;
    for (let i = from + 1; i < group.stages.length; i++) {
      const next = runCandidates(group.stages[i]!, event, withOwnHits(facts, hits, specs), hits);
      if (next !== undefined) await next;
    }
    return byPriority(hits);
  }

  /** Without the pre-check: each stage whole in one engine. */
  async function evaluateInEngines(group: Group, event: MeetingEvent, facts: EvaluationFacts): Promise<RuleHit[]> {
    const hits: RuleHit[] = [];
    for (let i = 0; i < group.stages.length; i++) {
      const wait = yieldToLoop?.();
      if (wait !== undefined) await wait;
      hits.push(...(await run(group.stages[i]!.all, event, i === 0 ? facts : withOwnHits(facts, hits, specs))));
    }
    return byPriority(hits);
  }
}

function byPriority(hits: RuleHit[]): RuleHit[] {
  return hits.length > 1 ? hits.sort(byPriorityThenName) : hits;
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
  engine.addFact(
    'ruleHits',
    (params: Record<string, unknown>) =>
      pooled.facts.ruleHits?.[ruleHitsKey({ rule: String(params.rule), windowSeconds: Number(params.windowSeconds) })] ?? 0,
    { cache: false },
  );
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

/** The `matchesPattern` values the rules test, folded and exact. */
function rulePatterns(rules: readonly CompiledRule[]): RulePatterns {
  const folded: string[] = [];
  const exact: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    for (const key of ['all', 'any', 'not']) if (key in n) visit(n[key]);
    if (typeof n.value !== 'string') return;
    if (n.operator === 'matchesPattern') folded.push(n.value);
    else if (n.operator === OPERATOR_VARIANTS.matchesPattern.exact) exact.push(n.value);
  };
  for (const rule of rules) visit((rule.definition as RuleProperties).conditions);
  return { folded, exact };
}

/** The rules a rule's `ruleHits` facts name. */
function ruleHitRules(rule: CompiledRule): string[] {
  const names: string[] = [];
  const visit = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(visit);
    if (node === null || typeof node !== 'object') return;
    const n = node as Record<string, unknown>;
    for (const key of ['all', 'any', 'not']) if (key in n) visit(n[key]);
    for (const ref of [n, n.value]) {
      if (ref !== null && typeof ref === 'object' && (ref as Record<string, unknown>).fact === 'ruleHits') {
        const rule = ((ref as Record<string, unknown>).params as Record<string, unknown> | undefined)?.rule;
        if (typeof rule === 'string') names.push(rule);
      }
    }
  };
  visit((rule.definition as RuleProperties).conditions);
  return names;
}

/** `facts` with this event's enforced hits added to the `ruleHits` counts that name their rules. */
function withOwnHits(facts: EvaluationFacts, hits: readonly RuleHit[], specs: readonly RuleHitSpec[]): EvaluationFacts {
  const fired = new Set(hits.filter((h) => h.mode === 'enforce').map((h) => h.rule));
  if (fired.size === 0) return facts;
  const ruleHits: Record<string, number> = { ...facts.ruleHits };
  for (const spec of specs) {
    if (!fired.has(spec.rule)) continue;
    const key = ruleHitsKey(spec);
    ruleHits[key] = (ruleHits[key] ?? 0) + 1;
  }
  return { ...facts, ruleHits };
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
