import { UsageError } from '../shared/errors.js';
import { isListName, LIST_NAME_RULE } from '../moderation/list-name.js';
import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

/** Longest list value accepted, in characters. */
export const MAX_LIST_VALUE_LENGTH = 200;

/** One logged change of a live list: the values it actually added or removed. */
export interface ListChange {
  /** The lists version this change made. */
  version: number;
  list: string;
  op: 'add' | 'remove';
  values: string[];
}

/** Live lists (editable at run time), kept in Redis beside the ones in `rules/lists/`. */
export interface ListStore {
  /** Adds values to a list (creating it); answers how many were not in it yet. */
  add(name: string, values: readonly string[]): Promise<number>;
  /** Removes values from a list (the list disappears when empty); answers how many were in it. */
  remove(name: string, values: readonly string[]): Promise<number>;
  /** The values of one list, sorted; empty for an unknown list. */
  show(name: string): Promise<string[]>;
  /** How many values a list holds (one SCARD; 0 for an unknown list). */
  size(name: string): Promise<number>;
  /** Names of every live list, sorted. */
  names(): Promise<string[]>;
  /** Every list with the version it was read at (consistent: no change happened in between). */
  loadAll(): Promise<{ version: number; lists: Map<string, string[]> }>;
  /**
   * Every list, read in small SSCAN chunks, with the version read before the scan began. Changes
   * made during the scan may or may not show: replaying `changesSince(version)` on top makes the
   * result exact (each change sets values present or absent, so replaying one twice is harmless).
   */
  scanAll(): Promise<{ version: number; lists: Map<string, Set<string>> }>;
  /**
   * The changes after `version` up to the current version, oldest first; undefined when the log
   * cannot tell (trimmed past `version`, more than `max` changes behind, the version went back
   * after a Redis reset, or a change made by an older release that did not log): read `scanAll`.
   */
  changesSince(version: number, max?: number): Promise<{ version: number; changes: ListChange[] } | undefined>;
  /** The current lists version (0 before any change). */
  version(): Promise<number>;
}

/** Options of `createListStore`. */
export interface ListStoreOptions {
  redis: RedisClient;
  keys: Keys;
  /** Most values one list may hold; an `add` that would go past it is refused. Default 100000. */
  maxValues?: number;
  /** Changes kept in the change log (workers further behind read every list again). Default 1000. */
  changeLogSize?: number;
}

