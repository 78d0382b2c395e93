import { setTimeout as wait } from 'node:timers/promises';

/**
 * Resolves after `ms`, or as soon as `signal` aborts: a poll loop that is told to stop wakes at
 * once and checks its signal itself, so an abort never surfaces as an error here.
 */
export async function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  await wait(ms, undefined, { signal }).catch((err: unknown) => {
    if (!signal?.aborted) throw err;
  });
}
