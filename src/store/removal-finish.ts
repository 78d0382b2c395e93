import type { ApiAttemptRecord, AuditRecord } from './audit.js';
import type { JobOutcome } from './job-outcomes.js';
import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';
import type { SessionRemoval } from './session-store.js';

/** The end of one removal try, as recorded (see `RemovalFinisher.finish`). */
export interface RemovalFinish {
  jobId: string;
  sessionId: string;
  participantId: string;
  outcome: JobOutcome;
  /** API calls of the try not written yet (a remove call's answer, a read after it), oldest first. */
  attempts: readonly ApiAttemptRecord[];
  /** `done` keeps the claim for the dedup window (a success); `release` frees it. */
  settle: 'done' | 'release';
  /** The in-flight fence this try holds, released with the record. */
  fenceToken?: string | undefined;
  /** The session object to record (the newer of two is kept), with when it was read (ms). */
  session?: { object: unknown; at: number } | undefined;
  removal: SessionRemoval;
  /** The audit record; the job's API calls are added from Redis. */
  audit: Omit<AuditRecord, 'attempts'>;
}

/** Options of `createRemovalFinisher`: the same limits the stores that read these keys use. */
export interface RemovalFinisherOptions {
  redis: RedisClient;
  keys: Keys;
  /** Lifetime of a job's outcome, API calls and marks (the job outcome store's retention). */
  jobRetentionSeconds: number;
  /** Jobs whose records are kept at most (`AUTOMOD_REMOVAL_RECORDS_MAX`). */
  maxJobs?: number | undefined;
  /** API calls kept per job. Default 100. */
  maxAttempts?: number;
  /** The claim's dedup window after a success (`AUTOMOD_DEDUP_SECONDS`). */
  dedupSeconds: number;
  /** Lifetime of a session's record after its last write. */
  sessionRetentionSeconds: number;
  /** Removals kept per session. Default 1000. */
  maxRemovals?: number;
  /** Audit records kept (approximately). */
  auditMaxRecords: number;
  now?: () => number;
}

const FINISH = luaScript('finish-removal-9');

/**
 * Records how a removal try ended in one script call, where it took a MULTI of six commands (three
 * of them scripts sent as source), a read of the job's API calls before it and a fence release
 * after. The job outcome store, the session store, the audit trail and the claims read what it
 * writes; the Lua it shares with them lives in `commands/includes/`.
 */
export function createRemovalFinisher(options: RemovalFinisherOptions) {
  const { redis, keys, maxAttempts = 100, maxRemovals = 1000, now = Date.now } = options;
  const jobTtl = Math.max(1, Math.floor(options.jobRetentionSeconds));
  const sessionTtl = Math.max(1, Math.floor(options.sessionRetentionSeconds));
  const dedup = Math.max(1, Math.floor(options.dedupSeconds));
  const cap = options.maxJobs ?? Number.MAX_SAFE_INTEGER;

  async function finish(f: RemovalFinish): Promise<void> {
    const t = now();
    const auditMs = Date.parse(f.audit.at);
    const auditJson = JSON.stringify(f.audit);
    const popped = (await FINISH.run(
      redis,
      [
        keys.jobOutcome(f.jobId),
        keys.jobAttempts(f.jobId),
        keys.jobRemoveSent(f.jobId),
        keys.jobIndex(),
        keys.removalClaim(f.sessionId, f.participantId),
        keys.removalFence(f.sessionId, f.participantId),
        keys.session(f.sessionId),
        keys.sessionRemovals(f.sessionId),
        keys.audit(),
      ],
      [
        f.jobId,
        JSON.stringify(f.outcome),
        jobTtl,
        t,
        cap,
        // One per line: JSON text holds no raw newline.
        f.attempts.map((a) => JSON.stringify(a)).join('\n'),
        f.attempts.some((a) => a.operation === 'remove') ? 1 : 0,
        maxAttempts,
        f.settle,
        dedup,
        f.fenceToken ?? '',
        f.session ? JSON.stringify(f.session.object ?? null) : '',
        f.session ? Math.floor(f.session.at) : 0,
        sessionTtl,
        JSON.stringify(f.removal),
        maxRemovals,
        Number.isNaN(auditMs) || auditMs < 0 ? t : auditMs,
        options.auditMaxRecords,
        // Without the closing brace: the script adds `"attempts":[...]}`.
        auditJson.slice(0, -1),
      ],
    )) as string[];
    const jobs = popped.filter((_, i) => i % 2 === 0);
    if (jobs.length > 0) await redis.del(...jobs.flatMap((id) => [keys.jobOutcome(id), keys.jobAttempts(id), keys.jobRemoveSent(id)]));
  }

  return { finish };
}

export type RemovalFinisher = ReturnType<typeof createRemovalFinisher>;
