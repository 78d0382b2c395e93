import type { Job, Queue } from 'bullmq';
import type { ApiAttemptRecord } from '../store/audit.js';
import type { JobOutcomeStore } from '../store/job-outcomes.js';
import type { PauseInfo, PauseState } from '../store/pause-state.js';
import type { RedisClient } from '../store/redis.js';
import type { RuleBudgets, TrippedRule } from '../store/rule-budgets.js';
import type { RemovalJobData } from './removal-job.js';

/** How far back `automod status` and `/readyz` count failed removals as news (one hour). */
export const RECENT_FAILURES_MS = 3_600_000;

/** Jobs looked at, of the delayed ones (to find those waiting for another try) and of the failed ones. */
const SAMPLE = 100;

/** The last VideoSDK call made for a job, as `automod job ID` lists it. */
export interface LastCall {
  jobId: string;
  /** `POST remove 500`, `GET get-session timeout`. */
  call: string;
  /** ISO time of the call. */
  at: string;
}

/** What is in the way of removals now, for `automod status`, `/readyz` and the console. */
export interface RemovalHealth {
  /** The recorded pause, or `unrecorded` when the queue is paused with no reason in Redis. */
  paused: PauseInfo | { kind: 'unrecorded'; reason: string } | undefined;
  /** The end of a `Retry-After` hold in force (ISO). */
  rateLimitedUntil: string | undefined;
  /** Jobs waiting out a backoff after a failed try (`atLeast`: more delayed jobs than were looked at). */
  retrying: { count: number; atLeast: boolean; last: (LastCall & { error: string }) | undefined };
  /** Jobs failed within `RECENT_FAILURES_MS` (tries exhausted, or an error no try could change; not `rejected`). */
  failedRecently: { count: number; atLeast: boolean; since: string; last: (LastCall & { error: string }) | undefined };
  /** Rules past their removal budget: their hits are held for review. */
  tripped: TrippedRule[];
}

/** What `readRemovalHealth` reads. */
export interface RemovalHealthDeps {
  queue: Queue<RemovalJobData>;
  /** Reads the queue's failed set (BullMQ offers no count by finish time). */
  redis: RedisClient;
  outcomes: JobOutcomeStore;
  pause: PauseState;
  /** Absent where nothing counts budgets (tests of the removals alone). */
  budgets?: Pick<RuleBudgets, 'tripped'> | undefined;
}

/**
 * Reads what stands between the queue and removals being made: a pause, a `Retry-After` hold,
 * jobs retrying after failed tries (with the last call they made), jobs failed within the hour,
 * tripped rules. A few commands and a bounded sample of jobs: cheap enough for a readiness probe.
 */
export async function readRemovalHealth(deps: RemovalHealthDeps, now: number): Promise<RemovalHealth> {
  const { queue, outcomes, pause, redis } = deps;
  const since = now - RECENT_FAILURES_MS;
  const [recorded, queuePaused, limitedUntil, delayed, failedIds, tripped] = await Promise.all([
    pause.get(),
    queue.isPaused(),
    pause.rateLimitedUntil(now),
    queue.getJobs(['delayed'], 0, SAMPLE - 1, true),
    // BullMQ scores its failed set by the time each job finished: the newest first.
    redis.zrevrangebyscore(queue.keys.failed!, '+inf', since, 'LIMIT', 0, SAMPLE),
    deps.budgets?.tripped() ?? [],
  ]);
  const retrying = delayed.filter((job): job is Job<RemovalJobData> => job?.id !== undefined && job.attemptsMade > 0);
  // A removal VideoSDK rejected (a 404 session, a 400) is an answer, not a failure of the system.
  const failedOutcomes = await Promise.all(failedIds.map((id) => outcomes.getOutcome(id)));
  const failed = failedIds.filter((_, i) => failedOutcomes[i]?.outcome !== 'rejected');
  // The retrying job that ran last tells the latest answer.
  const latest = retrying.reduce<Job | undefined>(
    (a, b) => (a === undefined || (b.processedOn ?? 0) > (a.processedOn ?? 0) ? b : a),
    undefined,
  );
  const lastOf = async (job: Job | undefined) => {
    if (!job?.id) return undefined;
    const attempt = (await outcomes.attempts(job.id)).at(-1);
    const error = (await outcomes.getOutcome(job.id))?.message ?? job.failedReason ?? '';
    return { ...lastCall(job.id, attempt, job), error };
  };
  return {
    paused:
      recorded ??
      (queuePaused
        ? { kind: 'unrecorded', reason: 'the removals queue is paused without a recorded reason (from the dashboard?)' }
        : undefined),
    rateLimitedUntil: limitedUntil === undefined ? undefined : new Date(limitedUntil).toISOString(),
    retrying: { count: retrying.length, atLeast: delayed.length >= SAMPLE, last: await lastOf(latest) },
    failedRecently: {
      count: failed.length,
      atLeast: failedIds.length >= SAMPLE,
      since: new Date(since).toISOString(),
      last: failed[0] === undefined ? undefined : await lastOf(await queue.getJob(failed[0])),
    },
    tripped,
  };
}

/** `POST remove 500` from the job's last recorded call, else when BullMQ last ran it. */
function lastCall(jobId: string, attempt: ApiAttemptRecord | undefined, job: Job): LastCall {
  if (attempt) {
    return {
      jobId,
      call: `${attempt.method} ${attempt.operation} ${attempt.status ?? attempt.error ?? '?'}`,
      at: new Date(attempt.at).toISOString(),
    };
  }
  return { jobId, call: 'no VideoSDK call recorded', at: new Date(job.processedOn ?? job.timestamp).toISOString() };
}

/**
 * The sentences that name each trouble, as `automod status` lists them (and `/readyz` warns of
 * them); empty when removals are running freely.
 */
export function removalProblems(health: RemovalHealth): string[] {
  const problems: string[] = [];
  if (health.paused) {
    problems.push(
      health.paused.kind === 'unrecorded'
        ? `removals are paused: ${health.paused.reason}; automod resume starts them`
        : `removals are paused (${health.paused.kind}) since ${health.paused.at}: ${health.paused.reason}`,
    );
  }
  if (health.rateLimitedUntil) {
    problems.push(`removals are held by VideoSDK's Retry-After until ${health.rateLimitedUntil} (every worker waits)`);
  }
  const { retrying, failedRecently } = health;
  if (retrying.count > 0) {
    const last = retrying.last;
    problems.push(
      `removals are failing: ${retrying.atLeast ? 'at least ' : ''}${retrying.count} waiting to try again after a failed try` +
        (last ? `; last: ${last.call} at ${last.at} (job ${last.jobId}${last.error ? `: ${last.error}` : ''})` : ''),
    );
  }
  if (failedRecently.count > 0) {
    const last = failedRecently.last;
    problems.push(
      `${failedRecently.atLeast ? 'at least ' : ''}${failedRecently.count} removal(s) failed in the last hour` +
        (last ? `; last: ${last.call} at ${last.at} (job ${last.jobId}${last.error ? `: ${last.error}` : ''})` : '') +
        '; see automod jobs --state failed, then automod replay',
    );
  }
  for (const t of health.tripped) {
    problems.push(
      `rule ${t.rule} tripped at ${t.at} past its budget ${t.budget}: its hits are held for review until ${t.until} or automod rules rearm ${t.rule}`,
    );
  }
  return problems;
}
