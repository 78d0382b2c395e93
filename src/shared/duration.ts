/** Milliseconds per unit of a written duration. */
const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

export type DurationUnit = keyof typeof UNIT_MS;

/** Every unit, milliseconds included (`250ms`), for the readers that take them. */
export const ALL_DURATION_UNITS: readonly DurationUnit[] = ['ms', 's', 'm', 'h', 'd'];

/**
 * Milliseconds in a duration written as a whole number and a unit: `90s`, `15m`, `24h`, `7d`, and
 * `250ms` where `units` allows it. Undefined for anything else, a negative duration included.
 */
export function parseDuration(text: string, units: readonly DurationUnit[] = ['s', 'm', 'h', 'd']): number | undefined {
  const match = /^(\d+)(ms|s|m|h|d)$/.exec(text.trim());
  const unit = match?.[2] as DurationUnit | undefined;
  if (match === null || unit === undefined || !units.includes(unit)) return undefined;
  return Number(match[1]) * UNIT_MS[unit];
}
