import { wallClockMs } from './stats.js';
import { sleep } from '../shared/sleep.js';

/** What a paced run did. */
export interface PacedRun {
  sent: number;
  /** Wall-clock duration of the sending. */
  durationMs: number;
  /** Largest delay of a send behind its schedule (the producer itself falling behind). */
  maxLagMs: number;
}

/**
 * Calls `send(i)` at `ratePerSec` for `durationMs`, each call on its own schedule slot (i / rate)
 * rather than in batches, so queues see a steady trickle like real meetings produce. Sends are not
 * awaited one by one (a slow add must not hold back the next); every one is awaited before the end.
 */
export async function runPaced(options: { ratePerSec: number; durationMs: number; send: (i: number) => Promise<void> }): Promise<PacedRun> {
  const total = Math.round((options.ratePerSec * options.durationMs) / 1000);
  const intervalMs = 1000 / options.ratePerSec;
  const pending = new Set<Promise<void>>();
  const errors: unknown[] = [];
  const start = wallClockMs();
  let next = 0;
  let maxLagMs = 0;
  while (next < total) {
    const now = wallClockMs();
    while (next < total && start + next * intervalMs <= now) {
      maxLagMs = Math.max(maxLagMs, now - (start + next * intervalMs));
      const p = options.send(next).catch((err: unknown) => {
        errors.push(err);
      });
      pending.add(p);
      void p.finally(() => pending.delete(p));
      next += 1;
    }
    if (next < total) {
      // setTimeout(1) wakes about every millisecond: one send per wake at 1,000/s.
      const wait = start + next * intervalMs - wallClockMs();
      await sleep(Math.max(0, Math.min(wait, 5)));
    }
  }
  await Promise.all(pending);
  if (errors.length > 0) throw errors[0];
  return { sent: total, durationMs: wallClockMs() - start, maxLagMs };
}
