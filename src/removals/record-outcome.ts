import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { Notify } from '../notify/notifications.js';
import type { ApiAttemptRecord } from '../store/audit.js';
import type { Presence } from '../store/presence.js';
import type { RedisClient } from '../store/redis.js';
import type { RemovalFinisher } from '../store/removal-finish.js';
import type { SessionStore } from '../store/session-store.js';
import { mayHoldSession, type ApiResponse } from '../videosdk/client.js';
import type { VideoSdkSession } from '../videosdk/session.js';
import type { RemovalJobData, RemovalOutcome } from './removal-job.js';
import type { SessionReads } from './session-reads.js';

/** What a finished removal job returns (and what `GET /v1/jobs/:id` shows as outcome and detail). */
export interface RemovalResult {
  outcome: RemovalOutcome;
  status?: number;
  message?: string;
}

/** What goes with an outcome that is not a success: the API status and a message. */
export interface OutcomeDetail {
  status?: number | undefined;
  message?: string | undefined;
}

export interface OutcomeRecorderDeps {
  /** For the session snapshots written later (see `flushSnapshot`). */
  redis: RedisClient;
  sessions: SessionStore;
  /** Records an outcome with everything that goes with it, in one script call. */
  finisher: RemovalFinisher;
  /** Counts a completed removal as a leave for webhook ids (a rejoin is then not a duplicate). */
  presence?: Presence | undefined;
  metrics?: Metrics | undefined;
  /** Told each final outcome (`removal.completed`). */
  notify?: Notify | undefined;
  logger: Logger;
  now: () => number;
  /**
   * Reads a session for its snapshot when a remove answer held none (VideoSDK's confirmation
   * message): at most once a second per session, like the snapshots themselves, and shared with
   * the removals' own reads.
   */
  reads?: SessionReads | undefined;
}

/**
 * What the run that records an outcome holds: the fence it took (released with the record) and the
 * API calls it made whose records are not yet written (written with it).
 */
export interface FinishingRun {
  fenceToken: string;
  /** API calls answered and not yet written, oldest first. */
  attempts: ApiAttemptRecord[];
  /** Set once the record released the fence: the run need not release it again. */
  fenceReleased?: boolean;
}

/** How a successful removal's session state is to be read when its answer held none. */
export type SessionRead = () => Promise<ApiResponse | undefined>;

/**
 * Records how a removal job ended: its outcome, the session as last read, the removal in the
 * session's record and the audit trail, and the claim settled, all in one script call.
 */
