import type { Job, JobType, Queue } from 'bullmq';
import type { ApiAttemptRecord, AuditStore } from '../store/audit.js';
import type { JobOutcomeStore } from '../store/job-outcomes.js';
import { readRemovalJob, type RemovalJobData } from './removal-job.js';

/** The queues a job id may be on (the removals queue and every events partition). */
export interface JobQueues {
  removals: Queue<RemovalJobData>;
  eventPartitions: Queue[];
}

/** A job as `GET /v1/jobs/:id` and `automod jobs --json` show it (public contract). */
export interface JobView {
  id: string;
  queue: string;
  /** BullMQ's state, except that a waiting job of a paused queue is `paused`. */
  state: string;
  attemptsMade: number;
  outcome: string | null;
  detail: { status?: number; message?: string };
  data: unknown;
  /**
   * Set when a removal job's data is not a removal (a direct producer put anything there): what is
   * wrong with it. Such a job is never replayed; `automod replay --discard-malformed` removes it.
   */
  malformed?: string;
  createdAt: string;
  finishedAt: string | null;
}

/** The states `automod jobs --state` and `GET /v1/jobs?state=` take. */
export const JOB_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed', 'paused'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** What a listing reads when no state is asked for: everything, live jobs first. */
const LISTED_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;
const PAGE = 500;

/** Looks a job up in the removals queue, then in the events queue; undefined when neither has it. */
export async function describeJob(queues: JobQueues, outcomes: JobOutcomeStore, id: string): Promise<JobView | undefined> {
  for (const queue of [queues.removals, ...queues.eventPartitions] as Queue[]) {
    const job = await queue.getJob(id);
    if (!job) continue;
    const state = shownState(await job.getState(), await queue.isPaused());
    return viewJob(job, state, queue.name, queue === (queues.removals as Queue) ? outcomes : undefined);
  }
  return undefined;
}

/**
 * A job's view plus every VideoSDK call made for it (`automod job ID`), oldest first. A replay
 * clears the job's own call list (the replay starts from what VideoSDK says now), so the calls of
 * earlier runs come from the audit trail, where each finished run recorded them.
 */
export async function describeJobWithAttempts(
  queues: JobQueues,
  outcomes: JobOutcomeStore,
  audit: AuditStore,
  id: string,
): Promise<(JobView & { attempts: ApiAttemptRecord[] }) | undefined> {
  const view = await describeJob(queues, outcomes, id);
  if (!view) return undefined;
  if (view.queue !== queues.removals.name) return { ...view, attempts: [] };
  const since = Date.parse(view.createdAt);
  const runs = await audit.query({ kind: 'removal', jobId: id, since, limit: 1000 });
  const seen = new Set<string>();
  const attempts: ApiAttemptRecord[] = [];
  for (const attempt of [...runs.reverse().flatMap((r) => r.attempts ?? []), ...(await outcomes.attempts(id))]) {
    const key = JSON.stringify(attempt);
    if (seen.has(key)) continue;
    seen.add(key);
    attempts.push(attempt);
  }
  attempts.sort((a, b) => a.at - b.at);
  return { ...view, attempts };
}

/** The view of one job whose state is known (listing many jobs reads states per list). */
export async function viewJob(job: Job, state: string, queue: string, outcomes: JobOutcomeStore | undefined): Promise<JobView> {
  const recorded = outcomes && job.id ? await outcomes.getOutcome(job.id) : undefined;
  const detail: JobView['detail'] = {};
  if (recorded?.status !== undefined) detail.status = recorded.status;
  if (recorded?.message !== undefined) detail.message = recorded.message;
  if (!recorded && job.failedReason && state !== 'completed' && (state === 'failed' || job.attemptsMade > 0)) {
    // A job waiting out a backoff (or failed without a recorded outcome): its last try's error,
    // with the status of its last VideoSDK call, so `automod jobs` says why without `automod job ID`.
    detail.message = job.failedReason;
    const status = outcomes && job.id && state !== 'failed' ? (await outcomes.attempts(job.id)).at(-1)?.status : undefined;
    if (status !== undefined) detail.status = status;
  }
  const malformed = outcomes ? readRemovalJob(job.data).malformed : undefined;
  return {
    id: job.id ?? '',
    queue,
    state,
    attemptsMade: job.attemptsMade,
    outcome: recorded?.outcome ?? null,
    detail,
    data: job.data,
    ...(malformed !== undefined ? { malformed } : {}),
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}

/** Filters of a removal job listing. */
export interface JobListFilter {
  state?: JobState | undefined;
  sessionId?: string | undefined;
  /** Most jobs answered. */
  limit: number;
}

/**
 * Removal jobs by state (all live and finished ones when no state is given), optionally of one
 * session. Reads the queue page by page, so a large queue costs time, never memory beyond `limit`.
 */
export async function listJobs(
  queue: Queue,
  outcomes: JobOutcomeStore,
  filter: JobListFilter,
): Promise<{ jobs: JobView[]; truncated: boolean }> {
  // BullMQ keeps the jobs of a paused queue in its waiting list: "paused" means those, while paused.
  const paused = await queue.isPaused();
  const wanted = filter.state;
  const states: readonly JobType[] =
    wanted === 'paused'
      ? paused
        ? ['waiting', 'prioritized']
        : []
      : wanted === 'waiting'
        ? ['waiting', 'prioritized']
        : wanted
          ? [wanted]
          : LISTED_STATES;
  const jobs: JobView[] = [];
  let truncated = false;
  for (const listed of states) {
    const state = shownState(listed, paused);
    for (let start = 0; ; start += PAGE) {
      const page = await queue.getJobs([listed], start, start + PAGE - 1);
      for (const job of page) {
        if (!job?.id) continue;
        if (filter.sessionId !== undefined && readRemovalJob(job.data).data?.sessionId !== filter.sessionId) continue;
        if (jobs.length >= filter.limit) {
          truncated = true;
          break;
        }
        jobs.push(await viewJob(job, state, queue.name, outcomes));
      }
      if (truncated || page.length < PAGE) break;
    }
    if (truncated) break;
  }
  return { jobs, truncated };
}

/** A prioritized job (a bulk list's, behind rules' removals) is shown as what it is: waiting. */
function shownState(state: string, queuePaused: boolean): string {
  if (state !== 'waiting' && state !== 'prioritized') return state;
  return queuePaused ? 'paused' : 'waiting';
}
