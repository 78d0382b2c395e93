import { randomBytes } from 'node:crypto';
import { statSync, watch, type FSWatcher } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { RulesError, type Problem } from '../shared/errors.js';
import type { MeetingEvent } from '../shared/event-schema.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { createEvaluator } from '../moderation/evaluate.js';
import { loadRules } from '../moderation/rules-loader.js';
import type { EvaluationFacts, ListSource, RuleHit, RuleSet } from '../moderation/types.js';
import { readRulesFolder } from './rules-source.js';
import type { AuditStore } from '../store/audit.js';
import type { ListChange, ListStore } from '../store/lists.js';

/** The rule set in force with its compiled evaluator. */
export interface ActiveRules {
  ruleSet: RuleSet;
  evaluator: { evaluate(event: MeetingEvent, facts: EvaluationFacts): Promise<RuleHit[]> };
  loadedAt: string;
}

/** What `/readyz` and `rules reload` report about the rules. */
export interface RulesStatus {
  version: string | undefined;
  rules: number;
  loadedAt: string | undefined;
  /** The last reload that failed, while the previous good set stays in force. */
  lastError?: { at: string; trigger: string; problems: readonly Problem[] };
  /** Lists the rules use that exist neither in `rules/lists/` nor in Redis (they read as empty). */
  missingLists?: readonly string[];
  /**
   * Why the rule set in force moderates nothing (no rule whose mode is not `off`); `/readyz` is 503
   * while it is set. Never set with `AUTOMOD_ALLOW_EMPTY_RULES`.
   */
  emptyPolicy?: string;
}

/** What one reload did: `loaded` a new version, found it `unchanged`, or `rejected` a bad change. */
export interface ReloadResult {
  ok: boolean;
  result: 'loaded' | 'unchanged' | 'rejected';
  /** The version in force afterwards. */
  version: string | undefined;
  previous: string | undefined;
  problems: readonly Problem[];
}

/** A worker's answer to `automod rules reload`, published on the replies channel. */
export interface ReloadReply extends ReloadResult {
  requestId: string;
  worker: string;
}

export interface RulesRuntimeDeps {
  rulesDir: string;
  /** Live lists in Redis; without them only `rules/lists/*.txt` count. */
  lists?: ListStore | undefined;
  audit?: AuditStore | undefined;
  logger: Logger;
  metrics?: Metrics | undefined;
  now?: () => number;
  /** Names this worker in reload replies; default host name and a random suffix. */
  workerId?: string;
  /** Quiet time after the last file change before a reload (ms); default 250. */
  watchDebounceMs?: number;
  /** Accept a rule set with no enforceable rule as ready (`AUTOMOD_ALLOW_EMPTY_RULES`); default false. */
  allowEmptyRules?: boolean | undefined;
  /** Given to the evaluator: yields to the event loop between rules when evaluation runs long. */
  yieldToLoop?: (() => Promise<void> | undefined) | undefined;
}

/**
 * Why `ruleSet` would moderate nothing, or undefined when at least one rule's mode is not `off`.
 * An empty policy is most often a deployment mistake (a mounted folder whose files were not seen,
 * every rule switched off), so it is refused unless allowed on purpose.
 */
export function emptyPolicyReason(ruleSet: RuleSet): string | undefined {
  if (ruleSet.rules.some((r) => r.mode !== 'off')) return undefined;
  const count = ruleSet.rules.length;
  return count === 0
    ? 'the rules folder holds no rule (no *.json file directly in it): nothing would be moderated'
    : `all ${count} rule(s) have mode "off": nothing would be moderated`;
}

const EMPTY: readonly string[] = Object.freeze([]);

/**
 * Holds the rule set in force: loads it, reloads it when the folder changes (or on request), keeps
 * the last good set when a change is bad, and merges file lists with live Redis lists.
 */
