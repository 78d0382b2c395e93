import type { MeetingEvent } from '../shared/event-schema.js';
import { counterKey, ruleHitsKey, type EvaluationFacts } from './types.js';

/**
 * A synchronous, conservative pre-check of a rule: `false` only when the rule certainly cannot fire
 * for this event. It evaluates the same operator instances json-rules-engine would, on the same
 * fact values, so it never changes a rule's meaning; it only spares json-rules-engine's per-run
 * overhead (almanac, promise chains, condition cloning) for events that match nothing, which is
 * nearly all of them. Anything it cannot decide exactly (non-dotted JSONPath, fact references,
 * unknown operators) counts as "maybe" and is left to json-rules-engine.
 */
export type RulePrecheck = (event: MeetingEvent, facts: EvaluationFacts) => boolean;

/** An operator as json-rules-engine's operator map holds it (decorators applied). */
export interface OperatorLike {
  evaluate(factValue: unknown, jsonValue: unknown): boolean;
}

const TRUE = 1;
const FALSE = 0;
const MAYBE = 2;
type Tri = typeof TRUE | typeof FALSE | typeof MAYBE;
type Check = (event: MeetingEvent, facts: EvaluationFacts) => Tri;

const UNRESOLVED = Symbol('unresolved');
const DOTTED = /^\$(?:\.[A-Za-z_][A-Za-z0-9_]*)+$/;

/** Compiles a precheck for a rule's `conditions`; `operator` looks an operator name up. */
export function compilePrecheck(conditions: unknown, operator: (name: string) => OperatorLike | undefined): RulePrecheck {
  const check = compileNode(conditions, operator);
  return (event, facts) => check(event, facts) !== FALSE;
}

/**
 * What the pre-check can tell about a rule without json-rules-engine: `fires` when every condition
 * it had to look at was decided (the same operators on the same values, so json-rules-engine
 * would decide the same), `cannot-fire`, or `unknown` (json-rules-engine must decide).
 */
export type PrecheckVerdict = 'fires' | 'cannot-fire' | 'unknown';

/** Like `compilePrecheck`, with the three-way answer. */
export function compileVerdict(
  conditions: unknown,
  operator: (name: string) => OperatorLike | undefined,
): (event: MeetingEvent, facts: EvaluationFacts) => PrecheckVerdict {
  const check = compileNode(conditions, operator);
  return (event, facts) => {
    const r = check(event, facts);
    return r === TRUE ? 'fires' : r === FALSE ? 'cannot-fire' : 'unknown';
  };
}

const maybe: Check = () => MAYBE;

function compileNode(node: unknown, operator: (name: string) => OperatorLike | undefined): Check {
  if (node === null || typeof node !== 'object' || Array.isArray(node)) return maybe;
  const n = node as Record<string, unknown>;
  if (Array.isArray(n.all)) {
    const children = n.all.map((c) => compileNode(c, operator));
    return (event, facts) => {
      let result: Tri = TRUE;
      for (const child of children) {
        const r = child(event, facts);
        if (r === FALSE) return FALSE;
        if (r === MAYBE) result = MAYBE;
      }
      return result;
    };
  }
  if (Array.isArray(n.any)) {
    const children = n.any.map((c) => compileNode(c, operator));
    return (event, facts) => {
      let result: Tri = FALSE;
      for (const child of children) {
        const r = child(event, facts);
        if (r === TRUE) return TRUE;
        if (r === MAYBE) result = MAYBE;
      }
      return result;
    };
  }
  if (n.not !== undefined && !Array.isArray(n.not)) {
    const child = compileNode(n.not, operator);
    return (event, facts) => {
      const r = child(event, facts);
      return r === MAYBE ? MAYBE : r === TRUE ? FALSE : TRUE;
    };
  }
  return compileLeaf(n, operator);
}

function compileLeaf(leaf: Record<string, unknown>, operator: (name: string) => OperatorLike | undefined): Check {
  const op = typeof leaf.operator === 'string' ? operator(leaf.operator) : undefined;
  const value = leaf.value;
  // A value `{fact: ...}` is resolved by json-rules-engine's almanac; leave it to the engine.
  if (op === undefined || (value !== null && typeof value === 'object' && Object.hasOwn(value, 'fact'))) return maybe;
  const read = compileRead(leaf);
  if (read === undefined) return maybe;
  return (event, facts) => {
    const factValue = read(event, facts);
    if (factValue === UNRESOLVED) return MAYBE;
    try {
      return op.evaluate(factValue, value) === true ? TRUE : FALSE;
    } catch {
      // Let json-rules-engine meet (and report) the same failure.
      return MAYBE;
    }
  };
}

type Read = (event: MeetingEvent, facts: EvaluationFacts) => unknown;

function compileRead(leaf: Record<string, unknown>): Read | undefined {
  const params = leaf.params as Record<string, unknown> | undefined;
  switch (leaf.fact) {
    case 'event': {
      if (leaf.path === undefined) return (event) => event;
      if (typeof leaf.path !== 'string' || !DOTTED.test(leaf.path)) return undefined;
      const segments = leaf.path.slice(2).split('.');
      return (event) => walk(event, segments);
    }
    case 'eventCount': {
      if (params === undefined) return undefined;
      const key = counterKey({
        type: String(params.type),
        windowSeconds: Number(params.windowSeconds),
        scope: params.scope === 'session' ? 'session' : 'participant',
      });
      return (_event, facts) => facts.eventCounts[key] ?? 0;
    }
    case 'strikes': {
      if (params === undefined) return undefined;
      const key = String(params.windowSeconds);
      return (_event, facts) => facts.strikes[key] ?? 0;
    }
    case 'ruleHits': {
      if (params === undefined) return undefined;
      const key = ruleHitsKey({ rule: String(params.rule), windowSeconds: Number(params.windowSeconds) });
      return (_event, facts) => facts.ruleHits?.[key] ?? 0;
    }
    default:
      return undefined;
  }
}

/**
 * Resolves a dotted path the way json-rules-engine's JSONPath-plus resolver does: own properties
 * only, `undefined` when a step is missing. Properties of primitives ("abc".length) are left to
 * the engine.
 */
function walk(root: object, segments: readonly string[]): unknown {
  let current: unknown = root;
  for (const segment of segments) {
    if (current === null || current === undefined) return undefined;
    if (typeof current !== 'object') return UNRESOLVED;
    if (!Object.hasOwn(current, segment)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}
