import { randomUUID } from 'node:crypto';
import { compare } from '../shared/compare.js';
import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** Where a review item stands; `expired` is computed on read from `expiresAt`, so no sweeper is needed. */
export type ReviewState = 'pending' | 'approved' | 'dismissed' | 'expired';
export const REVIEW_STATES = ['pending', 'approved', 'dismissed', 'expired'] as const;

/** One hit's worth of evidence: the event as seen and what matched. */
export interface ReviewEvidence {
  at: string;
  eventId: string;
  type: string;
  /** The chat text (or display name) the rule read, as received (the first 4,096 characters, then `…`). */
  text?: string;
  /** Words, phrases (as listed) or pattern matches (as read) of the rule found in `text`. */
  matched?: string[];
  /**
   * The text as the rules read it (folded: look-alike letters, accents and invisible characters
   * undone), around the first match, when that differs from `text` by more than case and spacing
   * or `text` was cut.
   */
  folded?: string;
  /** The rule's counters for this event (`participant:chat-message:10` -> 7) and strikes. */
  counts?: Record<string, number>;
}

/** What a rule hit makes (the immutable part of an item). */
export interface ReviewInput {
  rule: string;
  reason: string;
  rulesVersion: string;
  meetingId?: string;
  sessionId: string;
  participantId: string;
  participantName?: string;
}

/** A review item as the API answers it (public contract: `GET /v1/reviews`). */
export interface ReviewItem extends ReviewInput {
  id: string;
  state: ReviewState;
  evidence: ReviewEvidence[];
  /** Hits held in this item, including those past the evidence cap. */
  hits: number;
  createdAt: string;
  expiresAt: string;
  decidedBy?: string;
  decidedAt?: string;
  note?: string;
  ban?: string;
  removalJobId?: string;
}

export interface ReviewStoreOptions {
  redis: RedisClient;
  keys: Keys;
  /** `AUTOMOD_REVIEW_TTL` in ms: how long an item waits for a decision. */
  ttlMs: number;
  /** Evidence entries kept per item (later hits only count). Default 20. */
  evidenceCap?: number;
  /** How long an item is kept after it expires (ms). Default 7 days. */
  keepMs?: number;
  /** Items indexed at most (the oldest are dropped from lists). Default 10,000. */
  maxItems?: number;
}

const HOLD = luaScript('hold-review-7');
const DECIDE = luaScript('decide-review-3');
const UNDO = luaScript('undo-approval-2');

export type DecideResult = { ok: true } | { ok: false; reason: 'missing' | 'expired' | 'approved' | 'dismissed' };

