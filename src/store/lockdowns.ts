import { longestBan, type Ban } from './bans.js';
import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** `closed`: the gate refuses; `ask`: the gate allows with VideoSDK's `ask_join` (a waiting room). */
export type LockdownMode = 'closed' | 'ask';
export const LOCKDOWN_MODES: readonly LockdownMode[] = ['closed', 'ask'];

/** A lockdown as stored and answered (`GET /v1/lockdowns`). */
export interface Lockdown {
  meetingId: string;
  mode: LockdownMode;
  /** ISO times (Redis' clock) it began and ends by itself. */
  since: string;
  until: string;
  /** Participants who first joined the meeting before this time are admitted (ISO). */
  admitJoinedBefore: string;
  reason: string;
  /** The rule that made it (rule lockdowns). */
  rule?: string;
  /** `rule:NAME`, `operator:USER`, `api`, `token:NAME`. */
  by: string;
  /** The meeting's live session was ended through VideoSDK when it began. */
  endSession?: boolean;
}

/** What making a lockdown takes (times come from Redis). */
export interface NewLockdown {
  meetingId: string;
  mode: LockdownMode;
  forMs: number;
  reason: string;
  rule?: string;
  by: string;
  endSession?: boolean;
  /** Participants admitted from the start, whenever they joined. */
  admit?: readonly string[];
  /**
   * Who is admitted by join time: those who first joined before `at` (epoch ms), or before the
   * lockdown began minus `agoMs`. Neither: the moment it began.
   */
  cutoff?: { at: number } | { agoMs: number };
}

interface StoredLockdown {
  meetingId: string;
  mode: LockdownMode;
  sinceMs: number;
  untilMs: number;
  cutoffMs: number;
  reason: string;
  rule?: string;
  by: string;
  endSession?: boolean;
}

/** The token gate's answer (`GET /v1/gate`, `checkGate`): public contract. */
export interface GateAnswer {
  allowed: boolean;
  permission: 'allow_join' | 'ask_join' | null;
  reason: null | 'banned' | 'lockdown';
  until: string | null;
}

/** What the event path learns about one participant event's participant in one round trip. */
export interface ParticipantCheck {
  /** The ban in force (the longer of the meeting's and every meeting's), if any. */
  ban?: Ban;
  /** The lockdown of the meeting when the participant is not admitted to it. */
  lockedOut?: Lockdown;
}

/** One participant event, as the event path asks about it. */
export interface CheckInput {
  /** The meeting, when known; without one only an every-meeting ban can apply. */
  meetingId: string | undefined;
  participantId: string;
  /** A join (epoch ms): recorded as the participant's first join of the meeting when it is the earliest seen. */
  joinedAt?: number;
  /** The role the event states (any event); `host` and `moderator` are recorded and admitted to lockdowns. */
  role?: string;
  /** The session the join is in: remembered as the meeting's live session (for lockdowns made by hand). */
  sessionId?: string;
}

/** How long what the worker knows of a meeting's members is kept after the last join it saw. */
export const MEMBERS_TTL_MS = 7 * 86_400_000;

// A lockdown's key outlives its end by this much, so whoever tells that it ended can still read it.
const KEEP_AFTER_END_MS = 3_600_000;

const GATE = luaScript('gate-5');
const CHECK = luaScript('check-participants-n');
const LOCK = luaScript('lock-meeting-3');
const LIFT = luaScript('lift-lockdown-3');
const ADMIT = luaScript('admit-to-lockdown-2');
const TAKE_ENDED = luaScript('take-ended-lockdowns-n');

type LockdownKeys = Pick<Keys, 'ban' | 'lockdown' | 'lockdownIndex' | 'lockdownAdmit' | 'meetingMembers'>;

