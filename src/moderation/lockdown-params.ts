import { ALL_DURATION_UNITS, parseDuration } from '../shared/duration.js';

/** What a `lockdown` rule does when it fires (its `event.params`). */
export interface RuleLockdown {
  /** How long the meeting stays locked (ms), and as written (`"10m"`). */
  forMs: number;
  for: string;
  /** `closed`: the gate refuses; `ask`: the gate answers `ask_join` (a waiting room). */
  mode: 'closed' | 'ask';
  /** End the meeting's live session through VideoSDK when the lockdown begins. */
  endSession: boolean;
  /**
   * The longest window the rule's `eventCount` conditions count over (ms; 0 without one): the
   * lockdown admits those who first joined before that window began, so a wave does not admit itself.
   */
  windowMs: number;
}

/** Shortest and longest lockdown a rule (or an operator) may ask for. */
export const LOCKDOWN_MIN_MS = 10_000;
export const LOCKDOWN_MAX_MS = 7 * 86_400_000;

/** Reads a lockdown duration (`"10m"`, `"2h"`), bounded; the problem when it is not one. */
export function parseLockdownFor(value: unknown): { ms: number } | { problem: string } {
  const ms = typeof value === 'string' ? parseDuration(value, ALL_DURATION_UNITS) : undefined;
  if (ms === undefined) return { problem: `must be a duration like "10m" or "2h", got ${JSON.stringify(value)}` };
  if (ms < LOCKDOWN_MIN_MS || ms > LOCKDOWN_MAX_MS) return { problem: `must be from 10s to 7d, got ${JSON.stringify(value)}` };
  return { ms };
}

/**
 * The lockdown a rule's `event.params` ask for: `{"for": DURATION, "mode"?: "closed"|"ask",
 * "endSession"?: bool, "reason"?: TEXT}`, each problem reported at its JSON path.
 */
export function ruleLockdownOf(
  params: Readonly<Record<string, unknown>>,
  windowMs: number,
  report: (path: string, message: string) => void,
): RuleLockdown | undefined {
  let ok = true;
  const problem = (path: string, message: string): void => {
    report(`$.event.params.${path}`, message);
    ok = false;
  };
  const known = new Set(['for', 'mode', 'endSession', 'reason']);
  for (const key of Object.keys(params)) if (!known.has(key)) problem(key, `unknown lockdown param (allowed: ${[...known].join(', ')})`);
  const duration =
    params.for === undefined ? { problem: 'is required: how long the meeting stays locked, e.g. "10m"' } : parseLockdownFor(params.for);
  if ('problem' in duration) problem('for', duration.problem);
  const mode = params.mode ?? 'closed';
  if (mode !== 'closed' && mode !== 'ask') problem('mode', `must be "closed" or "ask", got ${JSON.stringify(params.mode)}`);
  if (params.endSession !== undefined && typeof params.endSession !== 'boolean')
    problem('endSession', `must be true or false, got ${JSON.stringify(params.endSession)}`);
  if (!ok || 'problem' in duration) return undefined;
  return {
    forMs: duration.ms,
    for: String(params.for).trim(),
    mode: mode as 'closed' | 'ask',
    endSession: params.endSession === true,
    windowMs,
  };
}
