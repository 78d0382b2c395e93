import type { Job } from 'bullmq';
import type { RemovalJobData } from '../../src/removals/removal-job.js';
import type { SimCall } from '../../src/simulator/simulator.js';
import type { JobOutcome } from '../../src/store/job-outcomes.js';
import { waitFor, type Harness } from './harness.js';

/** A removal job that has finished, as the tests read it. */
export interface SettledRemoval {
  state: 'completed' | 'failed';
  /** Read after the state: a job read before it finished carries its old attempt count. */
  attemptsMade: number;
  /** The outcome recorded for it. */
  outcome: JobOutcome | undefined;
  job: Job<RemovalJobData>;
}

/** Waits until removal job `jobId` has completed or failed, and answers how it ended. */
export async function removalSettled(h: Harness, jobId: string, timeoutMs = 15_000): Promise<SettledRemoval> {
  const { queues, outcomes } = h.automod.services;
  return waitFor(
    async () => {
      const state = await queues.removals.getJobState(jobId);
      if (state !== 'completed' && state !== 'failed') return undefined;
      const job = (await queues.removals.getJob(jobId)) as Job<RemovalJobData> | undefined;
      if (!job) return undefined;
      return { state, attemptsMade: job.attemptsMade, outcome: await outcomes.getOutcome(jobId), job };
    },
    timeoutMs,
    `removal job ${jobId} to finish`,
  );
}

/** The calls the simulator received for session `sid`, oldest first. */
export const callsOf = (h: Harness, sid: string): SimCall[] => h.simulator.calls().filter((c) => c.sessionId === sid);

/** Calls as `METHOD status` (`reset` when no answer came), for comparing call sequences. */
export const callShapes = (calls: readonly SimCall[]): string[] => calls.map((c) => `${c.method} ${c.status ?? 'reset'}`);