export function createOutcomeRecorder(deps: OutcomeRecorderDeps) {
  const { redis, sessions, presence, metrics, logger, now } = deps;

  // A remove answer is the whole session: in a raid of thousands in one session, serializing and
  // writing it with every removal costs O(bots²) (558 KB a removal for 5,000 bots). A session's
  // snapshot goes out with a removal at most every SNAPSHOT_EVERY_MS per process; one that comes
  // sooner waits, and only the newest waiting one is written when the time comes (the store keeps
  // the newer of two anyway). Removal records themselves are never deferred.
  // A confirmation-message answer needs a GET for the snapshot: the same once-a-second rule holds,
  // so a raid's removals cost one remove call each, not a remove call and a whole-session read.
  // A removal that comes sooner leaves the read to the timer (`read: true`), which does it once.
  const snapshots = new Map<
    string,
    { lastAt: number; pending?: { response?: ApiResponse; read?: true; jobId: string; at: number }; timer?: NodeJS.Timeout }
  >();

  /** True when this removal's snapshot is taken now; else it is left to wait (a response, or a read to make). */
  function snapshotNow(sessionId: string, jobId: string, later: { response: ApiResponse } | { read: true }): boolean {
    const t = now();
    const entry = snapshots.get(sessionId);
    if (entry === undefined || (t - entry.lastAt >= SNAPSHOT_EVERY_MS && entry.timer === undefined)) {
      if (snapshots.size >= MAX_SNAPSHOT_ENTRIES) pruneSnapshots(t);
      snapshots.set(sessionId, { lastAt: t });
      return true;
    }
    entry.pending = { ...later, jobId, at: t };
    entry.timer ??= setTimeout(() => void flushSnapshot(sessionId), Math.max(0, entry.lastAt + SNAPSHOT_EVERY_MS - t)).unref();
    return false;
  }

  async function flushSnapshot(sessionId: string): Promise<void> {
    const entry = snapshots.get(sessionId);
    if (!entry?.pending) return;
    const { jobId } = entry.pending;
    let { at } = entry.pending;
    let response = entry.pending.response;
    const read = entry.pending.read === true;
    entry.pending = undefined;
    entry.timer = undefined;
    entry.lastAt = now();
    const reads = deps.reads;
    if (read && reads) {
      // After the removals it stands for: the answer shows them all.
      response = await reads.after(sessionId, reads.ticket()).catch((err: unknown) => {
        logger.warn({ err, sessionId }, 'could not read the session for its snapshot');
        return undefined;
      });
      // Stamped when read: a snapshot written meanwhile (a slow read at the start of the second)
      // is older than what this read saw, and the store keeps the newer.
      at = now();
    }
    if (response === undefined || !mayHoldSession(response)) return;
    const session = sessionToStore(response);
    if (session === undefined) return;
    const tx = redis.multi();
    sessions.recordSessionTo(tx, sessionId, session, { jobId, at });
    await tx.exec().catch((err: unknown) => logger.warn({ err, sessionId }, 'could not record the session snapshot'));
  }

  function pruneSnapshots(t: number): void {
    for (const [id, entry] of snapshots) if (entry.timer === undefined && t - entry.lastAt >= SNAPSHOT_EVERY_MS) snapshots.delete(id);
  }

  async function recordOutcome(
    jobId: string,
    data: RemovalJobData,
    outcome: RemovalOutcome,
    response: ApiResponse | undefined,
    detail: OutcomeDetail = {},
    readNow?: SessionRead,
    run?: FinishingRun,
  ): Promise<RemovalResult> {
    const at = new Date(now()).toISOString();
    const result: RemovalResult = { outcome };
    if (detail.status !== undefined) result.status = detail.status;
    if (detail.message !== undefined) result.message = detail.message;

    // The outcome and everything recorded with it apply together (one script): a run that dies
    // part-way leaves all or nothing, and a later run that finds the outcome finds the rest too.
    let snapshot: ApiResponse | undefined;
    if (response && mayHoldSession(response)) {
      if (snapshotNow(data.sessionId, jobId, { response })) snapshot = response;
    } else if (readNow && snapshotNow(data.sessionId, jobId, { read: true })) {
      // A failed read does not undo the removal: the snapshot is just not taken.
      snapshot = await readNow().catch(() => undefined);
      if (snapshot && !mayHoldSession(snapshot)) snapshot = undefined;
    }
    const stored = snapshot ? sessionToStore(snapshot) : undefined;
    const removal = {
      participantId: data.participantId,
      outcome,
      reason: data.reason,
      rule: data.rule ?? null,
      jobId,
      at,
    };
    const finished = deps.finisher.finish({
      jobId,
      sessionId: data.sessionId,
      participantId: data.participantId,
      outcome: { ...result, at },
      attempts: run?.attempts.splice(0) ?? [],
      settle: isSuccess(outcome) ? 'done' : 'release',
      fenceToken: run?.fenceToken,
      session: stored !== undefined ? { object: stored, at: now() } : undefined,
      removal,
      audit: {
        at,
        kind: 'removal',
        outcome,
        sessionId: data.sessionId,
        participantId: data.participantId,
        ...(data.meetingId ? { meetingId: data.meetingId } : {}),
        ...(data.rule ? { rule: data.rule } : {}),
        ...(data.eventId ? { eventId: data.eventId } : {}),
        jobId,
        reason: data.reason,
        requestedBy: data.requestedBy,
        ...(detail.status !== undefined || detail.message !== undefined ? { detail: { ...result } } : {}),
      },
    });
    // A removal counts as a leave for webhook ids: sent beside the record (another partition's
    // key), idempotent per job, and a failure here does not undo the removal.
    const counted =
      outcome === 'removed' && presence
        ? presence
            .noteRemoval(data.sessionId, data.participantId, jobId)
            .catch((err: unknown) => logger.warn({ err, jobId }, 'could not count the removal for webhook ids'))
        : undefined;
    await Promise.all([finished, counted]);
    if (run) run.fenceReleased = true;
    metrics?.removals.inc({ outcome });
    void deps.notify?.(
      'removal.completed',
      {
        removal: {
          jobId,
          outcome,
          sessionId: data.sessionId,
          participantId: data.participantId,
          ...(data.meetingId ? { meetingId: data.meetingId } : {}),
          ...(data.rule ? { rule: data.rule } : {}),
          reason: data.reason,
          requestedBy: data.requestedBy,
          ...detail,
        },
      },
      `Removal ${outcome}: ${data.participantId} in session ${data.sessionId} (${data.rule ? `rule ${data.rule}: ` : ''}${data.reason})`,
    );
    const fields = { jobId, sessionId: data.sessionId, participantId: data.participantId, rule: data.rule, outcome, ...detail };
    if (outcome === 'removed' || outcome === 'already-gone') logger.info(fields, 'removal finished');
    else logger.warn(fields, 'removal did not succeed');
    return result;
  }

  return recordOutcome;
}

export type RecordOutcome = ReturnType<typeof createOutcomeRecorder>;

/** At most one session snapshot a second per session and process (see `snapshotNow`). */
const SNAPSHOT_EVERY_MS = 1000;
/** Sessions remembered for that before the idle ones are forgotten. */
const MAX_SNAPSHOT_ENTRIES = 1000;

function isSuccess(outcome: string): outcome is 'removed' | 'already-gone' {
  return outcome === 'removed' || outcome === 'already-gone';
}

/** The session object as VideoSDK sent it when it is one, else the normalized form. */
function sessionToStore(response: ApiResponse): unknown {
  const body = response.body;
  if (body && typeof body === 'object' && !Array.isArray(body) && Array.isArray((body as { participants?: unknown }).participants)) {
    return body;
  }
  return response.session satisfies VideoSdkSession | undefined;
}
