import { UsageError } from '../errors.js';
import type { Keys } from './keys.js';
import { createLuaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** A list name: lower-case letters, digits, `-` and `_`, starting with a letter or digit. */
export const LIST_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Longest list value accepted, in characters. */
export const MAX_LIST_VALUE_LENGTH = 200;

/** Live lists (editable at run time), kept in Redis beside the ones in `rules/lists/`. */
export interface ListStore {
  /** Adds values to a list (creating it); answers how many were not in it yet. */
  add(name: string, values: readonly string[]): Promise<number>;
  /** Removes values from a list (the list disappears when empty); answers how many were in it. */
  remove(name: string, values: readonly string[]): Promise<number>;
  /** The values of one list, sorted; empty for an unknown list. */
  show(name: string): Promise<string[]>;
  /** Names of every live list, sorted. */
  names(): Promise<string[]>;
  /** Every list with the version it was read at (consistent: no change happened in between). */
  loadAll(): Promise<{ version: number; lists: Map<string, string[]> }>;
  /** The current lists version (0 before any change). */
  version(): Promise<number>;
}

/** Options of `createListStore`. */
export interface ListStoreOptions {
  redis: RedisClient;
  keys: Keys;
  /** Most values one list may hold; an `add` that would go past it is refused. Default 100000. */
  maxValues?: number;
}

/** Throws a `UsageError` unless `name` is a valid list name. */
export function validateListName(name: string): string {
  if (!LIST_NAME_PATTERN.test(name)) {
    throw new UsageError(
      `invalid list name "${name.slice(0, 80)}": use 1-64 lower-case letters, digits, "-" or "_", starting with a letter or digit`,
    );
  }
  return name;
}

/** Trims the values and throws a `UsageError` on an empty or too long one; drops repeats. */
export function normalizeListValues(values: readonly string[]): string[] {
  const out = new Set<string>();
  for (const [i, raw] of values.entries()) {
    const value = raw.trim();
    if (value === '') throw new UsageError(`list value #${i + 1} is empty`);
    if (value.length > MAX_LIST_VALUE_LENGTH) {
      throw new UsageError(`list value #${i + 1} is longer than ${MAX_LIST_VALUE_LENGTH} characters`);
    }
    out.add(value);
  }
  return [...out];
}

// The size check, the change and the version bump happen together, so a reader that sees the
// version unchanged knows the lists are unchanged. Returns -1 when the cap would be passed.
const ADD = createLuaScript(`
local max = tonumber(ARGV[2])
local present = redis.call('SMISMEMBER', KEYS[1], unpack(ARGV, 3))
local fresh = 0
for _, p in ipairs(present) do if p == 0 then fresh = fresh + 1 end end
if fresh == 0 then return 0 end
if redis.call('SCARD', KEYS[1]) + fresh > max then return -1 end
redis.call('SADD', KEYS[1], unpack(ARGV, 3))
redis.call('SADD', KEYS[2], ARGV[1])
redis.call('INCR', KEYS[3])
return fresh
`);

const REMOVE = createLuaScript(`
local removed = redis.call('SREM', KEYS[1], unpack(ARGV, 2))
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
if removed > 0 then redis.call('INCR', KEYS[3]) end
return removed
`);

/** Creates the live-list store. */
export function createListStore({ redis, keys, maxValues = 100_000 }: ListStoreOptions): ListStore {
  const version = async (): Promise<number> => Number((await redis.get(keys.listsVersion())) ?? 0);
  // Lua's unpack has a stack limit of a few thousand values: large edits go in chunks.
  const CHUNK = 1000;

  return {
    async add(name, values) {
      validateListName(name);
      const clean = normalizeListValues(values);
      let added = 0;
      for (let i = 0; i < clean.length; i += CHUNK) {
        const chunk = clean.slice(i, i + CHUNK);
        const n = Number(
          await ADD.run(redis, [keys.list(name), keys.listIndex(), keys.listsVersion()], [name, maxValues, ...chunk]),
        );
        if (n < 0) throw new UsageError(`list "${name}" would hold more than ${maxValues} values`);
        added += n;
      }
      return added;
    },

    async remove(name, values) {
      validateListName(name);
      const clean = normalizeListValues(values);
      let removed = 0;
      for (let i = 0; i < clean.length; i += CHUNK) {
        const chunk = clean.slice(i, i + CHUNK);
        removed += Number(await REMOVE.run(redis, [keys.list(name), keys.listIndex(), keys.listsVersion()], [name, ...chunk]));
      }
      return removed;
    },

    async show(name) {
      validateListName(name);
      return (await redis.smembers(keys.list(name))).sort();
    },

    async names() {
      return (await redis.smembers(keys.listIndex())).sort();
    },

    async loadAll() {
      // Optimistic read: every change bumps the version in the same script, so equal versions
      // before and after mean a consistent snapshot, without a long Lua call that blocks Redis.
      for (let attempt = 0; ; attempt++) {
        const before = await version();
        const names = (await redis.smembers(keys.listIndex())).sort();
        const multi = redis.multi();
        for (const name of names) multi.smembers(keys.list(name));
        multi.get(keys.listsVersion());
        const replies = (await multi.exec()) ?? [];
        const after = Number((replies[names.length]?.[1] as string | null) ?? 0);
        if (after === before || attempt >= 4) {
          const lists = new Map<string, string[]>();
          names.forEach((name, i) => {
            const [err, members] = replies[i] ?? [null, []];
            if (err) throw err;
            lists.set(name, (members as string[]).sort());
          });
          // Under constant churn, report the older version so the caller reloads again soon.
          return { version: before, lists };
        }
      }
    },

    version,
  };
}
