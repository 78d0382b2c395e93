/**
 * Orders strings by code unit, as `<` does: unlike `localeCompare` it is the same on every machine
 * and locale, so sorted output, and the hashes and reports built from it, are too.
 */
export function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
