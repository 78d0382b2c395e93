import { UsageError } from './errors.js';

const UNIT_MS = { m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** Longest ban that is not `permanent`. */
export const MAX_BAN_MS = 365 * UNIT_MS.d;

/**
 * Reads a ban duration as the bans feature writes it: `10m`, `24h`, `7d` or `permanent`. Answers
 * milliseconds, or `null` for permanent; throws `UsageError` naming `name` for anything else or
 * for more than 365 days.
 */
export function parseBanDuration(value: string, name: string): number | null {
  const text = value.trim();
  if (text === 'permanent') return null;
  const match = /^([1-9]\d{0,6})([mhd])$/.exec(text);
  if (!match) throw new UsageError(`${name} must be a duration like 10m, 24h or 7d, or "permanent", got "${value.slice(0, 40)}"`);
  const ms = Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS];
  if (ms > MAX_BAN_MS) throw new UsageError(`${name} must be at most 365d (or "permanent"), got "${text}"`);
  return ms;
}