/** The review queue in Redis: items held for a moderator, decided at most once. */
export function createReviewStore(options: ReviewStoreOptions) {
  const { redis, keys, ttlMs } = options;
  const cap = options.evidenceCap ?? 20;
  const keepMs = options.keepMs ?? 7 * 86_400_000;
  const maxItems = options.maxItems ?? 10_000;

  /** Holds a hit: answers the item's id and whether this hit made it. */
  async function hold(input: ReviewInput, evidence: ReviewEvidence, now: number): Promise<{ id: string; created: boolean }> {
    const open = keys.reviewOpen(input.sessionId, input.participantId, input.rule);
    const id = randomUUID();
    for (let tries = 0; tries < 5; tries++) {
      const current = (await redis.get(open)) ?? '';
      const other = current === '' ? id : current;
      const result = (await HOLD.run(
        redis,
        [
          open,
          keys.review(other),
          keys.reviewEvidence(other),
          keys.review(id),
          keys.reviewEvidence(id),
          keys.reviewIndex(),
          keys.reviewPending(),
        ],
        [current, JSON.stringify(input), JSON.stringify(evidence), cap, ttlMs, now, keepMs, id, maxItems, new Date(now).toISOString()],
      )) as string[];
      if (result[0] === 'retry') continue;
      return { id: result[1]!, created: result[0] === 'created' };
    }
    throw new Error('could not hold the review item: its open entry kept changing');
  }

  async function get(id: string, now: number): Promise<ReviewItem | undefined> {
    const [[, hash], [, evidence]] = (await redis.multi().hgetall(keys.review(id)).lrange(keys.reviewEvidence(id), 0, -1).exec()) as [
      [unknown, Record<string, string>],
      [unknown, string[]],
    ];
    if (!hash || hash.data === undefined) return undefined;
    return toItem(id, hash, evidence ?? [], now);
  }

  /** Items newest first, of one state when given (at most `limit`, default 100). */
  async function list(filter: { state?: ReviewState; limit?: number }, now: number): Promise<ReviewItem[]> {
    const limit = filter.limit ?? 100;
    const ids =
      filter.state === 'pending'
        ? (await redis.zrangebyscore(keys.reviewPending(), `(${now}`, '+inf')).reverse()
        : await redis.zrevrange(keys.reviewIndex(), 0, maxItems - 1);
    const items: ReviewItem[] = [];
    for (let i = 0; i < ids.length && items.length < limit; i += 100) {
      const found = await Promise.all(ids.slice(i, i + 100).map((id) => get(id, now)));
      for (const item of found) if (item && (!filter.state || item.state === filter.state)) items.push(item);
    }
    return items.sort((a, b) => compare(b.createdAt, a.createdAt)).slice(0, limit);
  }

  /** Items waiting for a decision now (for the gauge and the console). */
  function pendingCount(now: number): Promise<number> {
    return redis.zcount(keys.reviewPending(), `(${now}`, '+inf');
  }

  async function decide(
    id: string,
    decision: { state: 'approved' | 'dismissed'; by: string; at: string; note?: string; ban?: string },
    now: number,
  ): Promise<DecideResult> {
    const item = await redis.hget(keys.review(id), 'data');
    const input = item === null ? undefined : (JSON.parse(item) as ReviewInput);
    const open = input ? keys.reviewOpen(input.sessionId, input.participantId, input.rule) : keys.review(id);
    const result = (await DECIDE.run(
      redis,
      [keys.review(id), open, keys.reviewPending()],
      [decision.state, decision.by, decision.at, now, decision.note ?? '', decision.ban ?? '', id],
    )) as string;
    if (result === 'ok') return { ok: true };
    return { ok: false, reason: result as 'missing' | 'expired' | 'approved' | 'dismissed' };
  }

  async function setRemovalJob(id: string, jobId: string): Promise<void> {
    await redis.hset(keys.review(id), 'removalJobId', jobId);
  }

  async function undoApproval(id: string, decidedAt: string): Promise<void> {
    await UNDO.run(redis, [keys.review(id), keys.reviewPending()], ['approved', decidedAt, id]);
  }

  return { hold, get, list, pendingCount, decide, setRemovalJob, undoApproval };
}

export type ReviewStore = ReturnType<typeof createReviewStore>;

function toItem(id: string, hash: Record<string, string>, evidence: readonly string[], now: number): ReviewItem {
  const input = JSON.parse(hash.data!) as ReviewInput;
  const expiresAtMs = Number(hash.expiresAtMs);
  const stored = hash.state as ReviewState;
  const created = JSON.parse(evidence[0] ?? '{}') as Partial<ReviewEvidence>;
  return {
    id,
    state: stored === 'pending' && expiresAtMs <= now ? 'expired' : stored,
    ...input,
    evidence: evidence.map((e) => JSON.parse(e) as ReviewEvidence),
    hits: Number(hash.hits ?? evidence.length),
    createdAt: hash.createdAt ?? created.at ?? new Date(expiresAtMs).toISOString(),
    expiresAt: new Date(expiresAtMs).toISOString(),
    ...(hash.decidedBy ? { decidedBy: hash.decidedBy } : {}),
    ...(hash.decidedAt ? { decidedAt: hash.decidedAt } : {}),
    ...(hash.note ? { note: hash.note } : {}),
    ...(hash.ban ? { ban: hash.ban } : {}),
    ...(hash.removalJobId ? { removalJobId: hash.removalJobId } : {}),
  };
}
