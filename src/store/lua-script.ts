import { createHash } from 'node:crypto';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis.js';

/** A Lua script run with EVALSHA, loaded lazily. */
export interface LuaScript {
  /** SHA1 of the source, as Redis names it. */
  readonly sha: string;
  /**
   * Runs the script. Every key it touches is passed in `keys` (never built inside Lua), so Redis
   * Cluster routes the call by those keys; they all share the `{prefix}` hash tag.
   */
  run(redis: RedisClient, keys: readonly string[], args: readonly (string | number)[]): Promise<unknown>;
  /**
   * Adds a run to a MULTI (or pipeline) as EVAL with the source: inside a transaction a NOSCRIPT
   * answer would fail this command alone after the others applied.
   */
  addTo(chain: ChainableCommander, keys: readonly string[], args: readonly (string | number)[]): void;
}

/**
 * Wraps a Lua source for EVALSHA with an EVAL fallback. Nothing is loaded up front: the first
 * EVALSHA on a node that does not know the script (fresh node, restart, SCRIPT FLUSH, a Cluster
 * failover) answers NOSCRIPT, and EVAL both runs the script and caches it there for next time.
 */
export function createLuaScript(source: string): LuaScript {
  const sha = createHash('sha1').update(source).digest('hex');
  return {
    sha,
    async run(redis, keys, args) {
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!isNoScript(err)) throw err;
        return redis.eval(source, keys.length, ...keys, ...args);
      }
    },
    addTo(chain, keys, args) {
      chain.eval(source, keys.length, ...keys, ...args);
    },
  };
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}
