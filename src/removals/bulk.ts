import { z } from 'zod';
import { InvalidRemovalError, NotFoundError, problemPath, VideoSdkApiError, type Problem } from '../shared/errors.js';
import { idSchema as id } from '../shared/ids.js';
import type { VideoSdkClient } from '../videosdk/client.js';
import { activeParticipantIds, type VideoSdkSession } from '../videosdk/session.js';
import type { RemovalJobData } from './removal-job.js';
import { BULK_PRIORITY, type RemovalRequester } from './removal-requester.js';

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

const isoTime = z
  .string({ error: 'must be an ISO time like "2026-12-06T10:00:00Z"' })
  .refine(
    (v) => /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(v) && !Number.isNaN(Date.parse(v)),
    'must be an ISO time like "2026-12-06T10:00:00Z"',
  );
const joinedBody = z
  .object({
    sessionId: id,
    joinedSince: isoTime,
    except: z.array(id).max(10_000).default([]),
    meetingId: id.optional(),
    reason: reason.optional(),
  })
  .strict();

/**
 * Body of `POST /v1/removals`: a list, everyone active in a session except some, or everyone still
 * in a session who first joined it at or after a time (a raid's wave), hosts and moderators never.
 */
export const removalsBodySchema = z.union([listBody, allBody, joinedBody]);
export type RemovalsBody = z.infer<typeof removalsBodySchema>;

/**
 * Validates a `POST /v1/removals` body. The form is chosen by its keys (`all` or not), so every
 * problem is reported at its own path instead of "matches neither form".
 */
export function parseRemovalsBody(input: unknown): RemovalsBody {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new InvalidRemovalError([
      {
        path: '$',
        message:
          'must be {"removals": [...]}, {"sessionId", "all": true, "except"?: [...]} or {"sessionId", "joinedSince": ISO, "except"?: [...]}',
      },
    ]);
  }
  const parsed =
    'all' in input ? allBody.safeParse(input) : 'joinedSince' in input ? joinedBody.safeParse(input) : listBody.safeParse(input);
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
  deps: {
    requester: RemovalRequester;
    client: VideoSdkClient;
    requestedBy: string;
    /** Who among these the worker recorded as a host or moderator of the meeting (never removed by join time). */
    staff?: (meetingId: string, participantIds: readonly string[]) => Promise<ReadonlySet<string>>;
    onJob?: (job: BulkJob) => void;
  },
): Promise<{ jobs: BulkJob[]; /** Active participants kept: by `except`, and hosts and moderators by join time. */ skipped: string[] }> {
  const { items, kept: skipped } =
    'removals' in body
      ? { items: body.removals, kept: [] }
      : 'all' in body
        ? await everyoneIn(body, deps.client)
        : await joinedSince(body, deps.client, deps.staff);
  const jobs: BulkJob[] = [];
  const requests = items.map((item): RemovalJobData => ({
    sessionId: item.sessionId,
    participantId: item.participantId,
    ...(item.meetingId ? { meetingId: item.meetingId } : {}),
    reason: item.reason ?? 'removed by an operator',
    requestedBy: deps.requestedBy,
    verifyFirst: true,
  }));
  // A list may be long and stale (people long gone): it waits behind the removals rules ask for.
  // Everyone in a session, or who joined since a time, is in the meeting now: no wait.
  const results = await deps.requester.requestMany(requests, { force: true, ...('removals' in body ? { priority: BULK_PRIORITY } : {}) });
  results.forEach((result, i) => {
    const item = requests[i]!;
    const job = { jobId: result.jobId, sessionId: item.sessionId, participantId: item.participantId, collapsed: result.collapsed };
    jobs.push(job);
    deps.onJob?.(job);
  });
  return { jobs, skipped };
}

/** The session's active participants as VideoSDK lists them (with their time logs). */
async function activeOf(client: VideoSdkClient, sessionId: string): Promise<VideoSdkSession> {
  let response;
  try {
    response = await client.getActiveParticipants(sessionId);
  } catch (err) {
    if (err instanceof VideoSdkApiError && err.status === 404) throw new NotFoundError(`VideoSDK does not know session ${sessionId}`);
    throw err;
  }
  if (!response.session) throw new NotFoundError(`VideoSDK gave no participant list for session ${sessionId}`);
  return response.session;
}

/**
 * Everyone still in the session whose first join of it (VideoSDK's time log) is at or after
 * `joinedSince`: the wave of a raid, taken out in one request. Hosts and moderators (as the
 * worker recorded them from events' roles) are never among them, nor the exceptions.
 */
async function joinedSince(
  body: Extract<RemovalsBody, { joinedSince: string }>,
  client: VideoSdkClient,
  staff: ((meetingId: string, participantIds: readonly string[]) => Promise<ReadonlySet<string>>) | undefined,
): Promise<{ items: RemovalItem[]; kept: string[] }> {
  const session = await activeOf(client, body.sessionId);
  const since = Date.parse(body.joinedSince);
  const active = new Set(activeParticipantIds(session));
  const wave = session.participants.filter((p) => {
    if (!active.has(p.participantId)) return false;
    const first = p.timelog[0]?.start;
    return first !== null && first !== undefined && Date.parse(first) >= since;
  });
  const ids = [...new Set(wave.map((p) => p.participantId))];
  const meetingId = body.meetingId ?? session.roomId ?? session.meetingId;
  const hosts = meetingId !== undefined && staff ? await staff(meetingId, ids) : new Set<string>();
  const except = new Set(body.except);
  const keep = (participantId: string) => except.has(participantId) || hosts.has(participantId);
  return {
    kept: ids.filter(keep),
    items: ids
      .filter((participantId) => !keep(participantId))
      .map((participantId) => ({
        sessionId: body.sessionId,
        participantId,
        ...(meetingId ? { meetingId } : {}),
        ...(body.reason ? { reason: body.reason } : {}),
      })),
  };
}

/** The session's active participants, minus the exceptions (and which exceptions were there). */
async function everyoneIn(
  body: Extract<RemovalsBody, { all: true }>,
  client: VideoSdkClient,
): Promise<{ items: RemovalItem[]; kept: string[] }> {
  const session = await activeOf(client, body.sessionId);
  const except = new Set(body.except);
  const active = activeParticipantIds(session);
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
