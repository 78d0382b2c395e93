import { longestBan, type Ban } from './bans.js';
import type { Keys } from './keys.js';
import { createLuaScript } from './lua-script.js';
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

// Admission, in one place for the gate and the event path: the lockdown in force (its end checked
// against Redis' clock) and whether the participant is admitted. Answers 1 when admitted (or not
// locked) and 0 when locked out, with the lockdown (or false when none is in force).
const ADMITTED = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- raw: the meeting's lockdown key as read (or false).
local function admitted(raw, admitKey, membersKey, pid)
  if not raw then return 1, false end
  local lock = cjson.decode(raw)
  if tonumber(lock.untilMs) <= now then return 1, false end
  -- The admit set holds those admitted by name and, in ask mode, those who asked the gate during
  -- the lockdown: they come in through VideoSDK's waiting room, where someone inside let them in.
  if redis.call('SISMEMBER', admitKey, pid) == 1 then return 1, raw end
  local role = redis.call('HGET', membersKey, 'r:' .. pid)
  if role == 'host' or role == 'moderator' then return 1, raw end
  local first = tonumber(redis.call('HGET', membersKey, 'j:' .. pid) or '')
  if first and first < tonumber(lock.cutoffMs) then return 1, raw end
  return 0, raw
end
`;

// The gate. KEYS: meeting ban, every-meeting ban, lockdown, admit set, members hash. ARGV: pid.
// Answers {meeting ban or false, every-meeting ban or false, lockdown or false, admitted 0/1}. In
// ask mode an unbanned participant who is not admitted is answered `ask_join` and noted in the
// admit set: their join comes through the waiting room, so it is not removed.
const GATE = createLuaScript(`${ADMITTED}
local ok, raw = admitted(redis.call('GET', KEYS[3]), KEYS[4], KEYS[5], ARGV[1])
local banM, banA = redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])
if ok == 0 and not banM and not banA and cjson.decode(raw).mode == 'ask' then
  redis.call('SADD', KEYS[4], ARGV[1])
  redis.call('PEXPIRE', KEYS[4], math.max(1, tonumber(cjson.decode(raw).untilMs) - now))
