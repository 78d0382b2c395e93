import { z } from 'zod';
import { UsageError } from '../errors.js';
import type { VideoSdkClient } from '../videosdk/client.js';
import { activeParticipantIds } from '../videosdk/session.js';
import type { RemovalJobData } from './removal-job.js';
import type { RemovalRequester } from './removal-requester.js';

const id = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
const reason = z.string().max(500, 'must be at most 500 characters');

export const removalItemSchema = z.object({ sessionId: id, participantId: id, meetingId: id.optional(), reason: reason.optional() });
export type RemovalItem = z.infer<typeof removalItemSchema>;

/** Body of `POST /v1/removals`: a list, or everyone active in a session except some. */
export const removalsBodySchema = z.union([
  z.object({ removals: z.array(removalItemSchema).min(1, 'must hold at least one removal').max(10_000, 'at most 10000 per request') }).strict(),
  z
    .object({
      sessionId: id,
      all: z.literal(true),
      except: z.array(id).max(10_000).default([]),
      meetingId: id.optional(),
      reason: reason.optional(),
    })
    .strict(),
]);
export type RemovalsBody = z.infer<typeof removalsBodySchema>;

export interface BulkJob {
  jobId: string;
  sessionId: string;
  participantId: string;
  collapsed: boolean;
}

/**
 * Carries out an operator's bulk removal: each item becomes a removal request that checks state
 * before sending (`verifyFirst`) and is never collapsed by an earlier success (`force`).
 */
export async function requestRemovals(
  body: RemovalsBody,
  deps: { requester: RemovalRequester; client: VideoSdkClient; requestedBy: string; onJob?: (job: BulkJob) => void },
): Promise<{ jobs: BulkJob[]; skipped: string[] }> {
  const items = 'removals' in body ? body.removals : await everyoneIn(body, deps.client);
  const skipped = 'removals' in body ? [] : body.except;
  const jobs: BulkJob[] = [];
  const requests = items.map(
    (item): RemovalJobData => ({
      sessionId: item.sessionId,
      participantId: item.participantId,
      ...(item.meetingId ? { meetingId: item.meetingId } : {}),
      reason: item.reason ?? 'removed by an operator',
      requestedBy: deps.requestedBy,
      verifyFirst: true,
    }),
  );
  const results = await deps.requester.requestMany(requests, { force: true });
  results.forEach((result, i) => {
    const item = requests[i]!;
    const job = { jobId: result.jobId, sessionId: item.sessionId, participantId: item.participantId, collapsed: result.collapsed };
    jobs.push(job);
    deps.onJob?.(job);
  });
  return { jobs, skipped };
}

/** The session's active participants, minus the exceptions. */
async function everyoneIn(body: Extract<RemovalsBody, { all: true }>, client: VideoSdkClient): Promise<RemovalItem[]> {
  const response = await client.getActiveParticipants(body.sessionId);
  if (!response.session) throw new UsageError(`VideoSDK gave no participant list for session ${body.sessionId}`);
  const except = new Set(body.except);
  return activeParticipantIds(response.session)
    .filter((participantId) => !except.has(participantId))
    .map((participantId) => ({
      sessionId: body.sessionId,
      participantId,
      ...(body.meetingId ? { meetingId: body.meetingId } : {}),
      ...(body.reason ? { reason: body.reason } : {}),
    }));
}
