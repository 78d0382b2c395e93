/**
 * Delay before the next try of a removal: exponential from `baseMs`, capped at `maxMs`, with
 * "equal jitter" (half fixed, half random) so retries of many jobs after one outage spread out
 * instead of arriving together. A server's `Retry-After` is a floor, never shortened.
 */
export function computeBackoff(
  attemptsMade: number,
  options: { baseMs: number; maxMs: number; retryAfterMs?: number | undefined; random?: () => number },
): number {
  const random = options.random ?? Math.random;
  const exponent = Math.max(0, attemptsMade - 1);
  const ceiling = Math.min(options.maxMs, options.baseMs * 2 ** Math.min(exponent, 30));
  const delay = Math.round(ceiling / 2 + random() * (ceiling / 2));
  return Math.max(delay, options.retryAfterMs ?? 0);
}
