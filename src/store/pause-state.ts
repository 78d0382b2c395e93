import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
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

const SET = luaScript('set-pause-1');
const CLEAR = luaScript('clear-pause-1');
const SET_RATE_LIMITED = luaScript('set-rate-limited-1');

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
