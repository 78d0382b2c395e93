import { UnrecoverableError, type Job } from 'bullmq';
import { VideoSdkApiError } from '../shared/errors.js';
import type { ApiAttemptRecord } from '../store/audit.js';
import type { JobOutcomeStore } from '../store/job-outcomes.js';
import { operationPath } from '../videosdk/api-paths.js';
import type { ApiResponse } from '../videosdk/client.js';
import type { SessionReads } from './session-reads.js';
import type { RecordOutcome } from './record-outcome.js';
import type { RemovalJobData } from './removal-job.js';

/** Why a try would read the session before sending the remove call. */
export interface LookFirstReasons {
  /** An operator asked (`--verify-first`, replay). */
  verifyFirst: boolean | undefined;
  /** An earlier try sent the POST: it may have taken effect (a timeout, a 5xx). */
  sentBefore: boolean;
  /** Another job holds the participant's claim: a second job for the same removal exists. */
  contested: boolean;
  /** The job was started before without a recorded failure (stalled, waited, fenced). */
  restarted: boolean;
  attemptsMade: number;
  apiVersion: 'v1' | 'v2';
  /** The job's room; a v2 remove call needs it, and only the session tells it when absent. */
  roomId: string | undefined;
}

/** Whether the try must look first: whenever an earlier try may have reached VideoSDK, or nothing tells the room. */
export function mustLookFirst(r: LookFirstReasons): boolean {
  return (
    r.verifyFirst === true ||
    r.sentBefore ||
    r.contested ||
    r.restarted ||
    r.attemptsMade > 0 ||
    (r.apiVersion === 'v2' && r.roomId === undefined)
  );
}

export interface RecordedCallsDeps {
  outcomes: JobOutcomeStore;
  recordOutcome: RecordOutcome;
  /** Session reads shared by the removals of one session that need one at the same moment. */
  reads: SessionReads;
  apiVersion: 'v1' | 'v2';
  now: () => number;
}

/** The removal's API calls, each recorded as an attempt of its job; `fetchSession` is the look. */
export function createRecordedCalls(deps: RecordedCallsDeps) {
  const { outcomes, recordOutcome, reads, now } = deps;

  /**
   * GET the session (a read started after `ticket`, by default after this call: shared with the
   * other removals of the session that need one now); an unknown session rejects the removal (404).
   */
  async function fetchSession(job: Job<RemovalJobData>, data: RemovalJobData, ticket = reads.ticket()): Promise<ApiResponse> {
    try {
      return await timed(job, 'get-session', () => reads.after(data.sessionId, ticket));
    } catch (err) {
      if (err instanceof VideoSdkApiError && err.kind === 'permanent') {
        const message =
          err.status === 404 || err.status === 402 ? `session ${data.sessionId} is unknown to VideoSDK` : (err.detail ?? err.message);
        await recordOutcome(job.id ?? 'unknown', data, 'rejected', undefined, { status: err.status, message });
        throw new UnrecoverableError(err.message);
      }
      throw err;
    }
  }

  /** Runs one API call and records it as an attempt of the job (status, latency, request id). */
  async function timed(
    job: Job<RemovalJobData>,
    operation: 'remove' | 'get-session',
    call: () => Promise<ApiResponse>,
  ): Promise<ApiResponse> {
    const { response, attempt } = await timedUnwritten(job, operation, call);
    await outcomes.appendAttempt(job.id ?? 'unknown', attempt);
    return response;
  }

  /**
   * `timed`, leaving the record of an answered call to the caller (who writes it with the
   * outcome, in the same script call); a call that failed is recorded at once.
   */
  async function timedUnwritten(
    job: Job<RemovalJobData>,
    operation: 'remove' | 'get-session',
    call: () => Promise<ApiResponse>,
  ): Promise<{ response: ApiResponse; attempt: ApiAttemptRecord }> {
    const started = now();
    const method = operation === 'remove' ? 'POST' : 'GET';
    try {
      const response = await call();
      const attempt: ApiAttemptRecord = {
        at: started,
        method,
        operation,
        latencyMs: now() - started,
        path: operationPath(deps.apiVersion, operation, job.data.sessionId),
        status: response.status,
        ...(response.requestId ? { requestId: response.requestId } : {}),
      };
      return { response, attempt };
    } catch (err) {
      if (err instanceof VideoSdkApiError) {
        await outcomes.appendAttempt(job.id ?? 'unknown', {
          at: started,
          method,
          operation,
          latencyMs: now() - started,
          path: err.path,
          ...(err.status !== undefined ? { status: err.status } : { error: err.reason ?? err.detail ?? 'no response' }),
          ...(err.requestId ? { requestId: err.requestId } : {}),
        });
      }
      throw err;
    }
  }

  return { fetchSession, timed, timedUnwritten };
}
