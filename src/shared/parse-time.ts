import { UsageError } from './errors.js';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

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
  const duration = /^(\d+)(ms|s|m|h|d)$/.exec(text);
  if (duration) return now - Number(duration[1]) * UNIT_MS[duration[2] as keyof typeof UNIT_MS];
  if (/^\d+$/.test(text)) return Number(text);
  const time = text === '' ? Number.NaN : new Date(text).getTime();
  if (Number.isNaN(time)) throw new UsageError(`${name} must be an ISO time, epoch milliseconds or a duration like 24h, got "${value}"`);
  return time;
}
