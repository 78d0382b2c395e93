import { UsageError } from '../shared/errors.js';

/** Parses a `--limit` value; `max` caps it. */
export function parseLimit(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--limit must be a whole number from 1 to ${max}, got "${value}"`);
  return n;
}

/** Parses a number of seconds (`--timeout`), 0 meaning no limit. */
export function parseSeconds(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a number of seconds (0 = no limit), got "${value}"`);
  return n;
}
