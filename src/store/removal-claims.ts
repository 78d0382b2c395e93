import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** The state of a claim held by another job. */
export type ClaimState = 'pending' | 'done';

/** Answer of `claim`. */
export type ClaimResult =
  | {
      claimed: true;
      /**
       * The claim was a finished removal's, and the request came from an event received after it
       * finished: the participant is back, and the new removal must look first.
       */
      again?: true;
    }
  | {
      claimed: false;
      existingJobId: string;
      state: ClaimState;
      /** The raw claim value, to hand to `takeOver` as the expected value. */
      value: string;
    };

/** Options of `claim`. */
export interface ClaimOptions {
  /** Operator removals and replays: a `done` claim yields. */
  force?: boolean;
  /**
   * When the event that asked was received (ms since the epoch). Received after the removal the
   * `done` claim stands for finished (by more than the clock skew allowed), it proves the
   * participant back, so the claim yields (`again`); received before, it is one of the messages
   * that were on their way (a raid's), and collapses.
   */
  receivedAt?: number | undefined;
}

/**
 * Collapse of repeated removal requests for one (session, participant). The claim value is
 * `pending:<jobId>` while a job is queued or running and `done:<jobId>:<ms>` for the dedup window
 * after it succeeded, `<ms>` being when it finished by Redis's clock (`done:<jobId>` when written
 * before that was recorded). Job ids hold no `:` (BullMQ refuses them).
 */
export interface RemovalClaims {
  /**
   * Claims the participant for `jobId`. A job that already holds the pending claim (a retry of
   * itself) gets it again. A `done` claim (even one this job left) yields only to `force` (operator
   * removals, replays) and to a request from an event received after that removal finished.
   */
  claim(sessionId: string, participantId: string, jobId: string, options?: ClaimOptions): Promise<ClaimResult>;
  /**
   * Takes the claim over when it still holds `expectedValue` (or nothing): used after the caller
   * found that the job named in a pending claim no longer exists.
   */
  takeOver(sessionId: string, participantId: string, expectedValue: string, jobId: string): Promise<boolean>;
  /** Marks the removal done for the dedup window, if the claim is still this job's or absent. */
  complete(sessionId: string, participantId: string, jobId: string): Promise<boolean>;
  /** Drops this job's claim (it failed or was rejected): a later request may try again. */
  release(sessionId: string, participantId: string, jobId: string): Promise<boolean>;
  /**
   * Ends the dedup window after a success for each participant (they joined again), in one round
   * trip; pending claims stay. Answers how many windows it ended.
   */
  endWindows(participants: readonly { sessionId: string; participantId: string }[]): Promise<number>;
  /** Releases the in-flight fence (taken by `beginRun`) if `token` still holds it. */
  releaseFence(sessionId: string, participantId: string, token: string): Promise<boolean>;
  /**
   * Everything a removal try does before its API calls, in one round trip: reads the job's
   * recorded outcome (a success ends the try: `done`), whether a lockdown ended the session
   * (`ended`: nobody is left to remove), takes the fence (`fenced` when held), reads
   * the job's "remove sent" mark, claims the participant, and, when `sendDirect` says no check
   * comes first and nothing was sent before and the claim is this job's, writes the "remove sent"
   * mark ahead of the call.
   */
  beginRun(input: BeginRunInput): Promise<BeginRunResult>;
}

/** What a removal try states up front (see `beginRun`). */
export interface BeginRunInput {
  sessionId: string;
  participantId: string;
  jobId: string;
  fenceToken: string;
  fenceTtlMs: number;
  /** The try would send without looking first, if nothing in Redis says otherwise. */
  sendDirect: boolean;
  /** Lifetime of the "remove sent" mark (the job outcome store's retention). */
  markTtlSeconds: number;
}

/** Answer of `beginRun`. */
export type BeginRunResult =
  | { kind: 'done'; outcome: 'removed' | 'already-gone' }
  /** A lockdown ended the session: everyone left with it (a remove call sent before took effect or found them gone). */
  | { kind: 'ended'; sentBefore: boolean }
  | { kind: 'fenced' }
  | {
      kind: 'go';
      /** An earlier try of this job recorded a remove call (or was about to send one). */
      sentBefore: boolean;
      /** The claim is this job's; false when another job's claim stands. */
      claimed: boolean;
      /** The "remove sent" mark was written: the caller sends without writing it again. */
      marked: boolean;
    };

/** Options of `createRemovalClaims`. */
export interface RemovalClaimsOptions {
  redis: RedisClient;
  keys: Keys;
  /** How long a `done` claim lasts (`AUTOMOD_DEDUP_SECONDS`). */
  dedupSeconds: number;
  /**
   * Bound on a `pending` claim, so a claim of a job that vanished without releasing it (its
   * Redis data lost, a bug) cannot block the participant forever. Default max(dedupSeconds, 3600).
   */
  pendingSeconds?: number;
  /**
   * How much later than a removal finished (Redis's clock) an event must have been received (the
   * receiving host's clock) to prove the participant back: the skew allowed between those clocks.
   * Default `REJOIN_SKEW_MS`.
   */
  skewMs?: number;
}

