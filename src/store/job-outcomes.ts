import type { ChainableCommander } from 'ioredis';
import type { ApiAttemptRecord } from './audit.js';
import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** The final (or latest) outcome of one removal job. */
export interface JobOutcome {
  /** `removed`, `already-gone`, `rejected`, `failed`, ... */
  outcome: string;
  /** HTTP status that decided it, when one did. */
  status?: number;
  message?: string;
  /** ISO time it was reached. */
  at: string;
}

/** Per removal job: every API attempt and the outcome, kept beside BullMQ's own job record. */
export interface JobOutcomeStore {
  /** How long attempts, outcome and marks live after the last write (seconds). */
  readonly retentionSeconds: number;
  /** Records one API call made for the job (the newest 100 are kept). */
  appendAttempt(jobId: string, attempt: ApiAttemptRecord): Promise<void>;
  /** The recorded API calls, oldest first. */
  attempts(jobId: string): Promise<ApiAttemptRecord[]>;
  setOutcome(jobId: string, outcome: JobOutcome): Promise<void>;
  getOutcome(jobId: string): Promise<JobOutcome | undefined>;
  /**
   * Records, before a remove call goes out, that one is about to (read, with every remove call
   * `appendAttempt` records, by `RemovalClaims.beginRun`: a try that finds it checks first): a run killed while its POST is
   * in flight leaves no attempt behind, and the run that takes the job over must still check the
   * session first instead of sending blind.
   */
  markRemoveSending(jobId: string): Promise<void>;
  /** Forgets the job's attempts and outcome (a replay starts from what VideoSDK says now). */
  clear(jobId: string): Promise<void>;
}

/** Options of `createJobOutcomeStore`. */
export interface JobOutcomeStoreOptions {
  redis: RedisClient;
  keys: Keys;
  /** How long attempts and outcome live after the last write. */
  retentionSeconds: number;
  /** Attempts kept per job. Default 100. */
  maxAttempts?: number;
  /**
   * Jobs whose records are kept at most (`AUTOMOD_REMOVAL_RECORDS_MAX`); past it the records of
   * the least recently written job go. Default: no cap beyond the TTL.
   */
  maxJobs?: number;
  now?: () => number;
}

// Indexes the job and pops the oldest past the cap (commands/includes/track-job.lua).
const TRACK = luaScript('track-job-1');

/** Operation name of the remove-participant call in `ApiAttemptRecord.operation`. */
export const REMOVE_OPERATION = 'remove';

/** Creates the job outcome store. */
export function createJobOutcomeStore({
  redis,
  keys,
  retentionSeconds,
  maxAttempts = 100,
  maxJobs,
  now = Date.now,
}: JobOutcomeStoreOptions): JobOutcomeStore {
  const ttl = Math.max(1, Math.floor(retentionSeconds));
  const cap = maxJobs ?? Number.MAX_SAFE_INTEGER;
  const track = (chain: ChainableCommander, jobId: string) => TRACK.addTo(chain, [keys.jobIndex()], [now(), jobId, cap, ttl]);
  // The last reply of the chain is the script's: the jobs past the cap, whose keys go now.
  const dropPopped = async (replies: [Error | null, unknown][] | null) => {
    const last = replies?.at(-1);
    if (!last || last[0]) return;
    const popped = (last[1] as string[]).filter((_, i) => i % 2 === 0);
    if (popped.length > 0) await redis.del(...popped.flatMap((id) => [keys.jobOutcome(id), keys.jobAttempts(id), keys.jobRemoveSent(id)]));
  };
  const attempts = async (jobId: string): Promise<ApiAttemptRecord[]> =>
    (await redis.lrange(keys.jobAttempts(jobId), 0, -1)).flatMap((raw) => {
      const parsed = parseJson(raw);
      return parsed && typeof parsed === 'object' ? [parsed as ApiAttemptRecord] : [];
    });

  return {
    retentionSeconds: ttl,

    async appendAttempt(jobId, attempt) {
      const key = keys.jobAttempts(jobId);
      const multi = redis.multi().rpush(key, JSON.stringify(attempt)).ltrim(key, -maxAttempts, -1).expire(key, ttl);
      // A marker of its own: the capped list may already have dropped the first remove call.
      if (attempt.operation === REMOVE_OPERATION) multi.set(keys.jobRemoveSent(jobId), '1', 'EX', ttl);
      else multi.expire(keys.jobRemoveSent(jobId), ttl);
      track(multi, jobId);
      await dropPopped(await multi.exec());
    },

    attempts,

    async setOutcome(jobId, outcome) {
      const multi = redis.multi().set(keys.jobOutcome(jobId), JSON.stringify(outcome), 'EX', ttl);
      track(multi, jobId);
      await dropPopped(await multi.exec());
    },

    async getOutcome(jobId) {
      const raw = await redis.get(keys.jobOutcome(jobId));
      const parsed = raw === null ? undefined : parseJson(raw);
      return parsed && typeof parsed === 'object' ? (parsed as JobOutcome) : undefined;
    },

    async markRemoveSending(jobId) {
      const multi = redis.multi().set(keys.jobRemoveSent(jobId), '1', 'EX', ttl);
      track(multi, jobId);
      await dropPopped(await multi.exec());
    },

    async clear(jobId) {
      await redis
        .multi()
        .del(keys.jobOutcome(jobId), keys.jobAttempts(jobId), keys.jobRemoveSent(jobId))
        .zrem(keys.jobIndex(), jobId)
        .exec();
    },
  };
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}
