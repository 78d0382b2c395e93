import { compare } from '../shared/compare.js';
import type { MeetingEvent } from '../shared/event-schema.js';
import { createEvaluator } from './evaluate.js';
import { createMemoryCounters } from './memory-counters.js';
import type { ListSource, RuleSet } from './types.js';

/** One processed event as the event log holds it: the event and what the live rules decided. */
export interface LoggedDecision {
  /** When the worker processed it (ms since the epoch); the log's order. */
  at: number;
  event: MeetingEvent;
  /** The live hits, highest priority first (as the worker recorded them). */
  hits: readonly { rule: string; mode: string; action: string }[];
  /** The rule-set version that decided. */
  rulesVersion: string;
}

/**
 * What a set of hits does to one participant: `remove` (an enforced removal rule), `flag` (an
 * enforced flag rule) or `shadow` (a shadow rule, whatever it would do).
 */
export type Effect = 'remove' | 'flag' | 'shadow';

/** How the candidate's effect on one participant compares with the live one. */
export type Change = 'new' | 'gone' | 'other-rule' | 'same';

/** One participant of one session, with what each side did to them. */
export interface SubjectDiff {
  sessionId: string;
  /** Absent for session events (no participant): those can only be flagged. */
  participantId?: string;
  effect: Effect;
  change: Change;
  live?: SideEffect;
  candidate?: SideEffect;
}

/** What one side (live or candidate) did to one participant, for one effect. */
export interface SideEffect {
  /** The rules, in the order they first fired; for `remove`, the first is the one that removed. */
  rules: string[];
  /** Hits in all (a rule that fires on three events counts three). */
  hits: number;
  /** The first event that had the effect. */
  firstEventId: string;
  /** Its event time (ISO). */
  firstAt: string;
}

/** Hits of one rule on each side. */
export interface RuleCount {
  rule: string;
  /** Modes the rule had in the live log (several when it changed in the period). */
  liveModes: string[];
  /** Its mode in the candidate; absent when the candidate has no such rule. */
  candidateMode?: string;
  live: { hits: number; participants: number };
  candidate: { hits: number; participants: number };
}

/** The whole comparison. */
export interface BacktestReport {
  candidateVersion: string;
  /** Log entries compared (after `since`, duplicates of an event id dropped). */
  events: number;
  /** Entries before `since` that only filled the counters. */
  warmupEvents: number;
  /** Entries left out: the same event id logged again (a redelivery). */
  duplicates: number;
  /** Entries left out: not a valid event. */
  invalid: number;
  /** Processing time of the first and last compared entry (ISO), when there were any. */
  from?: string;
  to?: string;
  /** Live rule-set versions that made the compared decisions, with how many each. */
  liveVersions: { version: string; events: number }[];
  rules: RuleCount[];
  /** Every participant whose outcome changed, and (with change `same`) those it did not. */
  subjects: SubjectDiff[];
  /** Counts of `subjects` by effect and change. */
  summary: Record<Effect, Record<Change, number>>;
}

/** Options of `runBacktest`. */
export interface BacktestOptions {
  /** Lists for the candidate's `inList`, `notInList` and `containsWord` (files and live lists). */
  lists: ListSource;
  /**
   * Entries processed before this time (ms) only warm the counters and strikes up, so that
   * windows reaching back over the start count what they would have; they are not compared.
   */
  since: number;
}

/**
 * How far back (ms of log time) a repeated event id is recognised as a redelivery: well past the
 * event dedup window's default (`AUTOMOD_DEDUP_SECONDS`, 300 s) and BullMQ's stalled-job takeover.
 */
export const DUPLICATE_HORIZON_MS = 30 * 60_000;

/** Logged decisions in log order; an entry that could not be read is `{invalid: why}`. */
export type DecisionSource = AsyncIterable<LoggedDecision | { invalid: string }> | Iterable<LoggedDecision | { invalid: string }>;

/**
 * Replays logged events, in the order they were processed, through `candidate` with in-memory
 * counters (windows and strikes follow the events' own times), and compares what it would have
 * done with what the live rules did, per participant and per rule. Pure: no side effects, no clock.
 *
 * Differences that are not the candidate's doing are possible: live lists are read as they are
 * now, and someone the candidate removes earlier than the live rules did may have sent later
 * events that would not have happened.
 */
