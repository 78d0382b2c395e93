/**
 * What a `matchesPattern` pattern may cost, so that no rule can stall a worker: RE2 searches in
 * time linear in the text, but the factor is the pattern's program, which a bounded repetition
 * (`(a|.){0,1000}`) multiplies. `rules check` checks both limits; a worker checks the program size
 * only (a machine busy when rules load only adds time), and yields while it evaluates.
 */

/** Longest chat text a pattern searches (`EVENT_LIMITS.textLength`). */
export const PATTERN_TEXT_CHARS = 64 * 1024;

/** Most instructions in a pattern's compiled program (checked without a clock, always). */
export const MAX_PATTERN_PROGRAM = 2000;

/**
 * Most milliseconds a pattern may take to search a 64 KB hostile text, as measured when the rules
 * load (the slowest of the probe texts). A worker yields between rules and between events, so a pattern
 * under the budget never holds it long enough to miss a health check or lose a job's lock.
 */
export const PATTERN_BUDGET_MS = 200;
