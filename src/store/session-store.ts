import type { ChainableCommander } from 'ioredis';
import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** One removal as recorded with its session (the `GET /v1/sessions/:id` `removals` items). */
export interface SessionRemoval {
  participantId: string;
  outcome: string;
  reason: string;
  rule: string | null;
  jobId: string;
  /** ISO time the outcome was reached. */
  at: string;
}

/** What is recorded about one session: the `GET /v1/sessions/:id` body. */
export interface RecordedSession {
  sessionId: string;
  /** The last session object VideoSDK returned; null when only removals are recorded yet. */
  session: unknown;
  /** ISO time of the last session object, or of the last removal when there is none. */
  updatedAt: string;
  /** The job that produced the session object. */
  jobId?: string;
  /** Oldest first. */
  removals: SessionRemoval[];
}

/** Recorded session state: the session object after each removal, and the removals themselves. */
export interface SessionStore {
  /**
   * Adds to a MULTI the caller sends: store the session object, unless a newer one (by `meta.at`)
   * is recorded already.
   */
  recordSessionTo(tx: ChainableCommander, sessionId: string, session: unknown, meta: { jobId: string; at: number }): void;
  /** Adds to a MULTI the caller sends: append a removal outcome to the session's list. */
  recordRemovalTo(
    tx: ChainableCommander,
    sessionId: string,
    removal: { participantId: string; outcome: string; reason: string; rule?: string; jobId: string; at: string },
  ): void;
  /** Everything recorded about a session; undefined when nothing is. */
  get(sessionId: string): Promise<RecordedSession | undefined>;
}

/** Options of `createSessionStore`. */
export interface SessionStoreOptions {
  redis: RedisClient;
  keys: Keys;
  /** How long a session's record lives after its last write. */
  retentionSeconds: number;
  /** Removals kept per session (the oldest are dropped). Default 1000. */
  maxRemovals?: number;
}

// Two removal jobs of one session can finish in any order: keep the newer session object. Both
// keys get their TTL refreshed together so a session and its removals expire as one.
const RECORD_SESSION = luaScript('record-session-2');

/** Creates the session store. */
export function createSessionStore({ redis, keys, retentionSeconds, maxRemovals = 1000 }: SessionStoreOptions): SessionStore {
  const ttl = Math.max(1, Math.floor(retentionSeconds));
  return {
    recordSessionTo(tx, sessionId, session, meta) {
      RECORD_SESSION.addTo(
        tx,
        [keys.session(sessionId), keys.sessionRemovals(sessionId)],
        [Math.floor(meta.at), meta.jobId, JSON.stringify(session ?? null), ttl],
      );
    },

    recordRemovalTo(tx, sessionId, removal) {
      const item: SessionRemoval = {
        participantId: removal.participantId,
        outcome: removal.outcome,
        reason: removal.reason,
        rule: removal.rule ?? null,
        jobId: removal.jobId,
        at: removal.at,
      };
      const list = keys.sessionRemovals(sessionId);
      tx.rpush(list, JSON.stringify(item)).ltrim(list, -maxRemovals, -1).expire(list, ttl).expire(keys.session(sessionId), ttl);
    },

    async get(sessionId) {
      const replies = await redis.multi().hgetall(keys.session(sessionId)).lrange(keys.sessionRemovals(sessionId), 0, -1).exec();
      const [hashErr, hash] = replies?.[0] ?? [null, {}];
      const [listErr, list] = replies?.[1] ?? [null, []];
      if (hashErr) throw hashErr;
      if (listErr) throw listErr;
      const fields = hash as Record<string, string>;
      const removals = (list as string[]).flatMap((raw) => {
        const parsed = parseJson(raw);
        return parsed && typeof parsed === 'object' ? [parsed as SessionRemoval] : [];
      });
      const hasSession = fields.s !== undefined;
      if (!hasSession && removals.length === 0) return undefined;
      const updatedAt = hasSession ? new Date(Number(fields.at)).toISOString() : (removals.at(-1)?.at ?? new Date(0).toISOString());
      return {
        sessionId,
        session: hasSession ? (parseJson(fields.s ?? 'null') ?? null) : null,
        updatedAt,
        ...(fields.jobId ? { jobId: fields.jobId } : {}),
        removals,
      };
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
