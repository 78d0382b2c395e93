import { randomUUID } from 'node:crypto';
import type { Queue } from 'bullmq';
import type { Logger } from '../shared/logger.js';
import type { RemovalClaims } from '../store/removal-claims.js';
import type { RemovalJobData } from './removal-job.js';

export interface RemovalRequestResult {
  jobId: string;
  /** True when an earlier request for the same participant stands in for this one. */
  collapsed: boolean;
}

/** States in which a removal job is still going to run. */
const LIVE_STATES = new Set(['waiting', 'active', 'delayed', 'prioritized', 'paused', 'waiting-children']);

/** Options of a removal request. */
export interface RemovalRequestOptions {
  /** Operator removals and replays: never collapsed by an earlier success, only by one still pending. */
  force?: boolean;
  /**
   * When the event that asked was received (ms since the epoch: its events job's timestamp). An
   * event received after an earlier removal of the participant finished proves them back (nobody
   * chats from outside the meeting): it asks again at once, looking first, instead of collapsing.
   */
  receivedAt?: number | undefined;
  /**
   * BullMQ priority (`BULK_PRIORITY` for operators' lists): any job without one is taken first, so
   * the removals rules ask for are never starved by a bulk list.
   */
  priority?: number | undefined;
}

/** Priority of bulk list removals: behind every removal a rule asks for (those carry none). */
export const BULK_PRIORITY = 10;

/**
 * Turns removal requests into jobs on the `removals` queue, at most one per session and participant:
 * a request while one is queued or running collapses into it, and so does a rule's request within
 * the dedup window after a success, unless its event was received after that success (the
 * participant is back). Operator removals and replays (`force`) are never collapsed by an earlier
 * success, only by one still pending.
 */
export function createRemovalRequester(deps: { queue: Queue<RemovalJobData>; claims: RemovalClaims; logger: Logger }) {
  const { queue, claims, logger } = deps;

  async function request(data: RemovalJobData, options: RemovalRequestOptions = {}): Promise<RemovalRequestResult> {
    const force = options.force ?? false;
    const priority = options.priority ? { priority: options.priority } : {};
    const jobId = randomUUID();
    const enqueue = async (again = false): Promise<RemovalRequestResult> => {
      // A participant removed before and back: they may be gone again already (their leave not yet
      // seen), so the new removal looks before it sends.
      const job = again ? { ...data, verifyFirst: true } : data;
      if (again)
        logger.info(
          { sessionId: data.sessionId, participantId: data.participantId, jobId },
          'participant back after a removal: removing again',
        );
      try {
        await queue.add('remove', job, { jobId, ...priority });
      } catch (err) {
        await claims.release(data.sessionId, data.participantId, jobId).catch(() => undefined);
        throw err;
      }
      return { jobId, collapsed: false };
    };
    for (let tries = 0; tries < 3; tries++) {
      const claim = await claims.claim(data.sessionId, data.participantId, jobId, { force, receivedAt: options.receivedAt });
      if (claim.claimed) return enqueue(claim.again === true);
      if (claim.state === 'done') return { jobId: claim.existingJobId, collapsed: true };
      // A pending claim whose job no longer runs (its producer died between claim and add, or the job
      // was removed by hand) must not block removals: take it over.
      const state = await queue.getJobState(claim.existingJobId);
      if (LIVE_STATES.has(state)) return { jobId: claim.existingJobId, collapsed: true };
      logger.warn(
        { sessionId: data.sessionId, participantId: data.participantId, staleJobId: claim.existingJobId, state },
        'taking over a stale removal claim',
      );
      if (await claims.takeOver(data.sessionId, data.participantId, `pending:${claim.existingJobId}`, jobId)) return enqueue();
    }
    throw new Error(`could not claim the removal of ${data.participantId} in session ${data.sessionId}`);
  }

  /**
   * Many requests at once (bulk removals): claims go out together and the claimed jobs are added
   * with one `addBulk` per chunk, so 10,000 removals cost a few dozen round trips, not 20,000.
   */
  async function requestMany(
    items: readonly RemovalJobData[],
    options: { force?: boolean; priority?: number } = {},
  ): Promise<RemovalRequestResult[]> {
    const force = options.force ?? false;
    const priority = options.priority ? { priority: options.priority } : {};
    const results: RemovalRequestResult[] = [];
    for (let start = 0; start < items.length; start += CHUNK) {
      const chunk = items.slice(start, start + CHUNK);
      const ids = chunk.map(() => randomUUID());
      const claimed = await Promise.all(chunk.map((data, i) => claims.claim(data.sessionId, data.participantId, ids[i]!, { force })));
      const toAdd = chunk.flatMap((data, i) =>
        claimed[i]?.claimed ? [{ name: 'remove', data, opts: { jobId: ids[i]!, ...priority } }] : [],
      );
      if (toAdd.length > 0) {
        try {
          await queue.addBulk(toAdd);
        } catch (err) {
          await Promise.all(toAdd.map((j) => claims.release(j.data.sessionId, j.data.participantId, j.opts.jobId).catch(() => undefined)));
          throw err;
        }
      }
      for (let i = 0; i < chunk.length; i++) {
        const claim = claimed[i]!;
        // Contested ones (rare) take the careful one-at-a-time path.
        results.push(claim.claimed ? { jobId: ids[i]!, collapsed: false } : await request(chunk[i]!, { force, ...priority }));
      }
    }
    return results;
  }

  return { request, requestMany };
}

const CHUNK = 500;

export type RemovalRequester = ReturnType<typeof createRemovalRequester>;
