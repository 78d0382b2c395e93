import { ALL_DURATION_UNITS, parseDuration } from './duration.js';

/** A rule's budget: at most `max` removals within `windowMs`, counted across every worker. */
export interface Budget {
  max: number;
  windowMs: number;
}

/** `AUTOMOD_RULE_BUDGET`'s default: a rule may remove 100 participants a minute before it trips. */
export const DEFAULT_RULE_BUDGET: Readonly<Budget> = Object.freeze({ max: 100, windowMs: 60_000 });

const MAX_REMOVALS = 1_000_000;
const MAX_WINDOW_MS = 86_400_000;

/**
 * Reads a budget written `N/DURATION` (`200/60s`, `5000/10m`): undefined with the problem when it
 * is not one. The window runs from 1 s to 24 h; N from 1 to 1,000,000 (a budget that allows
 * everything would be no budget: there is no "unlimited").
 */
export function parseBudget(text: unknown): { budget: Budget } | { problem: string } {
  const hint = 'a budget like "200/60s" (at most 200 removals in 60 seconds; units s, m, h)';
  const match = typeof text === 'string' ? /^\s*(\d+)\s*\/\s*(\S+)\s*$/.exec(text) : null;
  if (!match) return { problem: `must be ${hint}, got ${JSON.stringify(text)}` };
  const max = Number(match[1]);
  const windowMs = parseDuration(match[2]!, ALL_DURATION_UNITS);
  if (windowMs === undefined || windowMs < 1000 || windowMs > MAX_WINDOW_MS)
    return { problem: `must be ${hint}: the window must be from 1s to 24h, got ${JSON.stringify(text)}` };
  if (max < 1 || max > MAX_REMOVALS) return { problem: `must allow from 1 to ${MAX_REMOVALS} removals, got ${JSON.stringify(text)}` };
  return { budget: { max, windowMs } };
}

/** Formats a budget as rules write it (`200/60s`). */
export function formatBudget(budget: Budget): string {
  return `${budget.max}/${Math.round(budget.windowMs / 1000)}s`;
}
