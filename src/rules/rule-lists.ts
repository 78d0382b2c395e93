import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { ListSource } from '../moderation/types.js';
import type { ListChange, ListStore } from '../store/lists.js';

const EMPTY: readonly string[] = Object.freeze([]);

export interface RuleListsDeps {
  /** Live lists in Redis; without them only `rules/lists/*.txt` count. */
  store?: ListStore | undefined;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** The lists the rule set in force uses (checked for lists nobody defined). */
  referencedLists: () => readonly string[];
}

/**
 * The lists the rules read: those of the rules folder merged with the live lists in Redis, kept
 * up to date from the lists' change log (or read whole when the log cannot tell).
 */
export function createRuleLists(deps: RuleListsDeps) {
  const { logger, metrics } = deps;
  let liveLists = new Map<string, Set<string>>();
  let liveVersion = -1;
  // The list refresh under way: every event that sees a newer version awaits this one promise.
  let refreshing: Promise<void> | undefined;
  let fileSets = new Map<string, ReadonlySet<string>>();
  // The merged values of each list, built once per change of the files or the live lists, so
  // `values()` answers the same array while nothing changed (containsWord's index check is free).
  let merged = new Map<string, readonly string[]>();
  let missingLists: readonly string[] = EMPTY;

  const source: ListSource = {
    has: (list, value) => fileSets.get(list)?.has(value) === true || liveLists.get(list)?.has(value) === true,
    values: (list) => {
      let values = merged.get(list);
      if (values === undefined) {
        const file = fileSets.get(list);
        const live = liveLists.get(list);
        values = file === undefined && live === undefined ? EMPTY : Object.freeze([...new Set([...(file ?? []), ...(live ?? [])])]);
        merged.set(list, values);
      }
      return values;
    },
    exists: (list) => fileSets.has(list) || liveLists.has(list),
  };

  /** Takes the lists of a newly installed rule set's folder. */
  function useFileLists(fileLists: ReadonlyMap<string, readonly string[]>): void {
    fileSets = new Map([...fileLists].map(([name, values]) => [name, new Set(values)]));
    merged = new Map();
  }

  /** Warns once per change about lists the rules use that nobody has defined. */
  function checkMissing(): void {
    const missing = deps.referencedLists().filter((l) => !fileSets.has(l) && !liveLists.has(l));
    if (missing.join('\n') === missingLists.join('\n')) return;
    missingLists = Object.freeze(missing);
    if (missing.length > 0) {
      logger.warn({ lists: missing }, 'rules use lists that exist neither in the rules folder nor in Redis; they read as empty');
    }
  }

  /**
   * Brings the live lists up to date when their version in Redis moved (checked with every event).
   * One refresh runs at a time per process, shared by every caller that waits for it.
   */
  async function sync(version: number | undefined): Promise<void> {
    if (!deps.store || (version !== undefined && version === liveVersion)) return;
    // A version older than ours is usually an event that read it before the last refresh ended;
    // one refresh tells that apart from a Redis reset. Under churn a refresh may land short of
    // `version`: try again, a few times at most (the next event carries on from there).
    for (let attempt = 0; attempt < 3; attempt++) {
      refreshing ??= refresh(deps.store).finally(() => {
        refreshing = undefined;
      });
      await refreshing;
      if (version === undefined || liveVersion >= version) return;
    }
  }

  /** Applies the logged changes since our version, or reads every list when the log cannot tell. */
  async function refresh(store: ListStore): Promise<void> {
    const delta = liveVersion >= 0 ? await store.changesSince(liveVersion) : undefined;
    if (delta) {
      applyChanges(delta.changes);
      liveVersion = delta.version;
      if (delta.changes.length > 0) metrics?.listRefreshes.inc({ kind: 'delta' });
    } else {
      const scanned = await store.scanAll();
      liveLists = scanned.lists;
      liveVersion = scanned.version;
      merged = new Map();
      metrics?.listRefreshes.inc({ kind: 'full' });
      // The scan may have missed changes made while it ran; the log has them.
      const since = await store.changesSince(scanned.version);
      if (since) {
        applyChanges(since.changes);
        liveVersion = since.version;
      }
    }
    checkMissing();
  }

  function applyChanges(changes: readonly ListChange[]): void {
    for (const change of changes) {
      let values = liveLists.get(change.list);
      if (change.op === 'add') {
        if (!values) liveLists.set(change.list, (values = new Set()));
        for (const v of change.values) values.add(v);
      } else if (values) {
        for (const v of change.values) values.delete(v);
        // Redis drops an emptied list; so does this copy (notInList then sees no list at all).
        if (values.size === 0) liveLists.delete(change.list);
      }
      // Only this list's merged values are rebuilt: the others keep their arrays (containsWord indexes).
      merged.delete(change.list);
    }
  }

  return {
    source,
    useFileLists,
    checkMissing,
    sync,
    /** Lists the rules use that exist neither in `rules/lists/` nor in Redis (they read as empty). */
    missing: (): readonly string[] => missingLists,
  };
}

export type RuleLists = ReturnType<typeof createRuleLists>;
