import { z } from 'zod';
import { InvalidRemovalError, NotFoundError, problemPath, VideoSdkApiError, type Problem } from '../shared/errors.js';
import { idSchema as id } from '../shared/ids.js';
import type { VideoSdkClient } from '../videosdk/client.js';
import { activeParticipantIds } from '../videosdk/session.js';
import type { RemovalJobData } from './removal-job.js';
import type { RemovalRequester } from './removal-requester.js';

const reason = z.string().max(500, 'must be at most 500 characters');

export const removalItemSchema = z.object({ sessionId: id, participantId: id, meetingId: id.optional(), reason: reason.optional() });
export type RemovalItem = z.infer<typeof removalItemSchema>;

const listBody = z
  .object({ removals: z.array(removalItemSchema).min(1, 'must hold at least one removal').max(10_000, 'at most 10000 per request') })
  .strict();
const allBody = z
  .object({
    sessionId: id,
    all: z.literal(true, 'must be true (or send "removals")'),
    except: z.array(id).max(10_000).default([]),
    meetingId: id.optional(),
    reason: reason.optional(),
  })
  .strict();

/** Body of `POST /v1/removals`: a list, or everyone active in a session except some. */
export const removalsBodySchema = z.union([listBody, allBody]);
export type RemovalsBody = z.infer<typeof removalsBodySchema>;

/**
 * Validates a `POST /v1/removals` body. The form is chosen by its keys (`all` or not), so every
 * problem is reported at its own path instead of "matches neither form".
 */
export function parseRemovalsBody(input: unknown): RemovalsBody {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidRemovalError([{ path: '$', message: 'must be {"removals": [...]} or {"sessionId", "all": true, "except"?: [...]}' }]);
  }
  const parsed = 'all' in input ? allBody.safeParse(input) : listBody.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new InvalidRemovalError(
    parsed.error.issues.map((issue): Problem => ({
      path: problemPath(issue.path),
      message: issue.code === 'invalid_type' && issue.input === undefined ? 'is required' : issue.message,
    })),
  );
}

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
): Promise<{ jobs: BulkJob[]; /** Active participants kept by `except`. */ skipped: string[] }> {
  const { items, kept: skipped } = 'removals' in body ? { items: body.removals, kept: [] } : await everyoneIn(body, deps.client);
  const jobs: BulkJob[] = [];
  const requests = items.map((item): RemovalJobData => ({
    sessionId: item.sessionId,
    participantId: item.participantId,
    ...(item.meetingId ? { meetingId: item.meetingId } : {}),
    reason: item.reason ?? 'removed by an operator',
    requestedBy: deps.requestedBy,
    verifyFirst: true,
  }));
  const results = await deps.requester.requestMany(requests, { force: true });
  results.forEach((result, i) => {
    const item = requests[i]!;
    const job = { jobId: result.jobId, sessionId: item.sessionId, participantId: item.participantId, collapsed: result.collapsed };
    jobs.push(job);
    deps.onJob?.(job);
  });
  return { jobs, skipped };
}

/** The session's active participants, minus the exceptions (and which exceptions were there). */
async function everyoneIn(
  body: Extract<RemovalsBody, { all: true }>,
  client: VideoSdkClient,
): Promise<{ items: RemovalItem[]; kept: string[] }> {
  let response;
  try {
    response = await client.getActiveParticipants(body.sessionId);
  } catch (err) {
    if (err instanceof VideoSdkApiError && err.status === 404) throw new NotFoundError(`VideoSDK does not know session ${body.sessionId}`);
    throw err;
  }
  if (!response.session) throw new NotFoundError(`VideoSDK gave no participant list for session ${body.sessionId}`);
  const except = new Set(body.except);
  const active = activeParticipantIds(response.session);
  return {
    kept: active.filter((participantId) => except.has(participantId)),
    items: active
      .filter((participantId) => !except.has(participantId))
      .map((participantId) => ({
        sessionId: body.sessionId,
        participantId,
        ...(body.meetingId ? { meetingId: body.meetingId } : {}),
        ...(body.reason ? { reason: body.reason } : {}),
      })),
  };
}
