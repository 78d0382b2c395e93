import type { Queue } from 'bullmq';
import type { Notify } from '../notify/notifications.js';
import type { AuditStore } from '../store/audit.js';
import type { PauseInfo, PauseState } from '../store/pause-state.js';

/** What pausing and resuming removals touch: the recorded pause, the queue, the audit trail, the receivers. */
export interface PauseDeps {
  pause: PauseState;
  removals: Pick<Queue, 'pause' | 'resume' | 'isPaused' | 'getJobCounts'>;
  audit: Pick<AuditStore, 'append'>;
  notify: Notify;
}

/**
 * Pauses removals on purpose, on every worker: records why (every worker and `/readyz` show it) and
 * pauses the removals queue in Redis; running removals finish. Events are still processed and rule
 * hits still queue removals, which wait. Only a resume (`automod resume`, `POST /v1/resume`) undoes it.
 */
export async function pauseRemovals(
  deps: PauseDeps,
  request: { reason: string; by: string; at: string },
): Promise<{ pause: PauseInfo; wasPaused: PauseInfo | undefined; waiting: number }> {
  const before = await deps.pause.get();
  const pause: PauseInfo = { reason: request.reason, kind: 'operator', at: request.at };
  await deps.pause.set(pause);
  await deps.removals.pause();
  await deps.audit.append({ at: request.at, kind: 'pause', reason: request.reason, requestedBy: request.by });
  await deps.notify('removals.paused', { pause: { ...pause, by: request.by } }, `Removals paused by ${request.by}: ${request.reason}`);
  return { pause, wasPaused: before, waiting: sum(await deps.removals.getJobCounts('waiting', 'prioritized', 'delayed')) };
}

/** Clears the recorded pause, whatever its kind, and resumes the removals queue. */
export async function resumeRemovals(
  deps: PauseDeps,
  request: { by: string; at: string },
): Promise<{ wasPaused: PauseInfo | undefined; queueWasPaused: boolean; waiting: number }> {
  const was = await deps.pause.get();
  const queuePaused = await deps.removals.isPaused();
  const waiting = sum(await deps.removals.getJobCounts('waiting', 'prioritized', 'delayed'));
  await deps.pause.clear();
  await deps.removals.resume();
  await deps.audit.append({
    at: request.at,
    kind: 'resume',
    reason: was?.reason ?? (queuePaused ? 'queue paused without a recorded reason' : 'not paused'),
    requestedBy: request.by,
  });
  if (was || queuePaused)
    await deps.notify('removals.resumed', { resume: { by: request.by, wasPaused: was ?? null } }, `Removals resumed by ${request.by}`);
  return { wasPaused: was, queueWasPaused: queuePaused, waiting };
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}