export function createRulesRuntime(deps: RulesRuntimeDeps) {
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const workerId = deps.workerId ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  // One probe for the runtime's life: a reload does not measure (nor decide again on) an unchanged pattern.
  let active: ActiveRules | undefined;
  let lastError: RulesStatus['lastError'];
  let liveLists = new Map<string, Set<string>>();
  let liveVersion = -1;
  // The list refresh under way: every event that sees a newer version awaits this one promise.
  let refreshing: Promise<void> | undefined;
  let fileSets = new Map<string, ReadonlySet<string>>();
  // The merged values of each list, built once per change of the files or the live lists, so
  // `values()` answers the same array while nothing changed (containsWord's index check is free).
  let merged = new Map<string, readonly string[]>();
  let missingLists: readonly string[] = EMPTY;
  // Each watched folder with the identity of the folder it was armed on (device, inode, birth time:
  // an inode number alone may be reused by a folder created after the old one was deleted).
  let watchers = new Map<string, { watcher: FSWatcher; identity: string | undefined }>();
  let emptyPolicy: string | undefined;
  let debounce: NodeJS.Timeout | undefined;
  let reloading: Promise<unknown> = Promise.resolve();

  const listSource: ListSource = {
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

  async function build(): Promise<{ active?: ActiveRules; problems: Problem[] }> {
    let files;
    try {
      files = await readRulesFolder(deps.rulesDir);
    } catch (err) {
      if (err instanceof RulesError) return { problems: [...err.problems] };
      throw err;
    }
    // No clock: a worker checks a pattern's program size, not its time (a busy machine would refuse
    // what rules check admitted); it yields while it evaluates instead (docs/rules.md).
    const { ruleSet, problems } = loadRules(files.files, files.lists);
    if (!ruleSet) return { problems };
    return {
      active: {
        ruleSet,
        evaluator: createEvaluator(ruleSet, { lists: () => listSource, yieldToLoop: deps.yieldToLoop }),
        loadedAt: new Date(now()).toISOString(),
      },
      problems: [],
    };
  }

  function install(next: ActiveRules): void {
    active = next;
    fileSets = new Map([...next.ruleSet.fileLists].map(([name, values]) => [name, new Set(values)]));
    merged = new Map();
    lastError = undefined;
    emptyPolicy = deps.allowEmptyRules ? undefined : emptyPolicyReason(next.ruleSet);
    if (emptyPolicy)
      logger.error(
        { rulesDir: deps.rulesDir, reason: emptyPolicy },
        'the rules in force moderate nothing; not ready until a rule is enforceable (or AUTOMOD_ALLOW_EMPTY_RULES=true)',
      );
    checkLists();
  }

  /** Warns once per change about lists the rules use that nobody has defined. */
  function checkLists(): void {
    const missing = (active?.ruleSet.referencedLists ?? []).filter((l) => !fileSets.has(l) && !liveLists.has(l));
    if (missing.join('\n') === missingLists.join('\n')) return;
    missingLists = Object.freeze(missing);
    if (missing.length > 0) {
      logger.warn({ lists: missing }, 'rules use lists that exist neither in the rules folder nor in Redis; they read as empty');
    }
  }

  /** First load: a bad rule set is fatal here (the worker refuses to start). */
  async function load(): Promise<ActiveRules> {
    const result = await build();
    if (!result.active) throw new RulesError(result.problems);
    // Live lists first, so the check for lists nobody defined sees them.
    await syncLists(undefined);
    install(result.active);
    logger.info({ rulesVersion: result.active.ruleSet.version, rules: result.active.ruleSet.rules.length }, 'rules loaded');
    return result.active;
  }

  /**
   * Reloads the folder; a bad change is reported (log, metric, audit `rules-reload` rejected,
   * `status().lastError` for `/readyz`) and the last good rule set stays in force. Reloads run one
   * at a time, in the order asked.
   */
  function reload(trigger: string): Promise<ReloadResult> {
    const run = reloading.then(async (): Promise<ReloadResult> => {
      const result = await build();
      const at = new Date(now()).toISOString();
      const previous = active?.ruleSet.version;
      // Emptying a working policy is kept out like any bad change; an empty one may be replaced.
      if (result.active && active && !deps.allowEmptyRules && emptyPolicyReason(active.ruleSet) === undefined) {
        const reason = emptyPolicyReason(result.active.ruleSet);
        if (reason) {
          delete result.active;
          result.problems = [{ path: deps.rulesDir, message: `${reason}; set AUTOMOD_ALLOW_EMPTY_RULES=true to allow an empty policy` }];
        }
      }
      if (!result.active) {
        lastError = { at, trigger, problems: result.problems };
        metrics?.rulesReloads.inc({ result: 'rejected' });
        logger.error({ trigger, problems: result.problems, keptVersion: previous }, 'rules reload rejected; keeping the last good rules');
        await deps.audit
          ?.append({
            at,
            kind: 'rules-reload',
            outcome: 'rejected',
            ...(previous ? { rulesVersion: previous } : {}),
            detail: { trigger, worker: workerId, problems: result.problems, keptVersion: previous },
          })
          .catch((err: unknown) => logger.warn({ err }, 'could not audit a rejected rules reload'));
        return { ok: false, result: 'rejected', version: previous, previous, problems: result.problems };
      }
      const recovered = lastError !== undefined;
      install(result.active);
      const version = result.active.ruleSet.version;
      metrics?.rulesReloads.inc({ result: previous === version ? 'unchanged' : 'loaded' });
      if (previous === version && !recovered) {
        // A request that changed nothing still says so; a file change often does (editors touch files).
        if (trigger === 'file change') logger.debug({ trigger, rulesVersion: version }, 'rules reload found no change');
        else logger.info({ trigger, rulesVersion: version }, 'rules reload found no change');
        return { ok: true, result: 'unchanged', version, previous, problems: [] };
      }
      logger.info({ trigger, rulesVersion: version, previous, rules: result.active.ruleSet.rules.length }, 'rules reloaded');
      await deps.audit
        ?.append({ at, kind: 'rules-reload', outcome: 'loaded', rulesVersion: version, detail: { trigger, worker: workerId, previous } })
        .catch((err: unknown) => logger.warn({ err }, 'could not audit a rules reload'));
      return { ok: true, result: previous === version ? 'unchanged' : 'loaded', version, previous, problems: [] };
    });
    reloading = run.catch(() => undefined);
    return run;
  }

  /**
   * Answers one `automod rules reload` request (the pub/sub message): reloads and returns the reply
   * to publish on the replies channel. A message that is not a request still reloads (older CLIs
   * sent only a time).
   */
  async function answerReloadRequest(message: string): Promise<ReloadReply> {
    let requestId = '';
    try {
      const parsed: unknown = JSON.parse(message);
      if (parsed !== null && typeof parsed === 'object' && typeof (parsed as { requestId?: unknown }).requestId === 'string') {
        requestId = (parsed as { requestId: string }).requestId;
      }
    } catch {
      // Not JSON: still a request to reload.
    }
    const result = await reload('rules reload command');
    return { ...result, requestId, worker: workerId };
  }

  /**
   * Brings the live lists up to date when their version in Redis moved (checked with every event).
   * One refresh runs at a time per process, shared by every caller that waits for it.
   */
  async function syncLists(version: number | undefined): Promise<void> {
    if (!deps.lists || (version !== undefined && version === liveVersion)) return;
    // A version older than ours is usually an event that read it before the last refresh ended;
    // one refresh tells that apart from a Redis reset. Under churn a refresh may land short of
    // `version`: try again, a few times at most (the next event carries on from there).
    for (let attempt = 0; attempt < 3; attempt++) {
      refreshing ??= refreshLists().finally(() => {
        refreshing = undefined;
      });
      await refreshing;
      if (version === undefined || liveVersion >= version) return;
    }
  }

  /** Applies the logged changes since our version, or reads every list when the log cannot tell. */
  async function refreshLists(): Promise<void> {
    const store = deps.lists!;
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
    checkLists();
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

  /**
   * Watches the rules folder and its `lists/` (also when `lists/` appears later) and reloads
   * shortly after a change settles. The paths are watched, not the folders first found there: a
   * watch follows an inode, so after `mv live live.old; mv live.new live` (or a swapped symbolic
   * link: ConfigMap's `..data`, a `current -> releases/N` link) it would go on watching the old
   * folder. The parent folder is watched for the folder's own name, and every event re-arms any
   * watch whose path now leads to another inode.
   */
  function watchFolder(): void {
    const root = resolve(deps.rulesDir);
    const targets = [root, join(root, 'lists')];
    const identity = (path: string): string | undefined => {
      try {
        const stats = statSync(path);
        return stats.isDirectory() ? `${stats.dev}:${stats.ino}:${stats.birthtimeMs}` : undefined;
      } catch {
        return undefined;
      }
    };
    const arm = (path: string, id: string): void => {
      try {
        const watcher = watch(path, onChange);
        watcher.on('error', () => {
          watcher.close();
          if (watchers.get(path)?.watcher === watcher) watchers.delete(path);
        });
        watchers.set(path, { watcher, identity: id });
      } catch {
        // Not there (yet): a later event in the parent or the folder arms it.
      }
    };
    const rearm = (): void => {
      for (const path of targets) {
        const id = identity(path);
        const current = watchers.get(path);
        if (current && current.identity === id) continue;
        current?.watcher.close();
        watchers.delete(path);
        if (id !== undefined) arm(path, id);
      }
    };
    const onChange = (): void => {
      rearm();
      clearTimeout(debounce);
      debounce = setTimeout(
        () => void reload('file change').catch((err: unknown) => logger.error({ err }, 'rules reload failed')),
        deps.watchDebounceMs ?? 250,
      );
    };
    const name = basename(root);
    try {
      const parent = watch(dirname(root), (_event, file) => {
        if (file === null || file === name) onChange();
      });
      parent.on('error', () => parent.close());
      watchers.set(`parent:${dirname(root)}`, { watcher: parent, identity: undefined });
    } catch {
      // A parent that cannot be watched (permissions): the folder's own watch still sees edits.
    }
    rearm();
  }

  function current(): ActiveRules {
    if (!active) throw new RulesError([{ path: deps.rulesDir, message: 'no rule set has been loaded' }]);
    return active;
  }

  function status(): RulesStatus {
    return {
      version: active?.ruleSet.version,
      rules: active?.ruleSet.rules.length ?? 0,
      loadedAt: active?.loadedAt,
      ...(lastError ? { lastError } : {}),
      ...(missingLists.length > 0 ? { missingLists } : {}),
      ...(emptyPolicy ? { emptyPolicy } : {}),
    };
  }

  function close(): void {
    clearTimeout(debounce);
    for (const w of watchers.values()) w.watcher.close();
    watchers = new Map();
  }

  return { load, reload, answerReloadRequest, current, status, syncLists, watchFolder, close, lists: listSource, workerId };
}

export type RulesRuntime = ReturnType<typeof createRulesRuntime>;
