import { randomUUID } from 'node:crypto';
import { DelayedError, UnrecoverableError, WaitingError, type Job, type Queue } from 'bullmq';
import { CredentialMissingError, InvalidRemovalError, isRetryable, RemovalUnconfirmedError, VideoSdkApiError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { AuditStore } from '../store/audit.js';
import type { JobOutcomeStore } from '../store/job-outcomes.js';
import type { Notify } from '../notify/notifications.js';
import type { PauseState } from '../store/pause-state.js';
import type { Presence } from '../store/presence.js';
import type { RedisClient } from '../store/redis.js';
import type { RemovalClaims } from '../store/removal-claims.js';
import type { RemovalFinisher } from '../store/removal-finish.js';
import type { SessionStore } from '../store/session-store.js';
import type { ApiResponse, VideoSdkClient } from '../videosdk/client.js';
import { classifyRemoveAnswer } from '../videosdk/remove-answer.js';
import { isParticipantActive } from '../videosdk/session.js';
import { pauseForCredential } from './credential-pause.js';
import { createRecordedCalls, mustLookFirst } from './look-first.js';
import { createOutcomeRecorder, type FinishingRun, type RemovalResult } from './record-outcome.js';
import { parseRemovalJob, type RemovalJobData, type RemovalOutcome } from './removal-job.js';
import { createSessionReads } from './session-reads.js';

export interface RemovalProcessorDeps {
  /** For the session snapshots written after their removals (see `createOutcomeRecorder`). */
  redis: RedisClient;
  /** Records an outcome with everything that goes with it, in one script call. */
  finisher: RemovalFinisher;
  client: VideoSdkClient;
  claims: RemovalClaims;
  outcomes: JobOutcomeStore;
  sessions: SessionStore;
  audit: AuditStore;
  pause: PauseState;
  /** Counts a completed removal as a leave for webhook ids (a rejoin is then not a duplicate). */
  presence?: Presence | undefined;
  /** The removals queue: paused on a credential failure, rate-limited on `Retry-After`. */
  queue: Queue<RemovalJobData>;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Told final outcomes and a credential pause. */
  notify?: Notify | undefined;
  /**
   * Told when VideoSDK refused the credential (its status; undefined when none could be had): the
   * worker's own record of its credential, which `automod status` shows, says so from then on.
   */
  onCredentialRefused?: ((status: number | undefined) => void) | undefined;
  apiVersion: 'v1' | 'v2';
  /** Per-request timeout; bounds how long the in-flight fence is held. */
  timeoutMs: number;
  /** Longest `Retry-After` honoured (ms); default 300000. */
  retryAfterMaxMs?: number;
  now?: () => number;
}

/** Longest `Retry-After` honoured when none is configured (5 minutes). */
export const DEFAULT_RETRY_AFTER_MAX_MS = 300_000;

/** How long a run that found the fence taken waits before looking again. */
const FENCE_RETRY_MS = 1000;

/**
 * The fence covers one try's check and POST (each bounded by the request timeout), with room for
 * Redis round trips; what a try does after its POST is safe without it (the write-ahead mark makes
 * any later run check first). It only outlives its holder when that run died: the run that takes
 * the job over waits it out (at most 25 s with the default 10 s timeout), then checks first.
 */
export function fenceTtlMs(timeoutMs: number): number {
  return timeoutMs * 2 + 5000;
}

/**
 * A credential failure (refused, or none configured) stops the whole queue; the job goes back
 * untouched.
 */
function isCredentialFailure(err: unknown): err is VideoSdkApiError | CredentialMissingError {
  return (err instanceof VideoSdkApiError && err.kind === 'credential') || err instanceof CredentialMissingError;
}

/**
 * The removal step. Each try checks state first whenever an earlier try may have reached VideoSDK
 * (or an operator asked), so a retried, replayed or redelivered job never removes twice; a fence in
 * Redis keeps two runs of one removal from sending at the same moment.
 */
export function createRemovalProcessor(deps: RemovalProcessorDeps) {
  const { client, claims, outcomes, pause, queue, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const reads = createSessionReads((sessionId) => client.getSession(sessionId));
  const recordOutcome = createOutcomeRecorder({ ...deps, now, reads });
  const { fetchSession, timedUnwritten } = createRecordedCalls({ outcomes, recordOutcome, reads, apiVersion: deps.apiVersion, now });

  async function process(job: Job<RemovalJobData>, token?: string, signal?: AbortSignal): Promise<RemovalResult> {
    const jobId = job.id ?? 'unknown';
    let data: RemovalJobData;
    try {
      data = parseRemovalJob(job.data);
    } catch (err) {
      if (!(err instanceof InvalidRemovalError)) throw err;
      await outcomes.setOutcome(jobId, { outcome: 'rejected', message: err.message, at: new Date(now()).toISOString() });
      metrics?.removals.inc({ outcome: 'rejected' });
      throw new UnrecoverableError(err.message);
    }
    const log = logger.child({ jobId, sessionId: data.sessionId, participantId: data.participantId });

    // Started before without a recorded failure: a stalled run, a credential wait, a fence delay.
    const restarted = (job.attemptsStarted ?? 0) > job.attemptsMade + 1;
    // One round trip before any API call. BullMQ delivers at least once: a run whose completion was
    // lost (lock lost, worker killed after the outcome was recorded) comes back, finds the outcome
    // and only settles the claim again. Otherwise it takes the fence, claims the participant, and,
    // when this try sends without looking first, writes the "remove sent" mark ahead of the call.
    const fenceToken = `${jobId}:${randomUUID()}`;
    const begin = await claims.beginRun({
      sessionId: data.sessionId,
      participantId: data.participantId,
      jobId,
      fenceToken,
      fenceTtlMs: fenceTtlMs(deps.timeoutMs),
      sendDirect: !data.verifyFirst && !restarted && job.attemptsMade === 0 && !(deps.apiVersion === 'v2' && data.meetingId === undefined),
      markTtlSeconds: outcomes.retentionSeconds,
    });
    if (begin.kind === 'done') {
      await claims.complete(data.sessionId, data.participantId, jobId);
      log.info({ outcome: begin.outcome }, 'removal already carried out by an earlier run of this job');
      return { outcome: begin.outcome };
    }
    if (begin.kind === 'ended') {
      // A lockdown ended the session through VideoSDK: the participant left with everyone else.
      log.debug('session ended by a lockdown: nobody left to remove');
      return recordOutcome(jobId, data, begin.sentBefore ? 'removed' : 'already-gone', undefined, {
        message: 'the session was ended by a lockdown',
      });
    }
    if (begin.kind === 'fenced') {
      // Another run is sending a removal for this participant right now (a redelivered job, or an
      // operator's forced one). Look again shortly, without spending an attempt.
      log.info('removal already in flight elsewhere, delaying');
      await job.moveToDelayed(now() + FENCE_RETRY_MS, token);
      throw new DelayedError();
    }

    const run: FinishingRun = { fenceToken, attempts: [] };
    try {
      return await attempt(job, data, { ...begin, restarted }, run, log, signal);
    } catch (err) {
      if (isCredentialFailure(err)) {
        await stopForCredential(err, log);
        await job.moveToWait(token);
        throw new WaitingError();
      }
      if (err instanceof UnrecoverableError || err instanceof DelayedError || err instanceof WaitingError) throw err;
      if (!isRetryable(err)) {
        // Nothing another try could change: record it now rather than burn the attempts.
        await recordOutcome(jobId, data, 'failed', undefined, { message: err instanceof Error ? err.message : String(err) });
        throw new UnrecoverableError(err instanceof Error ? err.message : String(err));
      }
      if (err instanceof VideoSdkApiError && err.retryAfterMs !== undefined && err.retryAfterMs > 0) {
        // Retry-After speaks for the whole API, so every worker waits, not just this job; bounded,
        // so one answer cannot stop every removal for an hour, and recorded, so /readyz and
        // /metrics of every worker say so.
        const waitMs = Math.min(err.retryAfterMs, deps.retryAfterMaxMs ?? DEFAULT_RETRY_AFTER_MAX_MS);
        await queue.rateLimit(waitMs);
        await pause.setRateLimited(now() + waitMs, now());
        log.warn({ retryAfterMs: err.retryAfterMs, waitMs }, 'VideoSDK asked to wait: removals rate-limited');
      }
      const lastTry = job.attemptsMade + 1 >= (job.opts.attempts ?? 1);
      if (lastTry) {
        const status = err instanceof VideoSdkApiError || err instanceof RemovalUnconfirmedError ? err.status : undefined;
        await recordOutcome(jobId, data, 'failed', undefined, { status, message: err instanceof Error ? err.message : String(err) });
      } else {
        // A transient VideoSDK answer is expected and says all in its message: one line, no stack.
        // Anything else keeps its stack, which is what someone needs to find it.
        const expected = err instanceof VideoSdkApiError || err instanceof RemovalUnconfirmedError;
        log.warn(
          expected
            ? { error: err.message, code: err.code, status: err.status, attemptsMade: job.attemptsMade + 1 }
            : { err, attemptsMade: job.attemptsMade + 1 },
          'removal try failed, will retry',
        );
      }
      throw err;
    } finally {
      // The outcome's record releases the fence with it; any other ending releases it here.
      if (!run.fenceReleased) await claims.releaseFence(data.sessionId, data.participantId, fenceToken).catch(() => undefined);
    }
  }

  async function attempt(
    job: Job<RemovalJobData>,
    data: RemovalJobData,
    begun: { sentBefore: boolean; claimed: boolean; marked: boolean; restarted: boolean },
    run: FinishingRun,
    log: Logger,
    signal: AbortSignal | undefined,
  ): Promise<RemovalResult> {
    const jobId = job.id ?? 'unknown';
    const { sentBefore, restarted } = begun;
    const goneOutcome: RemovalOutcome = sentBefore ? 'removed' : 'already-gone';
    let roomId = data.meetingId;
    // A claim held by another job means a second job for the same participant exists (a direct
    // producer, a claim that outlived its TTL): look first.
    const contested = !begun.claimed;

    // A POST that timed out or got a 5xx may have taken effect: look before sending it again.
    if (
      mustLookFirst({
        verifyFirst: data.verifyFirst,
        sentBefore,
        contested,
        restarted,
        attemptsMade: job.attemptsMade,
        apiVersion: deps.apiVersion,
        roomId,
      })
    ) {
      const fetched = await fetchSession(job, data);
      if (fetched.session && !isParticipantActive(fetched.session, data.participantId)) {
        return recordOutcome(jobId, data, goneOutcome, fetched, {}, undefined, run);
      }
      roomId ??= fetched.session?.roomId ?? fetched.session?.meetingId;
    }

    if (signal?.aborted) {
      // The lock was lost: another run may own this job now, and only one of us may send.
      throw new Error(`removal job ${jobId} lost its lock before sending; leaving it to the run that holds it`);
    }
    // Written ahead of the call (by `beginRun` already when this try did not look first): whatever
    // happens to this run, the next one checks before sending.
    if (!begun.marked) await outcomes.markRemoveSending(jobId);
    let response: ApiResponse;
    try {
      // The call's record is written with the outcome (one script call), or before the session
      // is read when the answer confirms nothing.
      const called = await timedUnwritten(job, 'remove', () =>
        client.removeParticipant({ sessionId: data.sessionId, participantId: data.participantId, ...(roomId ? { roomId } : {}) }),
      );
      response = called.response;
      run.attempts.push(called.attempt);
    } catch (err) {
      if (err instanceof VideoSdkApiError && err.kind === 'permanent') {
        if (err.status === 404 || err.status === 402) {
          // 404 (and 402, which VideoSDK's own SDK reads the same way) can mean "no such participant
          // any more": only the session can tell.
          const fetched = await fetchSession(job, data);
          if (fetched.session && !isParticipantActive(fetched.session, data.participantId)) {
            return recordOutcome(jobId, data, goneOutcome, fetched, {}, undefined, run);
          }
        }
        await recordOutcome(jobId, data, 'rejected', undefined, { status: err.status, message: err.detail ?? err.message });
        throw new UnrecoverableError(err.message);
      }
      throw err;
    }
    // Only a read started after this point can show what the call did.
    const answered = reads.ticket();
    const answer = classifyRemoveAnswer(response, data.participantId);
    if (answer.kind === 'confirmed') {
      log.debug({ shape: answer.shape }, 'remove call succeeded');
      // VideoSDK's answer is not always a session (its SDK calls it a confirmation message); the
      // state recorded comes from a read then, made at most once a second per session (see
      // `createOutcomeRecorder`), and a failed read does not undo the removal.
      return recordOutcome(
        jobId,
        data,
        'removed',
        response,
        {},
        async () => {
          const read = await timedUnwritten(job, 'get-session', () => reads.after(data.sessionId, answered));
          run.attempts.push(read.attempt);
          return read.response;
        },
        run,
      );
    }
    for (const call of run.attempts.splice(0)) await outcomes.appendAttempt(jobId, call);
    return verifyUnconfirmed(job, data, response, answer.why, answered, log);
  }

  /**
   * A 2xx remove answer that confirms nothing (a proxy's page, `success: false`, an empty body, a
   * session still listing the participant) is an unknown result: the session, read once the
   * answer was in (shared with the session's other removals that need a read now), decides. Gone:
   * this call took effect. Still listed (or no session to be read): this try failed, and the next
   * one looks first, as after a 5xx. Never `removed` while VideoSDK lists the participant.
   */
  async function verifyUnconfirmed(
    job: Job<RemovalJobData>,
    data: RemovalJobData,
    response: ApiResponse,
    why: string,
    answered: number,
    log: Logger,
  ): Promise<RemovalResult> {
    const jobId = job.id ?? 'unknown';
    // The answer's text stays out of the log: a proxy's page can echo the request's headers.
    log.warn(
      { status: response.status, requestId: response.requestId, answer: why },
      'remove answer confirms nothing; reading the session',
    );
    metrics?.unconfirmedRemoveAnswers.inc();
    const seen = await fetchSession(job, data, answered);
    if (seen.session && !isParticipantActive(seen.session, data.participantId)) return recordOutcome(jobId, data, 'removed', seen);
    throw new RemovalUnconfirmedError({
      status: response.status,
      requestId: response.requestId,
      why,
      seen: seen.session ? 'listed' : 'unreadable',
    });
  }

  /**
   * Records `failed` for a job that BullMQ failed without the processor deciding it (it stalled
   * too often, or the last try broke before its outcome was written), so no removal ends silently.
   */
  async function settleFailed(job: Job<RemovalJobData>, err: Error): Promise<void> {
    const jobId = job.id;
    if (jobId === undefined || (await outcomes.getOutcome(jobId)) !== undefined) return;
    let data: RemovalJobData;
    try {
      data = parseRemovalJob(job.data);
    } catch {
      return;
    }
    await recordOutcome(jobId, data, 'failed', undefined, { message: err.message });
  }

  async function stopForCredential(err: VideoSdkApiError | CredentialMissingError, log: Logger): Promise<void> {
    const failure = err instanceof VideoSdkApiError ? { status: err.status, requestId: err.requestId } : { unusable: err.message };
    await pauseForCredential({ ...deps, now }, failure, log);
    deps.onCredentialRefused?.(err instanceof VideoSdkApiError ? err.status : undefined);
  }

  return { process, settleFailed };
}

export type RemovalProcessor = ReturnType<typeof createRemovalProcessor>;
