import type { Job, Queue } from 'bullmq';
import { wallClockMs } from './stats.js';
import { sleep } from '../shared/sleep.js';

const PENDING_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'waiting-children'] as const;

/** Jobs not finished yet (waiting, active, delayed, ...). */
export async function pendingJobs(queue: Queue): Promise<number> {
  const counts = await queue.getJobCounts(...PENDING_STATES);
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** How a drain ended. */
export interface Drained {
  /** When the last job finished: the newest `finishedOn` of the completed jobs kept. */
  finishedAt: number;
  failed: number;
}

/**
 * Waits until `queue` has nothing pending, polling every `pollMs`. The end time is read from the
 * jobs themselves (the newest `finishedOn` among the completed jobs that retention keeps), so the
 * polling interval does not blur it.
 */
export async function waitForDrain(queue: Queue, options: { timeoutMs: number; pollMs?: number }): Promise<Drained> {
  const deadline = wallClockMs() + options.timeoutMs;
  const pollMs = options.pollMs ?? 20;
  let polledEmptyAt: number | undefined;
  while (polledEmptyAt === undefined) {
    if ((await pendingJobs(queue)) === 0) polledEmptyAt = wallClockMs();
    else if (wallClockMs() > deadline) throw new Error(`queue ${queue.name} did not drain within ${options.timeoutMs} ms`);
    else await sleep(pollMs);
  }
  const recent: Job[] = await queue.getJobs(['completed'], 0, 49, false);
  const newest = Math.max(0, ...recent.map((j) => j.finishedOn ?? 0));
  const failed = (await queue.getJobCounts('failed')).failed ?? 0;
  return { finishedAt: newest > 0 ? newest : polledEmptyAt, failed };
}
