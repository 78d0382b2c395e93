import { randomUUID } from 'node:crypto';
import type { Job, Queue } from 'bullmq';
import { z } from 'zod';
import { parseTime } from '../shared/parse-time.js';
import type { AuditStore } from '../store/audit.js';
import type { JobOutcomeStore } from '../store/job-outcomes.js';
import type { RemovalClaims } from '../store/removal-claims.js';
import { readRemovalJob, type RemovalJobData } from './removal-job.js';

const time = z.union([z.string().max(100), z.number()]);

/** Filters of `automod replay` and `POST /v1/replay`. */
export const replayFilterSchema = z
  .object({
    /** `failed` (attempts exhausted or rejected) or `delayed` (waiting for a backoff or Retry-After). */
    state: z.enum(['failed', 'delayed']).default('failed'),
    sessionId: z.string().max(200).optional(),
    participantId: z.string().max(200).optional(),
    rule: z.string().max(200).optional(),
    /** HTTP status of the last failed try (e.g. 503), as recorded with the outcome. */
    status: z.coerce.number().int().min(100).max(599).optional(),
    jobId: z.union([z.string().max(200), z.array(z.string().max(200)).max(10_000)]).optional(),
    /** ISO time, epoch milliseconds or a duration back from now (`24h`): when the job last ran. */
    since: time.optional(),
    until: time.optional(),
    dryRun: z.boolean().default(false),
    /**
     * Remove the matching jobs whose data is not a removal (see `MalformedItem`); they are never
     * replayed. Only job id and time filters select them: they have no session, participant or rule.
     */
    discardMalformed: z.boolean().default(false),
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
  /** Tries the job had made before the replay. */
  attemptsMade: number;
  /**
   * The job that carries the replay when it is not the same one: a delayed job is replaced by a
   * new one (BullMQ cannot reset a delayed job's tries).
   */
  replayJobId?: string;
}

/** A job on the removals queue whose data is not a removal (a direct producer put anything there). */
export interface MalformedItem {
  jobId: string;
  state: 'failed' | 'delayed';
  /** What is wrong with its data. */
  reason: string;
  /** Removed from the queue by this call (`discardMalformed`, not a dry run). */
  discarded: boolean;
}

export interface ReplayResult {
  dryRun: boolean;
  /** Jobs replayed (or, with `dryRun`, that would be). */
  replayed: ReplayItem[];
  /** Matching jobs left alone, with why (another removal of the same participant is pending, ...). */
  skipped: (ReplayItem & { why: string })[];
  /** Matching jobs whose data is not a removal: never replayed, removed with `discardMalformed`. */
  malformed: MalformedItem[];
}

export interface ReplayDeps {
  queue: Queue<RemovalJobData>;
  claims: RemovalClaims;
  outcomes: JobOutcomeStore;
  audit: AuditStore;
  /** Who asked, recorded in the audit trail (`operator:cli`, `api`). */
  requestedBy?: string;
  now?: () => number;
}

const PAGE = 500;

/**
 * Re-runs failed (or stuck delayed) removals. Each replayed job checks the session before sending,
 * so replaying twice never removes twice: a participant already gone ends as `already-gone`.
 * Either way the replay starts with a fresh attempt count: failed jobs are retried in place,
 * delayed ones are replaced by a new job that runs now (`replayJobId`).
 */
export async function replayRemovals(filter: ReplayFilter, deps: ReplayDeps): Promise<ReplayResult> {
  const now = deps.now ?? Date.now;
  const since = filter.since === undefined ? undefined : parseTime(filter.since, 'since', now());
  const until = filter.until === undefined ? undefined : parseTime(filter.until, 'until', now());
  const result: ReplayResult = { dryRun: filter.dryRun, replayed: [], skipped: [], malformed: [] };
  // A malformed job has no session, participant, rule or recorded status to match.
  const selectsMalformed =
    filter.sessionId === undefined && filter.participantId === undefined && filter.rule === undefined && filter.status === undefined;
  const malformedJobs: { job: Job; item: MalformedItem }[] = [];
  const jobIds = filter.jobId === undefined ? undefined : new Set(Array.isArray(filter.jobId) ? filter.jobId : [filter.jobId]);
  const matches: { job: Job<RemovalJobData>; item: ReplayItem }[] = [];

  // Collect first, then act: retrying while paging would shift the pages.
  for (let start = 0; matches.length < filter.limit; start += PAGE) {
    const page = (
      filter.state === 'failed' ? await deps.queue.getFailed(start, start + PAGE - 1) : await deps.queue.getDelayed(start, start + PAGE - 1)
    ) as (Job<RemovalJobData> | undefined)[];
    for (const job of page) {
      if (!job?.id || matches.length >= filter.limit) continue;
      if (jobIds && !jobIds.has(job.id)) continue;
      const read = readRemovalJob(job.data);
      if (read.malformed !== undefined) {
        const at = job.finishedOn ?? job.processedOn ?? job.timestamp;
        if (!selectsMalformed || (since !== undefined && at < since) || (until !== undefined && at > until)) continue;
        if (malformedJobs.length < filter.limit)
          malformedJobs.push({ job, item: { jobId: job.id, state: filter.state, reason: read.malformed, discarded: false } });
        continue;
      }
      const data = job.data;
      if (filter.sessionId !== undefined && data.sessionId !== filter.sessionId) continue;
      if (filter.participantId !== undefined && data.participantId !== filter.participantId) continue;
      if (filter.rule !== undefined && data.rule !== filter.rule) continue;
      const at = job.finishedOn ?? job.processedOn ?? job.timestamp;
      if (since !== undefined && at < since) continue;
      if (until !== undefined && at > until) continue;
      const outcome = await deps.outcomes.getOutcome(job.id);
      if (filter.status !== undefined && outcome?.status !== filter.status) continue;
      matches.push({
        job,
        item: {
          jobId: job.id,
          sessionId: data.sessionId,
          participantId: data.participantId,
          ...(data.rule ? { rule: data.rule } : {}),
          previousOutcome: outcome?.outcome ?? null,
          ...(outcome?.status !== undefined ? { status: outcome.status } : {}),
          attemptsMade: job.attemptsMade,
        },
      });
    }
    if (page.length < PAGE) break;
  }

  for (const { job, item } of malformedJobs) {
    if (filter.discardMalformed && !filter.dryRun) {
      await job.remove();
      item.discarded = true;
      await deps.audit.append({
        at: new Date(now()).toISOString(),
        kind: 'discard',
        jobId: item.jobId,
        outcome: 'discarded',
        reason: `malformed removal job: ${item.reason}`,
        requestedBy: deps.requestedBy ?? 'operator',
      });
    }
    result.malformed.push(item);
  }

  for (const { job, item } of matches) {
    if (filter.dryRun) {
      result.replayed.push(item);
      continue;
    }
    const replay = await replayOne(job, item, filter.state, deps);
    if (replay.why !== undefined) {
      result.skipped.push({ ...item, why: replay.why });
      continue;
    }
    if (replay.jobId !== undefined) item.replayJobId = replay.jobId;
    await deps.audit.append({
      at: new Date(now()).toISOString(),
      kind: 'replay',
      jobId: item.jobId,
      sessionId: item.sessionId,
      participantId: item.participantId,
      ...(item.rule ? { rule: item.rule } : {}),
      outcome: 'queued',
      requestedBy: deps.requestedBy ?? 'operator',
      detail: {
        previousOutcome: item.previousOutcome,
        state: filter.state,
        attemptsMade: item.attemptsMade,
        ...(item.replayJobId ? { replayJobId: item.replayJobId } : {}),
      },
    });
    result.replayed.push(item);
  }
  return result;
}

/** Replays one job; answers why it was left alone, or the new job that carries the replay. */
async function replayOne(
  job: Job<RemovalJobData>,
  item: ReplayItem,
  state: 'failed' | 'delayed',
  deps: ReplayDeps,
): Promise<{ why?: string; jobId?: string }> {
  // Another replay (or the dashboard) may have moved the job since it was listed.
  const movedAway = async (): Promise<string | undefined> => {
    const current = await job.getState().catch(() => 'unknown');
    return current === state ? undefined : `the job is ${current} now (replayed or removed by someone else)`;
  };
  const moved = await movedAway();
  if (moved) return { why: moved };
  if (state === 'delayed') {
    // BullMQ has no way to reset a delayed job's tries: a new job (fresh count, running now)
    // takes its place. It is added before the old one is removed, so a crash in between leaves
    // two jobs for one removal, which the claim, the fence and the check-first step make safe,
    // and never none.
    const replayJobId = randomUUID();
    await deps.queue.add(
      job.name,
      { ...job.data, verifyFirst: true },
      { jobId: replayJobId, ...(job.opts.attempts ? { attempts: job.opts.attempts } : {}) },
    );
    // Rule hits meanwhile collapse into the new job.
    await deps.claims.takeOver(item.sessionId, item.participantId, `pending:${item.jobId}`, replayJobId);
    // Started since it was listed (its backoff ran out): it runs too, and checks first like the new one.
    await job.remove().catch(() => undefined);
    return { jobId: replayJobId };
  }
  // A failed job released its claim; take it again so a rule hit meanwhile collapses into the
  // replay instead of making a second job (force: a `done` claim of another job does not block).
  const claim = await deps.claims.claim(item.sessionId, item.participantId, item.jobId, { force: true });
  if (!claim.claimed && claim.existingJobId !== item.jobId) {
    return { why: `removal job ${claim.existingJobId} for this participant is pending` };
  }
  try {
    // The replay starts from what VideoSDK says now, not from what earlier tries sent.
    await deps.outcomes.clear(item.jobId);
    await job.updateData({ ...job.data, verifyFirst: true });
    await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  } catch (err) {
    // Moved by someone else: the claim is theirs now. Still failed: give the claim back.
    const why = await movedAway();
    if (why) return { why };
    await deps.claims.release(item.sessionId, item.participantId, item.jobId).catch(() => undefined);
    throw err;
  }
  return {};
}
