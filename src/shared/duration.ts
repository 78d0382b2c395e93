/** Milliseconds per unit of a written duration. */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export type DurationUnit = keyof typeof UNIT_MS;

/**
 * Milliseconds in a duration written as a whole number and a unit: `90s`, `15m`, `24h`, `7d`, and
 * `500ms` where `units` allows it. A leading `-` is read (as a negative duration) so that a caller
 * can answer "must be longer than zero" instead of "not a duration". Undefined for anything else.
 */
export function parseDuration(text: string, units: readonly DurationUnit[] = ['s', 'm', 'h', 'd']): number | undefined {
  const match = /^(-?\d+)(ms|s|m|h|d)$/.exec(text.trim());
  const unit = match?.[2] as DurationUnit | undefined;
  if (match === null || unit === undefined || !units.includes(unit)) return undefined;
  return Number(match[1]) * UNIT_MS[unit];
}
