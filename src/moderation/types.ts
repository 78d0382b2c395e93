/**
 * The data the moderation module takes and returns. Everything here is plain data so that the
 * worker, `automod rules test` and backtests share one code path.
 */

import type { RuleBan } from './ban-params.js';
import type { RuleLockdown } from './lockdown-params.js';
import type { Budget } from '../shared/budget.js';

/** `enforce` acts, `shadow` records what it would have done, `off` is loaded but never evaluated. */
export type RuleMode = 'enforce' | 'shadow' | 'off';

/**
 * What a rule asks for when it fires: a removal, a hold for a moderator's review, a record only,
 * or a lockdown of the event's meeting.
 */
export type RuleAction = 'remove-participant' | 'review' | 'flag' | 'lockdown';

/** One rules file as read from disk. */
export interface RuleFile {
  /** Shown in problems (relative to the rules folder is fine). */
  path: string;
  content: string;
}

/**
 * One `rules/lists/NAME.txt` file: one value per line; `#` comments and blank lines are ignored and
 * values are trimmed.
 */
export interface ListFile {
  /** The list name (`NAME`, without `.txt`). */
  name: string;
  content: string;
}

/** One sliding-window event counter that the loaded rules read through the `eventCount` fact. */
export interface CounterSpec {
  /** Event type counted. */
  type: string;
  windowSeconds: number;
  /**
   * Count per participant (`participantId`, within one meeting: `meetingId ?? sessionId`, as
   * strikes are) or per session (`sessionId`, every participant).
   */
  scope: 'participant' | 'session';
}

/** One validated rule, ready for the evaluator. */
export interface CompiledRule {
  name: string;
  description?: string;
  mode: RuleMode;
  /** json-rules-engine priority (≥ 1); hits are reported highest first. */
  priority: number;
  action: RuleAction;
  /** `event.params.reason`, else `description`, else `name`. */
  reason: string;
  /** `event.params` as written. */
  params: Readonly<Record<string, unknown>>;
  /** The ban a `remove-participant` rule makes with its removal (`banFor`, `banScope`, `banHosts`). */
  ban?: RuleBan;
  /**
   * `event.params.budget` of a `remove-participant` rule: at most N removals in a window across
   * every worker, past which its hits are held for review. Unset: the deployment's default
   * (`AUTOMOD_RULE_BUDGET`).
   */
  budget?: Budget;
  /** What a `lockdown` rule does when it fires (`for`, `mode`, `endSession`, the window it counts over). */
  lockdown?: RuleLockdown;
  /** The file the rule came from, as given in `RuleFile.path`. */
  file: string;
  /**
   * The event types the rule can match, when its top-level `all` pins `$.type` with `equal` or
   * `in`; `undefined` means any type.
   */
  eventTypes?: readonly string[];
  /** The json-rules-engine rule (`name`, `priority`, `conditions`, `event`); never mutated. */
  definition: unknown;
}

/** One `ruleHits` fact a rule reads: how often rule `rule` fired for this participant within the window. */
export interface RuleHitSpec {
  rule: string;
  windowSeconds: number;
}

/**
 * What the counters must compute for an event of one type: the counters, strike windows and rule
 * hit counts read by the rules that can match that type, plus every counter of that type (each
 * event of a type is recorded in its counters whichever rules read them).
 */
export interface CounterPlan {
  counterSpecs: readonly CounterSpec[];
  strikeWindows: readonly number[];
  ruleHits: readonly RuleHitSpec[];
}

