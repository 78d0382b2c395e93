import type { BanScope } from '../moderation/ban-params.js';
import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** One ban, as stored and answered (`GET /v1/bans`). */
export interface Ban {
  participantId: string;
  scope: BanScope;
  /** Set for `meeting` scope. */
  meetingId?: string;
  /** ISO end, or null when permanent. */
  until: string | null;
  reason: string;
  /** The rule that made it (rule bans). */
  rule?: string;
  rulesVersion?: string;
  /** `rule:NAME`, `operator:USER` or `api`. */
  by: string;
  /** ISO time it was made (Redis time). */
  at: string;
}

/** What making a ban takes (times come from Redis). */
export interface NewBan {
  participantId: string;
  scope: BanScope;
  meetingId?: string;
  /** Milliseconds from now (Redis time), or null for permanent. */
  forMs: number | null;
  reason: string;
  rule?: string;
  rulesVersion?: string;
  by: string;
}

/** The stored form: times in epoch ms, so Redis computes them. */
interface StoredBan extends Omit<Ban, 'until' | 'at'> {
  untilMs?: number;
  atMs: number;
}

/** What `create` did: `made` a new (or replacing) ban, or `kept` a longer one already there. */
export interface CreateResult {
  ban: Ban;
  created: boolean;
}

/** Most bans one listing reads. */
export const MAX_LISTED_BANS = 10_000;

const CREATE = luaScript('create-ban-2');

/** Bans in Redis: one key per ban (O(1) lookups), an index by expiry for listing. */
export function createBanStore({ redis, keys }: { redis: RedisClient; keys: Pick<Keys, 'ban' | 'banIndex'> }) {
  const keyOf = (scope: BanScope, meetingId: string | undefined, participantId: string) => keys.ban(scope, meetingId, participantId);

  /** The two keys that can ban a participant in a meeting: the meeting's and every meeting's. */
  const coveringKeys = (meetingId: string | undefined, participantId: string): [string, string] => [
    keyOf('meeting', meetingId, participantId),
    keyOf('all', undefined, participantId),
  ];

  return {
    keyOf,

    /** Makes a ban (replacing one of the same scope), unless `keepLonger` and a longer one holds. */
    async create(input: NewBan, options: { keepLonger?: boolean } = {}): Promise<CreateResult> {
      const stored: Omit<StoredBan, 'atMs'> = {
        participantId: input.participantId,
        scope: input.scope,
        ...(input.scope === 'meeting' ? { meetingId: input.meetingId ?? '' } : {}),
        reason: input.reason,
        ...(input.rule !== undefined ? { rule: input.rule } : {}),
        ...(input.rulesVersion !== undefined ? { rulesVersion: input.rulesVersion } : {}),
        by: input.by,
      };
      const key = keyOf(input.scope, input.meetingId, input.participantId);
      const [created, value] = (await CREATE.run(
        redis,
        [key, keys.banIndex()],
        [input.forMs ?? 0, JSON.stringify(stored), options.keepLonger ? '1' : '0'],
      )) as [number, string];
      return { ban: toBan(JSON.parse(value) as StoredBan), created: created === 1 };
    },

    /**
     * The ban in force for a participant in a meeting, one MGET (both keys share the hash tag).
     * When both scopes ban, the longer one answers.
     */
    async lookup(meetingId: string | undefined, participantId: string): Promise<Ban | undefined> {
      const values = await redis.mget(...coveringKeys(meetingId, participantId));
      return longestBan(values);
    },

    /**
     * `lookup` for many participants in one MGET (the events hot path: a batch of events costs one
     * command, sent beside the counters script, so it adds no wait of its own).
     */
    async lookupMany(targets: readonly { meetingId: string | undefined; participantId: string }[]): Promise<(Ban | undefined)[]> {
      if (targets.length === 0) return [];
      const values = await redis.mget(...targets.flatMap((t) => coveringKeys(t.meetingId, t.participantId)));
      return targets.map((_, i) => longestBan([values[2 * i] ?? null, values[2 * i + 1] ?? null]));
    },

    /** Lifts one ban; answers it, or undefined when there was none. */
    async lift(scope: BanScope, meetingId: string | undefined, participantId: string): Promise<Ban | undefined> {
      const key = keyOf(scope, meetingId, participantId);
      const answers = await redis.multi().getdel(key).zrem(keys.banIndex(), key).exec();
      const value = answers?.[0]?.[1];
      return typeof value === 'string' ? toBan(JSON.parse(value) as StoredBan) : undefined;
    },

    /**
     * Every ban in force (at most `MAX_LISTED_BANS`), soonest end first, with Redis' time now (for
     * time left). Expired index entries are dropped on the way.
     */
    async list(filter: { meetingId?: string; participantId?: string } = {}): Promise<{ bans: Ban[]; nowMs: number }> {
      const time = await redis.time();
      const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      const [, members] = (await redis
        .multi()
        .zremrangebyscore(keys.banIndex(), '-inf', String(nowMs))
        .zrange(keys.banIndex(), '0', String(MAX_LISTED_BANS - 1))
        .exec()) as [[Error | null, number], [Error | null, string[]]];
      const banKeys = members[1] ?? [];
      if (banKeys.length === 0) return { bans: [], nowMs };
      const values = await redis.mget(...banKeys);
      const gone = banKeys.filter((_, i) => values[i] === null);
      // A key that expired between the trim and the read: its entry goes now.
      if (gone.length > 0) await redis.zrem(keys.banIndex(), ...gone);
      const bans = values
        .filter((v): v is string => v !== null)
        .map((v) => toBan(JSON.parse(v) as StoredBan))
        .filter(
          (b) =>
            (filter.meetingId === undefined || b.meetingId === filter.meetingId) &&
            (filter.participantId === undefined || b.participantId === filter.participantId),
        );
      return { bans, nowMs };
    },

    /** How many bans are in force (the active-bans gauge); the count of the index past now. */
    async countActive(nowMs: number): Promise<number> {
      return redis.zcount(keys.banIndex(), `(${nowMs}`, '+inf');
    },
  };
}

export type BanStore = ReturnType<typeof createBanStore>;

function toBan(stored: StoredBan): Ban {
  const { untilMs, atMs, ...rest } = stored;
  return { ...rest, until: untilMs === undefined ? null : new Date(untilMs).toISOString(), at: new Date(atMs).toISOString() };
}

/** The stored bans (nulls skipped) as one: permanent first, else the latest end. */
export function longestBan(values: readonly (string | null)[]): Ban | undefined {
  let best: StoredBan | undefined;
  for (const value of values) {
    if (value === null) continue;
    const ban = JSON.parse(value) as StoredBan;
    if (!best || (best.untilMs !== undefined && (ban.untilMs === undefined || ban.untilMs > best.untilMs))) best = ban;
  }
  return best && toBan(best);
}

/** The token gate's answer (`GET /v1/bans/check`, `isBanned`). */
export type BanCheck = { banned: false } | { banned: true; until: string | null; reason: string; scope: BanScope; rule: string | null };

export function banCheckOf(ban: Ban | undefined): BanCheck {
  return ban ? { banned: true, until: ban.until, reason: ban.reason, scope: ban.scope, rule: ban.rule ?? null } : { banned: false };
}

/** Milliseconds left of a ban at `nowMs` (null when permanent). */
export function banTimeLeft(ban: Pick<Ban, 'until'>, nowMs: number): number | null {
  return ban.until === null ? null : Math.max(0, Date.parse(ban.until) - nowMs);
}
