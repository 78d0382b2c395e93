import { ALL_DURATION_UNITS, parseDuration } from './duration.js';
import { UsageError } from './errors.js';

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
  const back = parseDuration(text, ALL_DURATION_UNITS);
  if (back !== undefined) return now - back;
  if (/^\d+$/.test(text)) return Number(text);
  const time = text === '' ? Number.NaN : new Date(text).getTime();
  if (Number.isNaN(time)) throw new UsageError(`${name} must be an ISO time, epoch milliseconds or a duration like 24h, got "${value}"`);
  return time;
}
