import { parseDuration } from '../shared/duration.js';
import { UsageError } from '../shared/errors.js';

/** `meeting`: one meetingId (roomId); `all`: every meeting of the account. */
export type BanScope = 'meeting' | 'all';
export const BAN_SCOPES: readonly BanScope[] = ['meeting', 'all'];

/** Longest ban that is not permanent: a longer one is almost always a typo (`7000d`). */
export const MAX_BAN_MS = 365 * 86_400_000;

/**
 * Reads a ban duration: `"10m"`, `"24h"`, `"7d"` (also `s`), or `"permanent"` (answered as
 * `null`). Zero, negative, unparsable and longer than 365 days are refused, naming `name`.
 */
export function parseBanDuration(value: unknown, name: string): number | null {
  const text = typeof value === 'string' ? value.trim() : undefined;
  if (text === 'permanent') return null;
  const hint = 'a duration like "10m", "24h", "7d" or "permanent"';
  // A negative duration is read as one, so that the refusal says what is wrong with it.
  const negative = text?.startsWith('-') === true;
  const ms = text === undefined ? undefined : parseDuration(negative ? text.slice(1) : text);
  if (ms === undefined) throw new UsageError(`${name} must be ${hint}, got ${JSON.stringify(value)}`);
  if (negative || ms === 0) throw new UsageError(`${name} must be longer than zero, got "${text}"`);
  if (ms > MAX_BAN_MS) throw new UsageError(`${name} must be at most 365 days (or "permanent"), got "${text}"`);
  return ms;
}

/** Reads a ban scope; refuses anything but `meeting` and `all`, naming `name`. */
export function parseBanScope(value: unknown, name: string): BanScope {
  if (value === 'meeting' || value === 'all') return value;
  throw new UsageError(`${name} must be "meeting" or "all", got ${JSON.stringify(value)}`);
}

/** What a `remove-participant` rule's params say about banning. */
export interface RuleBan {
  /** Milliseconds, or null for permanent. */
  forMs: number | null;
  /** The text as written (`"24h"`), for records. */
  for: string;
  scope: BanScope;
  /** Whether the rule may ban a host. */
  hosts: boolean;
}

/**
 * The ban a rule's `event.params` ask for (undefined when no `banFor`), with each problem
 * reported at its JSON path. `banScope` and `banHosts` without `banFor` are reported too: they
 * would silently do nothing.
 */
export function ruleBanOf(
  params: Readonly<Record<string, unknown>>,
  action: string,
  report?: (path: string, message: string) => void,
): RuleBan | undefined {
  const { banFor, banScope, banHosts } = params;
  const problem = (path: string, message: string): undefined => {
    report?.(`$.event.params.${path}`, message);
    return undefined;
  };
  if (banFor === undefined) {
    if (banScope !== undefined) problem('banScope', 'needs "banFor"');
    if (banHosts !== undefined) problem('banHosts', 'needs "banFor"');
    return undefined;
  }
  if (action !== 'remove-participant') return problem('banFor', 'only a "remove-participant" rule can ban');
  let forMs: number | null;
  let scope: BanScope = 'meeting';
  let ok = true;
  try {
    forMs = parseBanDuration(banFor, 'banFor');
  } catch (err) {
    problem('banFor', (err as Error).message.replace(/^banFor /, ''));
    forMs = null;
    ok = false;
  }
  if (banScope !== undefined) {
    try {
      scope = parseBanScope(banScope, 'banScope');
    } catch (err) {
      problem('banScope', (err as Error).message.replace(/^banScope /, ''));
      ok = false;
    }
  }
  if (banHosts !== undefined && typeof banHosts !== 'boolean') {
    problem('banHosts', `must be true or false, got ${JSON.stringify(banHosts)}`);
    ok = false;
  }
  if (!ok) return undefined;
  if (banHosts === true && scope === 'all') {
    // One bad rule would then ban a meeting's hosts from every meeting, for as long as it says.
    return problem('banHosts', 'a rule cannot ban hosts from every meeting: "banHosts": true needs "banScope": "meeting"');
  }
  return { forMs, for: String(banFor).trim(), scope, hosts: banHosts === true };
}