/**
 * Default `skewMs`: 2 s. Nobody is back in a meeting and typing within 2 s of being removed, while
 * hosts a few seconds apart would make a raid's messages on their way look like new ones (each a
 * look first and nothing else; a rejoin's join event ends the window anyway).
 */
export const REJOIN_SKEW_MS = 2000;

/** Builds a claim value; exposed for tests and for callers that compare values. */
export function claimValue(state: ClaimState, jobId: string): string {
  return `${state}:${jobId}`;
}

/** A claim value read: its state, its job and, for a `done` claim, when the removal finished (ms). */
function parseClaim(value: string): { state: ClaimState; jobId: string; doneAt?: number } {
  const colon = value.indexOf(':');
  const state = value.slice(0, colon);
  const rest = value.slice(colon + 1);
  if (state !== 'done') return { state: 'pending', jobId: rest };
  const stamped = /^([^:]*):(\d+)$/.exec(rest);
  return stamped ? { state: 'done', jobId: stamped[1]!, doneAt: Number(stamped[2]) } : { state: 'done', jobId: rest };
}

// The scripts, each with its KEYS and ARGV, are in commands/ (the claim values in includes/settle-claim.lua).
const CLAIM = luaScript('claim-removal-1');
const TAKE_OVER = luaScript('take-over-claim-1');
const COMPLETE = luaScript('complete-claim-1');
const RELEASE = luaScript('release-claim-1');
const END_WINDOWS = luaScript('end-windows-n');
const RELEASE_FENCE = luaScript('release-fence-1');
const BEGIN_RUN = luaScript('begin-run-5');

/** Creates the removal claims. */
export function createRemovalClaims({ redis, keys, dedupSeconds, pendingSeconds, skewMs }: RemovalClaimsOptions): RemovalClaims {
  const dedup = Math.max(1, Math.floor(dedupSeconds));
  const skew = Math.max(0, Math.floor(skewMs ?? REJOIN_SKEW_MS));
  const pendingTtl = Math.max(1, Math.floor(pendingSeconds ?? Math.max(dedup, 3600)));
  const key = (sessionId: string, participantId: string): string => keys.removalClaim(sessionId, participantId);

  return {
    async claim(sessionId, participantId, jobId, options = {}) {
      const receivedAt = options.receivedAt !== undefined && Number.isFinite(options.receivedAt) ? Math.floor(options.receivedAt) : '';
      const reply = await CLAIM.run(redis, [key(sessionId, participantId)], [jobId, options.force ? 1 : 0, pendingTtl, receivedAt, skew]);
      if (reply === 1) return { claimed: true };
      if (reply === 2) return { claimed: true, again: true };
      const value = String(reply);
      const { state, jobId: existingJobId } = parseClaim(value);
      return { claimed: false, existingJobId, state, value };
    },

    async takeOver(sessionId, participantId, expectedValue, jobId) {
      return (await TAKE_OVER.run(redis, [key(sessionId, participantId)], [expectedValue, jobId, pendingTtl])) === 1;
    },

    async complete(sessionId, participantId, jobId) {
      return (await COMPLETE.run(redis, [key(sessionId, participantId)], [jobId, dedup])) === 1;
    },

    async release(sessionId, participantId, jobId) {
      return (await RELEASE.run(redis, [key(sessionId, participantId)], [jobId])) === 1;
    },

    async endWindows(participants) {
      if (participants.length === 0) return 0;
      const claimKeys = [...new Set(participants.map((p) => key(p.sessionId, p.participantId)))];
      return Number(await END_WINDOWS.run(redis, claimKeys, []));
    },

    async releaseFence(sessionId, participantId, token) {
      return (await RELEASE_FENCE.run(redis, [keys.removalFence(sessionId, participantId)], [token])) === 1;
    },

    async beginRun(input) {
      const { sessionId, participantId, jobId } = input;
      const reply = (await BEGIN_RUN.run(
        redis,
        [
          keys.jobOutcome(jobId),
          keys.removalFence(sessionId, participantId),
          keys.jobRemoveSent(jobId),
          key(sessionId, participantId),
          keys.sessionEnded(sessionId),
        ],
        [
          input.fenceToken,
          Math.max(1, Math.floor(input.fenceTtlMs)),
          jobId,
          pendingTtl,
          input.sendDirect ? 1 : 0,
          Math.max(1, Math.floor(input.markTtlSeconds)),
        ],
      )) as [string, ...unknown[]];
      if (reply[0] === 'done') return { kind: 'done', outcome: reply[1] === 'removed' ? 'removed' : 'already-gone' };
      if (reply[0] === 'ended') return { kind: 'ended', sentBefore: reply[1] === 1 };
      if (reply[0] === 'fenced') return { kind: 'fenced' };
      return { kind: 'go', sentBefore: reply[1] === 1, claimed: reply[2] === 1, marked: reply[3] === 1 };
    },
  };
}