export async function runBacktest(candidate: RuleSet, decisions: DecisionSource, options: BacktestOptions): Promise<BacktestReport> {
  const evaluator = createEvaluator(candidate, { lists: () => options.lists });
  const counters = createMemoryCounters(candidate);
  const modes = new Map(candidate.rules.map((r) => [r.name, r.mode]));
  // Event ids of the last minutes of the log, oldest first: enough to drop a redelivery (which
  // follows within the dedup window), without holding a day of ids.
  const seen = new Map<string, number>();
  const live = createSide();
  const cand = createSide();
  const versions = new Map<string, number>();
  let events = 0;
  let warmupEvents = 0;
  let duplicates = 0;
  let invalid = 0;
  let from: number | undefined;
  let to: number | undefined;

  for await (const entry of decisions) {
    if ('invalid' in entry) {
      invalid++;
      continue;
    }
    const { event } = entry;
    // A redelivered event may be logged twice; the worker counted it once (event ids are unique).
    if (seen.has(event.id)) {
      duplicates++;
      continue;
    }
    seen.set(event.id, entry.at);
    for (const [id, at] of seen) {
      if (at >= entry.at - DUPLICATE_HORIZON_MS) break;
      seen.delete(id);
    }
    const facts = counters.observe(event);
    const hits = await evaluator.evaluate(event, facts);
    counters.recordHits(event, hits);
    if (entry.at < options.since) {
      warmupEvents++;
      continue;
    }
    events++;
    from ??= entry.at;
    to = entry.at;
    versions.set(entry.rulesVersion, (versions.get(entry.rulesVersion) ?? 0) + 1);
    live.add(event, entry.hits);
    cand.add(event, hits);
  }

  const subjects = diffSides(live, cand);
  const summary = emptySummary();
  for (const s of subjects) summary[s.effect][s.change]++;
  const names = [...new Set([...live.perRule.keys(), ...cand.perRule.keys()])].sort(compare);
  const rules: RuleCount[] = names.map((rule) => {
    const l = live.perRule.get(rule);
    const c = cand.perRule.get(rule);
    const mode = modes.get(rule);
    return {
      rule,
      liveModes: [...(l?.modes ?? [])].sort(compare),
      ...(mode === undefined ? {} : { candidateMode: mode }),
      live: { hits: l?.hits ?? 0, participants: l?.subjects.size ?? 0 },
      candidate: { hits: c?.hits ?? 0, participants: c?.subjects.size ?? 0 },
    };
  });
  // Rules the candidate has that never fired on either side belong in the table too.
  for (const r of candidate.rules) {
    if (!names.includes(r.name))
      rules.push({
        rule: r.name,
        liveModes: [],
        candidateMode: r.mode,
        live: { hits: 0, participants: 0 },
        candidate: { hits: 0, participants: 0 },
      });
  }
  rules.sort((a, b) => compare(a.rule, b.rule));

  return {
    candidateVersion: candidate.version,
    events,
    warmupEvents,
    duplicates,
    invalid,
    ...(from === undefined ? {} : { from: new Date(from).toISOString() }),
    ...(to === undefined ? {} : { to: new Date(to).toISOString() }),
    liveVersions: [...versions].map(([version, n]) => ({ version, events: n })).sort((a, b) => b.events - a.events),
    rules,
    subjects,
    summary,
  };
}

/** What one side did, aggregated per participant and per rule. */
interface Side {
  add(event: MeetingEvent, hits: readonly { rule: string; mode: string; action: string }[]): void;
  effects: Map<string, { sessionId: string; participantId?: string; byEffect: Map<Effect, SideEffect> }>;
  perRule: Map<string, { hits: number; subjects: Set<string>; modes: Set<string> }>;
}

function createSide(): Side {
  const effects: Side['effects'] = new Map();
  const perRule: Side['perRule'] = new Map();
  return {
    effects,
    perRule,
    add(event, hits) {
      if (hits.length === 0) return;
      const key = subjectKey(event.sessionId, event.participantId);
      let subject = effects.get(key);
      if (subject === undefined) {
        subject = {
          sessionId: event.sessionId,
          ...(event.participantId === undefined ? {} : { participantId: event.participantId }),
          byEffect: new Map(),
        };
        effects.set(key, subject);
      }
      for (const hit of hits) {
        const effect = effectOf(hit, event);
        let side = subject.byEffect.get(effect);
        if (side === undefined) {
          side = { rules: [], hits: 0, firstEventId: event.id, firstAt: event.timestamp };
          subject.byEffect.set(effect, side);
        }
        // Hits come highest priority first, so a removal's first rule is the one that removed.
        if (!side.rules.includes(hit.rule)) side.rules.push(hit.rule);
        side.hits++;
        let count = perRule.get(hit.rule);
        if (count === undefined) {
          count = { hits: 0, subjects: new Set(), modes: new Set() };
          perRule.set(hit.rule, count);
        }
        count.hits++;
        count.subjects.add(key);
        count.modes.add(hit.mode);
      }
    },
  };
}

/**
 * An enforced removal of an event without a participant removes no one; it is a record only, as
 * the worker treats it (outcome `not-actionable`), so it counts as a flag.
 */
function effectOf(hit: { mode: string; action: string }, event: MeetingEvent): Effect {
  if (hit.mode === 'shadow') return 'shadow';
  return hit.action === 'remove-participant' && event.participantId !== undefined ? 'remove' : 'flag';
}

const EFFECTS: readonly Effect[] = ['remove', 'flag', 'shadow'];

function diffSides(live: Side, cand: Side): SubjectDiff[] {
  const out: SubjectDiff[] = [];
  const keys = [...new Set([...live.effects.keys(), ...cand.effects.keys()])].sort(compare);
  for (const key of keys) {
    const l = live.effects.get(key);
    const c = cand.effects.get(key);
    const who = (l ?? c)!;
    for (const effect of EFFECTS) {
      const ls = l?.byEffect.get(effect);
      const cs = c?.byEffect.get(effect);
      if (ls === undefined && cs === undefined) continue;
      const change: Change = ls === undefined ? 'new' : cs === undefined ? 'gone' : sameRules(effect, ls, cs) ? 'same' : 'other-rule';
      out.push({
        sessionId: who.sessionId,
        ...(who.participantId === undefined ? {} : { participantId: who.participantId }),
        effect,
        change,
        ...(ls ? { live: ls } : {}),
        ...(cs ? { candidate: cs } : {}),
      });
    }
  }
  return out;
}

/** A removal is by the same rule when the first removing rule is; flags and shadow hits compare as sets. */
function sameRules(effect: Effect, a: SideEffect, b: SideEffect): boolean {
  if (effect === 'remove') return a.rules[0] === b.rules[0];
  const sa = new Set(a.rules);
  return sa.size === new Set(b.rules).size && b.rules.every((r) => sa.has(r));
}

function emptySummary(): Record<Effect, Record<Change, number>> {
  const row = (): Record<Change, number> => ({ new: 0, gone: 0, 'other-rule': 0, same: 0 });
  return { remove: row(), flag: row(), shadow: row() };
}

function subjectKey(sessionId: string, participantId: string | undefined): string {
  return `${sessionId}\u0000${participantId ?? ''}`;
}