/** A validated, immutable set of rules with what the counters must provide for it. */
export interface RuleSet {
  /** Short sha256 of the sorted rule files and lists; changes whenever the folder does. */
  version: string;
  rules: readonly CompiledRule[];
  /** The `eventCount` counters that rules in `enforce`/`shadow` mode read, deduplicated. */
  counterSpecs: readonly CounterSpec[];
  /** The `strikes` windows (seconds) that rules in `enforce`/`shadow` mode read, deduplicated. */
  strikeWindows: readonly number[];
  /** The `ruleHits` facts that rules in `enforce`/`shadow` mode read, deduplicated. */
  ruleHitSpecs: readonly RuleHitSpec[];
  /**
   * The rules whose hits are counted (named by a `ruleHits` fact), each with how long its hits
   * are kept (seconds): its longest window, an hour at least, as strikes are.
   */
  countedRules: ReadonlyMap<string, number>;
  /** Per event type named by a rule or a counter; other types use `defaultCounterPlan`. */
  counterPlans: ReadonlyMap<string, CounterPlan>;
  /** The plan of an event type no rule pins and no counter counts (only type-agnostic rules). */
  defaultCounterPlan: CounterPlan;
  /** Lists from `rules/lists/*.txt`. */
  fileLists: ReadonlyMap<string, readonly string[]>;
  /**
   * Every list named by an evaluated rule (`inList`, `notInList`, `containsWord {list}`), sorted.
   * A list missing from `fileLists` is not an error (it may live in Redis); callers warn about it.
   */
  referencedLists: readonly string[];
}

/** Named value lists as the operators see them. */
export interface ListSource {
  has(list: string, value: string): boolean;
  /**
   * Every value of the list ([] when unknown). Returning the same array instance while the list is
   * unchanged makes `containsWord`'s cache check free (otherwise it compares the values).
   */
  values(list: string): readonly string[];
  exists(list: string): boolean;
}

/** Counter values precomputed for one event, so that evaluation does no I/O. */
export interface EvaluationFacts {
  /** Key = `counterKey(spec)`; a missing key reads as 0. */
  eventCounts: Readonly<Record<string, number>>;
  /** Key = `String(windowSeconds)`; a missing key reads as 0. */
  strikes: Readonly<Record<string, number>>;
  /**
   * Key = `ruleHitsKey(spec)`: hits of earlier events (this event's own are added by the
   * evaluator, from the rules that fired on it); a missing key reads as 0.
   */
  ruleHits?: Readonly<Record<string, number>>;
}

/** One rule that fired for an event. */
export interface RuleHit {
  rule: string;
  mode: 'enforce' | 'shadow';
  action: RuleAction;
  reason: string;
  priority: number;
}

/** The counters and strike windows to compute for an event of `type` (see `CounterPlan`). */
export function counterPlanFor(ruleSet: Pick<RuleSet, 'counterPlans' | 'defaultCounterPlan'>, type: string): CounterPlan {
  return ruleSet.counterPlans.get(type) ?? ruleSet.defaultCounterPlan;
}

/** Strikes are kept at least an hour, so a reload that adds a longer strike window finds them. */
export const MIN_STRIKE_RETENTION_SECONDS = 3600;

/**
 * How long strikes are kept (seconds) for the strike windows in use: the worker and the in-memory
 * counters trim alike, so `rules test` and backtests count exactly what Redis counts.
 */
export function strikeRetentionSeconds(strikeWindows: readonly number[]): number {
  return Math.max(MIN_STRIKE_RETENTION_SECONDS, ...strikeWindows);
}

/** The key of a `ruleHits` fact in `EvaluationFacts.ruleHits`, e.g. `link-in-chat:60`. */
export function ruleHitsKey(spec: RuleHitSpec): string {
  return `${spec.rule}:${spec.windowSeconds}`;
}

/** How long hits of a counted rule are kept (seconds), for the windows that read them. */
export function ruleHitRetentionSeconds(windows: readonly number[]): number {
  return Math.max(MIN_STRIKE_RETENTION_SECONDS, ...windows);
}

/** `AUTOMOD_CLOCK_SKEW_SECONDS`' default: how far an event's time may be from its receipt. */
export const DEFAULT_CLOCK_SKEW_SECONDS = 300;

/** The key of a counter in `EvaluationFacts.eventCounts`, e.g. `participant:chat-message:10`. */
export function counterKey(spec: CounterSpec): string {
  return `${spec.scope}:${spec.type}:${spec.windowSeconds}`;
}
