import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ChainableCommander } from 'ioredis';
import type { RedisClient } from './redis.js';

/** A Lua script run with EVALSHA, loaded lazily. */
export interface LuaScript {
  /** The script as Redis runs it (includes in place). */
  readonly source: string;
  /** SHA1 of the source, as Redis names it. */
  readonly sha: string;
  /** Keys every run passes (the number in the file's name), when known. */
  readonly numberOfKeys: number | undefined;
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

/** Where the scripts live: `commands/<name>-<number of keys>.lua` beside this file (in `dist/` too). */
const COMMANDS = new URL('./commands/', import.meta.url);

/**
 * The script `commands/<name>-<keys>.lua` (as bullmq keeps its own; `-n` takes any number of keys), read once when the module that
 * names it loads. A line `--- @include "<file>"` is replaced by `commands/includes/<file>.lua`,
 * for the helpers several scripts share. The number of keys in the name is checked on every run.
 */
export function luaScript(name: string): LuaScript {
  const keys = /-(\d+|n)$/.exec(name);
  if (!keys) throw new Error(`Lua script name ${name} does not end in -<number of keys> (or -n for any)`);
  return createLuaScript(readScript(`${name}.lua`), keys[1] === 'n' ? undefined : Number(keys[1]), name);
}

function readScript(file: string): string {
  const source = readFileSync(new URL(file, COMMANDS), 'utf8');
  return source.replace(/^--- @include "([\w-]+)"$/gm, (_, include: string) => readScript(`includes/${include}.lua`).trimEnd());
}

/**
 * Wraps a Lua source for EVALSHA with an EVAL fallback. Nothing is loaded up front: the first
 * EVALSHA on a node that does not know the script (fresh node, restart, SCRIPT FLUSH, a Cluster
 * failover) answers NOSCRIPT, and EVAL both runs the script and caches it there for next time.
 */
export function createLuaScript(source: string, numberOfKeys?: number, name = 'script'): LuaScript {
  const sha = createHash('sha1').update(source).digest('hex');
  const check = (keys: readonly string[]) => {
    if (numberOfKeys !== undefined && keys.length !== numberOfKeys)
      throw new Error(`Lua script ${name} takes ${numberOfKeys} keys, got ${keys.length}`);
  };
  return {
    source,
    sha,
    numberOfKeys,
    async run(redis, keys, args) {
      check(keys);
      try {
        return await redis.evalsha(sha, keys.length, ...keys, ...args);
      } catch (err) {
        if (!isNoScript(err)) throw err;
        return redis.eval(source, keys.length, ...keys, ...args);
      }
    },
    addTo(chain, keys, args) {
      check(keys);
      chain.eval(source, keys.length, ...keys, ...args);
    },
  };
}

function isNoScript(err: unknown): boolean {
  return err instanceof Error && err.message.startsWith('NOSCRIPT');
}