/** Lockdowns, the admission rule and the token gate, in Redis (one hash tag: one round trip each). */
export function createLockdownStore({ redis, keys }: { redis: RedisClient; keys: LockdownKeys }) {
  return {
    /** Locks a meeting unless it is locked already (then answers the lockdown in force, `created: false`). */
    async lock(input: NewLockdown): Promise<{ lockdown: Lockdown; created: boolean }> {
      const stored: Omit<StoredLockdown, 'sinceMs' | 'untilMs' | 'cutoffMs'> = {
        meetingId: input.meetingId,
        mode: input.mode,
        reason: input.reason,
        ...(input.rule !== undefined ? { rule: input.rule } : {}),
        by: input.by,
        ...(input.endSession ? { endSession: true } : {}),
      };
      const cutoff = input.cutoff;
      const [created, value] = (await LOCK.run(
        redis,
        [keys.lockdown(input.meetingId), keys.lockdownIndex(), keys.lockdownAdmit(input.meetingId)],
        [
          JSON.stringify(stored),
          Math.max(1000, Math.round(input.forMs)),
          cutoff && 'at' in cutoff ? Math.round(cutoff.at) : '',
          cutoff && 'agoMs' in cutoff ? Math.round(cutoff.agoMs) : '',
          input.meetingId,
          KEEP_AFTER_END_MS,
          ...(input.admit ?? []),
        ],
      )) as [number, string];
      return { lockdown: toLockdown(JSON.parse(value) as StoredLockdown), created: created === 1 };
    },

    /** Lifts a meeting's lockdown; answers it, or undefined when none stood. */
    async lift(meetingId: string): Promise<Lockdown | undefined> {
      const value = (await LIFT.run(
        redis,
        [keys.lockdown(meetingId), keys.lockdownIndex(), keys.lockdownAdmit(meetingId)],
        [meetingId],
      )) as string | null;
      return typeof value === 'string' ? toLockdown(JSON.parse(value) as StoredLockdown) : undefined;
    },

    /** Admits participants to a meeting's lockdown; undefined when the meeting is not locked. */
    async admit(meetingId: string, participantIds: readonly string[]): Promise<number | undefined> {
      const added = Number(await ADMIT.run(redis, [keys.lockdown(meetingId), keys.lockdownAdmit(meetingId)], participantIds));
      return added < 0 ? undefined : added;
    },

    /** Every lockdown in force, soonest end first. */
    async list(): Promise<Lockdown[]> {
      const nowMs = await redisNow(redis);
      const meetings = await redis.zrangebyscore(keys.lockdownIndex(), `(${nowMs}`, '+inf', 'LIMIT', 0, 10_000);
      if (meetings.length === 0) return [];
      const values = await redis.mget(...meetings.map((m) => keys.lockdown(m)));
      return values
        .filter((v): v is string => v !== null)
        .map((v) => JSON.parse(v) as StoredLockdown)
        .filter((l) => l.untilMs > nowMs)
        .map(toLockdown);
    },

    /** How many lockdowns are in force (the gauge). */
    async countActive(nowMs: number): Promise<number> {
      return redis.zcount(keys.lockdownIndex(), `(${nowMs}`, '+inf');
    },

    /** The lockdowns whose time is up, each answered to exactly one caller (who tells that it ended). */
    async takeEnded(): Promise<Lockdown[]> {
      const nowMs = await redisNow(redis);
      const meetings = await redis.zrangebyscore(keys.lockdownIndex(), '-inf', String(nowMs), 'LIMIT', 0, 100);
      if (meetings.length === 0) return [];
      const values = (await TAKE_ENDED.run(redis, [keys.lockdownIndex(), ...meetings.map((m) => keys.lockdown(m))], meetings)) as string[];
      return values.map((v) => toLockdown(JSON.parse(v) as StoredLockdown));
    },

    /** The session the worker last saw a join in, for a meeting (a lockdown made by hand purges it). */
    async lastSession(meetingId: string): Promise<string | undefined> {
      return (await redis.hget(keys.meetingMembers(meetingId), 's')) ?? undefined;
    },

    /** Those among the participants the worker recorded as a host or moderator of the meeting. */
    async staffAmong(meetingId: string, participantIds: readonly string[]): Promise<Set<string>> {
      if (participantIds.length === 0) return new Set();
      const roles = await redis.hmget(keys.meetingMembers(meetingId), ...participantIds.map((p) => `r:${p}`));
      return new Set(participantIds.filter((_, i) => roles[i] === 'host' || roles[i] === 'moderator'));
    },

    /** The gate: may this participant get a join token for this meeting? A ban wins over an admission. */
    async gate(meetingId: string, participantId: string): Promise<GateAnswer> {
      const [banM, banA, lock, ok] = (await GATE.run(
        redis,
        [
          keys.ban('meeting', meetingId, participantId),
          keys.ban('all', undefined, participantId),
          keys.lockdown(meetingId),
          keys.lockdownAdmit(meetingId),
          keys.meetingMembers(meetingId),
        ],
        [participantId],
      )) as [string | null, string | null, string | null, number];
      const ban = longestBan([banM, banA]);
      if (ban) return { allowed: false, permission: null, reason: 'banned', until: ban.until };
      if (typeof lock === 'string' && ok === 0) {
        const lockdown = toLockdown(JSON.parse(lock) as StoredLockdown);
        return lockdown.mode === 'ask'
          ? { allowed: true, permission: 'ask_join', reason: 'lockdown', until: lockdown.until }
          : { allowed: false, permission: null, reason: 'lockdown', until: lockdown.until };
      }
      return { allowed: true, permission: 'allow_join', reason: null, until: null };
    },

    /**
     * The event path's look-up for many participant events in one script run: each one's ban, and
     * the lockdown that keeps it out when it is not admitted; joins are recorded on the way.
     */
    async check(inputs: readonly CheckInput[]): Promise<ParticipantCheck[]> {
      if (inputs.length === 0) return [];
      // Every key the events name, by its place (from 1). A participant's ban keys are nearly always
      // theirs alone: sent as they come; a batch's events come from few meetings: each meeting's
      // keys are built and named once.
      const names: string[] = [];
      const meetingKeys = new Map<string, readonly [number, number, number]>();
      const ofMeeting = (m: string): readonly [number, number, number] => {
        let found = meetingKeys.get(m);
        if (found === undefined) {
          found = [names.push(keys.lockdown(m)), names.push(keys.lockdownAdmit(m)), names.push(keys.meetingMembers(m))];
          meetingKeys.set(m, found);
        }
        return found;
      };
      const items = inputs.map((c) => {
        const m = c.meetingId;
        const [lock, admit, members] = m === undefined ? NO_MEETING : ofMeeting(m);
        return [
          m === undefined ? 0 : names.push(keys.ban('meeting', m, c.participantId)),
          names.push(keys.ban('all', undefined, c.participantId)),
          lock,
          admit,
          members,
          c.participantId,
          m !== undefined && c.joinedAt !== undefined ? Math.round(c.joinedAt) : -1,
          c.role ?? '',
          c.sessionId ?? '',
        ];
      });
      const reply = (await CHECK.run(redis, names, [JSON.stringify(items), MEMBERS_TTL_MS])) as (number | string | null)[];
      // Only the events something keeps out are answered (see the script).
      const checks = new Array<ParticipantCheck>(inputs.length).fill(NOTHING);
      for (let j = 0; j + 3 < reply.length; j += 4) {
        const out: ParticipantCheck = {};
        const ban = longestBan([reply[j + 1] as string | null, reply[j + 2] as string | null]);
        if (ban) out.ban = ban;
        const locked = reply[j + 3];
        if (typeof locked === 'string') out.lockedOut = toLockdown(JSON.parse(locked) as StoredLockdown);
        checks[Number(reply[j]) - 1] = out;
      }
      return checks;
    },
  };
}

export type LockdownStore = ReturnType<typeof createLockdownStore>;

/** The answer for a participant nothing keeps out (shared: nobody changes it). */
const NOTHING: ParticipantCheck = Object.freeze({});
const NO_MEETING = [0, 0, 0] as const;

async function redisNow(redis: RedisClient): Promise<number> {
  const [seconds, micros] = await redis.time();
  return Number(seconds) * 1000 + Math.floor(Number(micros) / 1000);
}

function toLockdown(stored: StoredLockdown): Lockdown {
  return {
    meetingId: stored.meetingId,
    mode: stored.mode,
    since: new Date(stored.sinceMs).toISOString(),
    until: new Date(stored.untilMs).toISOString(),
    admitJoinedBefore: new Date(stored.cutoffMs).toISOString(),
    reason: stored.reason,
    ...(stored.rule !== undefined ? { rule: stored.rule } : {}),
    by: stored.by,
    ...(stored.endSession ? { endSession: true } : {}),
  };
}