/** Throws a `UsageError` unless `name` is a valid list name. */
export function validateListName(name: string): string {
  if (!isListName(name)) {
    throw new UsageError(`invalid list name "${name.slice(0, 80)}": use ${LIST_NAME_RULE}`);
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

const ADD = luaScript('add-to-list-4');
const REMOVE = luaScript('remove-from-list-4');

/** Values per SSCAN step and change-log entries per XRANGE: small replies that never hold up other commands. */
const SCAN_COUNT = 1000;
const LOG_PAGE = 100;

/** A change-log entry as XRANGE answers it, or undefined when it is not one this code wrote. */
function parseChange([id, fields]: [string, string[]]): ListChange | undefined {
  const version = Number(id.split('-')[0]);
  const field = (name: string) => {
    const i = fields.indexOf(name);
    return i >= 0 && i % 2 === 0 ? fields[i + 1] : undefined;
  };
  const list = field('list');
  const op = field('op');
  let values: unknown;
  try {
    values = JSON.parse(field('values') ?? 'null');
  } catch {
    return undefined;
  }
  if (!Number.isSafeInteger(version) || list === undefined || (op !== 'add' && op !== 'remove')) return undefined;
  if (!Array.isArray(values) || !values.every((v): v is string => typeof v === 'string')) return undefined;
  return { version, list, op, values };
}

const MIRROR_VERSION = luaScript('mirror-lists-version-1');

/**
 * Copies the lists version to every partition's tag (with more than one partition): the counters
 * script reads it beside the partition's keys, and one script must not cross Redis Cluster slots.
 * `force` overwrites (a worker starting repairs a copy left behind by a crash mid-change).
 */
export async function mirrorListsVersion(redis: RedisClient, keys: Keys, options: { force?: boolean } = {}): Promise<void> {
  if (keys.partitions === 1) return;
  const version = (await redis.get(keys.listsVersion())) ?? '0';
  await Promise.all(
    keys
      .all()
      .map((pk) => (options.force ? redis.set(pk.listsVersion(), version) : MIRROR_VERSION.run(redis, [pk.listsVersion()], [version]))),
  );
}

/** Creates the live-list store. */
export function createListStore({ redis, keys, maxValues = 100_000, changeLogSize = 1000 }: ListStoreOptions): ListStore {
  const version = async (): Promise<number> => Number((await redis.get(keys.listsVersion())) ?? 0);
  // Lua's unpack has a stack limit of a few thousand values: large edits go in chunks.
  const CHUNK = 1000;
  const scriptKeys = (name: string) => [keys.list(name), keys.listIndex(), keys.listsVersion(), keys.listChanges()];

  async function scanList(name: string): Promise<Set<string>> {
    const values = new Set<string>();
    let cursor = '0';
    do {
      const [next, chunk] = await redis.sscan(keys.list(name), cursor, 'COUNT', SCAN_COUNT);
      cursor = next;
      for (const v of chunk) values.add(v);
    } while (cursor !== '0');
    return values;
  }

  async function scanAll(): Promise<{ version: number; lists: Map<string, Set<string>> }> {
    const before = await version();
    const lists = new Map<string, Set<string>>();
    for (const name of (await redis.smembers(keys.listIndex())).sort()) {
      const values = await scanList(name);
      if (values.size > 0) lists.set(name, values);
    }
    return { version: before, lists };
  }

  return {
    async add(name, values) {
      validateListName(name);
      const clean = normalizeListValues(values);
      let added = 0;
      for (let i = 0; i < clean.length; i += CHUNK) {
        const chunk = clean.slice(i, i + CHUNK);
        const n = Number(await ADD.run(redis, scriptKeys(name), [name, changeLogSize, maxValues, ...chunk]));
        if (n < 0) throw new UsageError(`list "${name}" would hold more than ${maxValues} values`);
        added += n;
      }
      if (added > 0) await mirrorListsVersion(redis, keys);
      return added;
    },

    async remove(name, values) {
      validateListName(name);
      const clean = normalizeListValues(values);
      let removed = 0;
      for (let i = 0; i < clean.length; i += CHUNK) {
        const chunk = clean.slice(i, i + CHUNK);
        removed += Number(await REMOVE.run(redis, scriptKeys(name), [name, changeLogSize, ...chunk]));
      }
      if (removed > 0) await mirrorListsVersion(redis, keys);
      return removed;
    },

    async show(name) {
      validateListName(name);
      return [...(await scanList(name))].sort();
    },

    async size(name) {
      validateListName(name);
      return redis.scard(keys.list(name));
    },

    async names() {
      return (await redis.smembers(keys.listIndex())).sort();
    },

    async loadAll() {
      // Optimistic read: every change bumps the version in the same script, so equal versions
      // before and after mean a consistent snapshot, without a long Lua call that blocks Redis.
      for (let attempt = 0; ; attempt++) {
        const scanned = await scanAll();
        if ((await version()) === scanned.version || attempt >= 4) {
          // Under constant churn, report the older version so the caller reloads again soon.
          return { version: scanned.version, lists: new Map([...scanned.lists].map(([name, values]) => [name, [...values].sort()])) };
        }
      }
    },

    scanAll,

    async changesSince(from, max = changeLogSize) {
      const replies =
        (await redis
          .multi()
          .get(keys.listsVersion())
          .xrange(keys.listChanges(), `${from + 1}-0`, '+', 'COUNT', LOG_PAGE)
          .exec()) ?? [];
      for (const [err] of replies) if (err) throw err;
      const current = Number((replies[0]?.[1] as string | null) ?? 0);
      if (current === from) return { version: current, changes: [] };
      if (current < from || current - from > max) return undefined;
      let page = replies[1]?.[1] as [string, string[]][];
      const changes: ListChange[] = [];
      for (;;) {
        for (const entry of page) {
          const change = parseChange(entry);
          // Ids must follow on without a gap: a missing one is a change this log does not hold.
          if (change === undefined || change.version !== from + changes.length + 1) return undefined;
          if (change.version > current) return { version: current, changes };
          changes.push(change);
        }
        const last = from + changes.length;
        if (last >= current) return { version: current, changes };
        if (page.length < LOG_PAGE) return undefined;
        page = (await redis.xrange(keys.listChanges(), `${last + 1}-0`, '+', 'COUNT', LOG_PAGE)) as [string, string[]][];
      }
    },

    version,
  };
}