end
return { banM, banA, raw, ok }
`);

// The event path, one run per batch. KEYS: distinct keys; ARGV[1]: JSON per event [meeting ban,
// every-meeting ban, lockdown, admit, members key indexes (0 = none), pid, join ms (-1 none),
// role, session id]; ARGV[2]: members TTL ms. The bans of the whole batch are
// read in one MGET and each meeting's lockdown once, so a batch costs a few commands, not a few
// per event; joins are recorded before they are checked (a late-processed join from before the
// cutoff admits), the earliest only. Answers per event {meeting ban, every-meeting ban, lockdown
// when locked out (else false)}.
const CHECK = createLuaScript(`${ADMITTED}
local items = cjson.decode(ARGV[1])
local ttl = tonumber(ARGV[2])
local wanted, order = {}, {}
for _, e in ipairs(items) do
  for _, k in ipairs({ e[1], e[2] }) do
    if k > 0 and not wanted[k] then wanted[k] = true; order[#order + 1] = k end
  end
end
local bans = {}
for from = 1, #order, 200 do
  local names = {}
  for j = from, math.min(from + 199, #order) do names[#names + 1] = KEYS[order[j]] end
  local values = redis.call('MGET', unpack(names))
  for j = 1, #names do bans[order[from + j - 1]] = values[j] end
end
local locks = {}
local out = {}
for i, e in ipairs(items) do
  local pid = e[6]
  if e[5] > 0 then
    local members = KEYS[e[5]]
    -- The hash lives a week past the last member it learned (a new join or a new role), not past
    -- every event: repeat joins and chat cost no expiry refresh.
    local learned = false
    -- A role is recorded from any event that states it (a host's chat as much as their join).
    if e[8] == 'host' or e[8] == 'moderator' then learned = redis.call('HSET', members, 'r:' .. pid, e[8]) == 1 end
    if e[7] >= 0 then
      -- The earliest join seen is the first (a late-processed earlier join moves it back).
      if redis.call('HSETNX', members, 'j:' .. pid, e[7]) == 1 then
        learned = true
      else
        local seen = tonumber(redis.call('HGET', members, 'j:' .. pid) or '')
        if not seen or seen > e[7] then redis.call('HSET', members, 'j:' .. pid, e[7]) end
      end
      -- The session the meeting was last seen live in (a lockdown made by hand clears it).
      if e[9] ~= '' then redis.call('HSET', members, 's', e[9]) end
    end
    if learned then redis.call('PEXPIRE', members, ttl) end
  end
  local lockedOut = false
  if e[3] > 0 then
    if locks[e[3]] == nil then locks[e[3]] = redis.call('GET', KEYS[e[3]]) end
    local ok, raw = admitted(locks[e[3]], KEYS[e[4]], KEYS[e[5]], pid)
    if ok == 0 then lockedOut = raw end
  end
  out[#out + 1] = { e[1] > 0 and bans[e[1]] or false, bans[e[2]] or false, lockedOut }
end
return out
`);

// KEYS: lockdown, index, admit set. ARGV: stored JSON (no times), for ms, cutoff at ms ('' = none),
// cutoff ago ms ('' = none), meeting id, keep-after-end ms, admit ids... Makes it only when none is
// in force. Answers {1, json} or {0, json of the one in force}.
const LOCK = createLuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('GET', KEYS[1])
if old and tonumber(cjson.decode(old).untilMs) > now then return { 0, old } end
local lock = cjson.decode(ARGV[1])
local ms = tonumber(ARGV[2])
lock.sinceMs = now
lock.untilMs = now + ms
if ARGV[3] ~= '' then lock.cutoffMs = tonumber(ARGV[3])
elseif ARGV[4] ~= '' then lock.cutoffMs = now - tonumber(ARGV[4])
else lock.cutoffMs = now end
local value = cjson.encode(lock)
redis.call('SET', KEYS[1], value, 'PX', ms + tonumber(ARGV[6]))
redis.call('ZADD', KEYS[2], now + ms, ARGV[5])
redis.call('DEL', KEYS[3])
if #ARGV > 6 then
  for i = 7, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
  redis.call('PEXPIRE', KEYS[3], ms)
end
return { 1, value }
`);

// KEYS: lockdown, index, admit set. ARGV: meeting id. Answers the lifted lockdown, or false when
// none was in force (one whose time is up is left to the sweep, which tells that it ended).
const LIFT = createLuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('GET', KEYS[1])
if not old or tonumber(cjson.decode(old).untilMs) <= now then return false end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return old
`);

// KEYS: lockdown, admit set. ARGV: ids. Answers how many were newly admitted, or -1 when not locked.
const ADMIT = createLuaScript(`
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return -1 end
local added = 0
for i = 1, #ARGV do added = added + redis.call('SADD', KEYS[2], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ttl)
return added
`);

// KEYS: index, then the lockdown key of each meeting asked. ARGV: those meetings' ids. Takes the
// ones whose end has passed out of the index (each once, whichever worker asks first), so exactly
// one worker tells that it ended. Answers their lockdowns (JSON).
const TAKE_ENDED = createLuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, m in ipairs(ARGV) do
  local ends = tonumber(redis.call('ZSCORE', KEYS[1], m) or '')
  if ends and ends <= now then
    redis.call('ZREM', KEYS[1], m)
    local raw = redis.call('GET', KEYS[i + 1])
    if raw and tonumber(cjson.decode(raw).untilMs) <= now then
      redis.call('DEL', KEYS[i + 1])
      out[#out + 1] = raw
    end
  end
end
return out
`);

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
      const index = new Map<string, number>();
      const at = (key: string): number => {
        let i = index.get(key);
        if (i === undefined) {
          i = index.size + 1;
          index.set(key, i);
        }
        return i;
      };
      const items = inputs.map((c) => {
        const m = c.meetingId;
        const join = m !== undefined && c.joinedAt !== undefined;
        return [
          m === undefined ? 0 : at(keys.ban('meeting', m, c.participantId)),
          at(keys.ban('all', undefined, c.participantId)),
          m === undefined ? 0 : at(keys.lockdown(m)),
          m === undefined ? 0 : at(keys.lockdownAdmit(m)),
          m === undefined ? 0 : at(keys.meetingMembers(m)),
          c.participantId,
          join ? Math.round(c.joinedAt!) : -1,
          c.role ?? '',
          c.sessionId ?? '',
        ];
      });
      const reply = (await CHECK.run(redis, [...index.keys()], [JSON.stringify(items), MEMBERS_TTL_MS])) as [
        string | null,
        string | null,
        string | null,
      ][];
      return reply.map(([banM, banA, locked]) => {
        const out: ParticipantCheck = {};
        const ban = longestBan([banM, banA]);
        if (ban) out.ban = ban;
        if (typeof locked === 'string') out.lockedOut = toLockdown(JSON.parse(locked) as StoredLockdown);
        return out;
      });
    },
  };
}

export type LockdownStore = ReturnType<typeof createLockdownStore>;

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
