import { UsageError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** A duration written `90s`, `15m`, `24h`, `7d` (or `250ms`) in milliseconds; undefined when it is not one. */
export function durationMs(text: string): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  return match ? Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS] : undefined;
}

/**
 * Reads a `since`/`until` value: an ISO time, epoch milliseconds, or a duration back from `now`
 * (`90s`, `15m`, `24h`, `7d`). Throws `UsageError` naming the option when it is none of these.
 */
export function parseTime(value: string | number, name: string, now: number): number {
  if (typeof value === 'number') {
    if (Number.isFinite(value)) return value;
    throw new UsageError(`${name} must be an ISO time, epoch milliseconds or a duration like 24h, got "${value}"`);
  }
  const text = value.trim();
  const duration = durationMs(text);
  if (duration !== undefined) return now - duration;
  if (/^\d+$/.test(text)) return Number(text);
  const time = text === '' ? Number.NaN : new Date(text).getTime();
  if (Number.isNaN(time)) throw new UsageError(`${name} must be an ISO time, epoch milliseconds or a duration like 24h, got "${value}"`);
  return time;
}
