import type { Job } from 'bullmq';
import type { Queues } from '../queues.js';
import type { JobOutcomeStore } from '../store/job-outcomes.js';

/** A job as `GET /v1/jobs/:id` and `automod jobs --json` show it (public contract). */
export interface JobView {
  id: string;
  queue: string;
  state: string;
  attemptsMade: number;
  outcome: string | null;
  detail: { status?: number; message?: string };
  data: unknown;
  createdAt: string;
  finishedAt: string | null;
}

/** Looks a job up in the removals queue, then in the events queue; undefined when neither has it. */
export async function describeJob(queues: Queues, outcomes: JobOutcomeStore, id: string): Promise<JobView | undefined> {
  for (const queue of [queues.removals, queues.events]) {
    const job = await queue.getJob(id);
    if (job) return viewJob(job, await job.getState(), queue.name, queue === queues.removals ? outcomes : undefined);
  }
  return undefined;
}

/** The view of one job whose state is known (listing many jobs reads states per list). */
export async function viewJob(job: Job, state: string, queue: string, outcomes: JobOutcomeStore | undefined): Promise<JobView> {
  const recorded = outcomes && job.id ? await outcomes.getOutcome(job.id) : undefined;
  const detail: JobView['detail'] = {};
  if (recorded?.status !== undefined) detail.status = recorded.status;
  if (recorded?.message !== undefined) detail.message = recorded.message;
  if (!recorded && state === 'failed' && job.failedReason) detail.message = job.failedReason;
  return {
    id: job.id ?? '',
    queue,
    state,
    attemptsMade: job.attemptsMade,
    outcome: recorded?.outcome ?? null,
    detail,
    data: job.data,
    createdAt: new Date(job.timestamp).toISOString(),
    finishedAt: job.finishedOn ? new Date(job.finishedOn).toISOString() : null,
  };
}
