import type { Keys } from './keys.js';
import { createLuaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** Why removals are paused. */
export interface PauseInfo {
  reason: string;
  /** `credential`: VideoSDK refused the credential (401/403); `operator`: `automod pause`. */
  kind: 'credential' | 'operator';
  /** ISO time of the pause. */
  at: string;
}

/** The recorded reason for a paused removals queue, shared by every worker. */
export interface PauseState {
  /**
   * Records a pause. An operator pause replaces anything; a credential pause does not replace an
   * operator one, so a worker starting with a new credential cannot undo a deliberate pause.
   * Answers whether the record was written.
   */
  set(info: PauseInfo): Promise<boolean>;
  get(): Promise<PauseInfo | undefined>;
  /** Clears the pause, only when it is of `kind` if one is given. Answers whether it cleared one. */
  clear(kind?: PauseInfo['kind']): Promise<boolean>;
  /**
   * Records that VideoSDK's `Retry-After` holds removals until `untilMs` (epoch ms), for every
   * worker to see; a later end wins over an earlier one, and the record expires at its end.
   */
  setRateLimited(untilMs: number, now: number): Promise<void>;
  /** The end (epoch ms) of a rate-limit pause in force, or undefined. */
  rateLimitedUntil(now: number): Promise<number | undefined>;
}

/** Options of `createPauseState`. */
export interface PauseStateOptions {
  redis: RedisClient;
  keys: Keys;
}

// ARGV: reason, kind, at.
const SET = createLuaScript(`
if ARGV[2] == 'credential' and redis.call('HGET', KEYS[1], 'kind') == 'operator' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'kind', ARGV[2], 'at', ARGV[3])
return 1
`);

// ARGV: kind or ''.
const CLEAR = createLuaScript(`
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'kind') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
`);

// ARGV: until (epoch ms), ttl (ms).
const SET_RATE_LIMITED = createLuaScript(`
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current and current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`);

/** Creates the pause state. It is one small hash with no TTL: a pause lasts until resumed. */
export function createPauseState({ redis, keys }: PauseStateOptions): PauseState {
  return {
    async set(info) {
      return (await SET.run(redis, [keys.pause()], [info.reason, info.kind, info.at])) === 1;
    },

    async get() {
      const hash = await redis.hgetall(keys.pause());
      if (hash.kind === undefined) return undefined;
      return {
        reason: hash.reason ?? '',
        kind: hash.kind === 'credential' ? 'credential' : 'operator',
        at: hash.at ?? '',
      };
    },

    async clear(kind) {
      return (await CLEAR.run(redis, [keys.pause()], [kind ?? ''])) === 1;
    },

    async setRateLimited(untilMs, now) {
      const ttl = Math.ceil(untilMs - now);
      if (ttl <= 0) return;
      await SET_RATE_LIMITED.run(redis, [keys.rateLimited()], [Math.ceil(untilMs), ttl]);
    },

    async rateLimitedUntil(now) {
      const until = Number(await redis.get(keys.rateLimited()));
      return Number.isFinite(until) && until > now ? until : undefined;
    },
  };
}
