import type { Job, Queue } from 'bullmq';
import { z } from 'zod';
import type { AuditStore } from '../store/audit.js';
import type { JobOutcomeStore } from '../store/job-outcomes.js';
import type { RemovalClaims } from '../store/removal-claims.js';
import type { RemovalJobData } from './removal-job.js';

const time = z.union([z.string(), z.number()]).transform((value, ctx) => {
  const ms = typeof value === 'number' ? value : /^\d+$/.test(value) ? Number(value) : new Date(value).getTime();
  if (Number.isNaN(ms)) {
    ctx.addIssue({ code: 'custom', message: 'must be an ISO time or epoch milliseconds' });
    return z.NEVER;
  }
  return ms;
});

/** Filters of `automod replay` and `POST /v1/replay`. */
export const replayFilterSchema = z
  .object({
    state: z.enum(['failed', 'delayed']).default('failed'),
    sessionId: z.string().max(200).optional(),
    participantId: z.string().max(200).optional(),
    rule: z.string().max(200).optional(),
    /** HTTP status of the last failed try (e.g. 503), as recorded with the outcome. */
    status: z.coerce.number().int().min(100).max(599).optional(),
    jobId: z.union([z.string(), z.array(z.string())]).optional(),
    since: time.optional(),
    until: time.optional(),
    dryRun: z.boolean().default(false),
    limit: z.coerce.number().int().min(1).max(100_000).default(10_000),
  })
  .strict();
export type ReplayFilter = z.infer<typeof replayFilterSchema>;

export interface ReplayItem {
  jobId: string;
  sessionId: string;
  participantId: string;
  rule?: string;
  previousOutcome: string | null;
  status?: number;
}

export interface ReplayResult {
  dryRun: boolean;
  replayed: ReplayItem[];
  /** Matching jobs left alone, with why (another removal of the same participant is pending). */
  skipped: (ReplayItem & { why: string })[];
}

const PAGE = 500;

/**
 * Re-runs failed (or stuck delayed) removals. Each replayed job checks the session before sending,
 * so replaying twice never removes twice: a participant already gone ends as `already-gone`.
 * Failed jobs start again with a fresh attempt count.
 */
export async function replayRemovals(
  filter: ReplayFilter,
  deps: { queue: Queue<RemovalJobData>; claims: RemovalClaims; outcomes: JobOutcomeStore; audit: AuditStore; now?: () => number },
): Promise<ReplayResult> {
  const now = deps.now ?? Date.now;
  const result: ReplayResult = { dryRun: filter.dryRun, replayed: [], skipped: [] };
  const jobIds = filter.jobId === undefined ? undefined : new Set(Array.isArray(filter.jobId) ? filter.jobId : [filter.jobId]);
  const matches: { job: Job<RemovalJobData>; item: ReplayItem }[] = [];

  // Collect first, then act: retrying while paging would shift the pages.
  for (let start = 0; matches.length < filter.limit; start += PAGE) {
    const page = (filter.state === 'failed'
      ? await deps.queue.getFailed(start, start + PAGE - 1)
      : await deps.queue.getDelayed(start, start + PAGE - 1)) as Job<RemovalJobData>[];
    if (page.length === 0) break;
    for (const job of page) {
      if (!job?.id || matches.length >= filter.limit) continue;
      const data = job.data;
      if (jobIds && !jobIds.has(job.id)) continue;
      if (filter.sessionId && data.sessionId !== filter.sessionId) continue;
      if (filter.participantId && data.participantId !== filter.participantId) continue;
      if (filter.rule && data.rule !== filter.rule) continue;
      const at = job.finishedOn ?? job.processedOn ?? job.timestamp;
      if (filter.since !== undefined && at < filter.since) continue;
      if (filter.until !== undefined && at > filter.until) continue;
      const outcome = await deps.outcomes.getOutcome(job.id);
      if (filter.status !== undefined && outcome?.status !== filter.status) continue;
      const item: ReplayItem = {
        jobId: job.id,
        sessionId: data.sessionId,
        participantId: data.participantId,
        ...(data.rule ? { rule: data.rule } : {}),
        previousOutcome: outcome?.outcome ?? null,
        ...(outcome?.status !== undefined ? { status: outcome.status } : {}),
      };
      matches.push({ job, item });
    }
    if (page.length < PAGE) break;
  }

  for (const { job, item } of matches) {
    if (filter.dryRun) {
      result.replayed.push(item);
      continue;
    }
    if (filter.state === 'failed') {
      const claim = await deps.claims.claim(item.sessionId, item.participantId, item.jobId, { force: true });
      if (!claim.claimed && claim.existingJobId !== item.jobId) {
        result.skipped.push({ ...item, why: `removal job ${claim.existingJobId} for this participant is pending` });
        continue;
      }
      // The replay starts from what VideoSDK says now, not from what earlier tries sent.
      await deps.outcomes.clear(item.jobId);
      await job.updateData({ ...job.data, verifyFirst: true });
      await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    } else {
      await job.updateData({ ...job.data, verifyFirst: true });
      await job.promote();
    }
    await deps.audit.append({
      at: new Date(now()).toISOString(),
      kind: 'replay',
      jobId: item.jobId,
      sessionId: item.sessionId,
      participantId: item.participantId,
      ...(item.rule ? { rule: item.rule } : {}),
      outcome: 'queued',
      detail: { previousOutcome: item.previousOutcome, state: filter.state },
    });
    result.replayed.push(item);
  }
  return result;
}
