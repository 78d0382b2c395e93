import { watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { RulesError, type Problem } from './errors.js';
import type { Logger } from './logger.js';
import type { Metrics } from './metrics.js';
import { createEvaluator } from './moderation/evaluate.js';
import { loadRules } from './moderation/rules-loader.js';
import type { ListSource, RuleHit, RuleSet } from './moderation/types.js';
import type { EvaluationFacts } from './moderation/types.js';
import type { MeetingEvent } from './events/event-schema.js';
import { readRulesFolder } from './rules-source.js';
import type { AuditStore } from './store/audit.js';
import type { ListStore } from './store/lists.js';

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
  lastError?: { at: string; problems: readonly Problem[] };
}

export interface RulesRuntimeDeps {
  rulesDir: string;
  /** Live lists in Redis; without them only `rules/lists/*.txt` count. */
  lists?: ListStore | undefined;
  audit?: AuditStore | undefined;
  logger: Logger;
  metrics?: Metrics | undefined;
  now?: () => number;
}

/**
 * Holds the rule set in force: loads it, reloads it when the folder changes (or on request), keeps
 * the last good set when a change is bad, and merges file lists with live Redis lists.
 */
export function createRulesRuntime(deps: RulesRuntimeDeps) {
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  let active: ActiveRules | undefined;
  let lastError: RulesStatus['lastError'];
  let liveLists = new Map<string, Set<string>>();
  let liveVersion = -1;
  let fileSets = new Map<string, Set<string>>();
  let watchers: FSWatcher[] = [];
  let debounce: NodeJS.Timeout | undefined;
  let reloading: Promise<unknown> = Promise.resolve();

  const listSource: ListSource = {
    has: (list, value) => fileSets.get(list)?.has(value) === true || liveLists.get(list)?.has(value) === true,
    values: (list) => [...(fileSets.get(list) ?? []), ...(liveLists.get(list) ?? [])],
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
    const { ruleSet, problems } = loadRules(files.files, files.lists);
    if (!ruleSet) return { problems };
    return {
      active: { ruleSet, evaluator: createEvaluator(ruleSet, { lists: () => listSource }), loadedAt: new Date(now()).toISOString() },
      problems: [],
    };
  }

  function install(next: ActiveRules): void {
    active = next;
    fileSets = new Map([...next.ruleSet.fileLists].map(([name, values]) => [name, new Set(values)]));
    lastError = undefined;
  }

  /** First load: a bad rule set is fatal here (the worker refuses to start). */
  async function load(): Promise<ActiveRules> {
    const result = await build();
    if (!result.active) throw new RulesError(result.problems);
    install(result.active);
    await syncLists(undefined);
    logger.info({ rulesVersion: result.active.ruleSet.version, rules: result.active.ruleSet.rules.length }, 'rules loaded');
    return result.active;
  }

  /** Reloads; a bad change is reported and the last good rule set stays in force. */
  function reload(trigger: string): Promise<{ ok: boolean; version: string | undefined; problems: readonly Problem[] }> {
    const run = reloading.then(async () => {
      const result = await build();
      const at = new Date(now()).toISOString();
      if (!result.active) {
        lastError = { at, problems: result.problems };
        metrics?.rulesReloads.inc({ result: 'rejected' });
        logger.error({ trigger, problems: result.problems, keptVersion: active?.ruleSet.version }, 'rules reload rejected; keeping the last good rules');
        await deps.audit
          ?.append({ at, kind: 'rules-reload', outcome: 'rejected', detail: { trigger, problems: result.problems, keptVersion: active?.ruleSet.version } })
          .catch(() => undefined);
        return { ok: false, version: active?.ruleSet.version, problems: result.problems };
      }
      const previous = active?.ruleSet.version;
      install(result.active);
      metrics?.rulesReloads.inc({ result: 'loaded' });
      if (previous !== result.active.ruleSet.version) {
        logger.info({ trigger, rulesVersion: result.active.ruleSet.version, previous }, 'rules reloaded');
        await deps.audit
          ?.append({ at, kind: 'rules-reload', outcome: 'loaded', rulesVersion: result.active.ruleSet.version, detail: { trigger, previous } })
          .catch(() => undefined);
      }
      return { ok: true, version: result.active.ruleSet.version, problems: [] };
    });
    reloading = run.catch(() => undefined);
    return run;
  }

  /** Refreshes the live lists when their version in Redis moved (checked with every event). */
  async function syncLists(version: number | undefined): Promise<void> {
    if (!deps.lists || (version !== undefined && version === liveVersion)) return;
    const loaded = await deps.lists.loadAll();
    liveLists = new Map([...loaded.lists].map(([name, values]) => [name, new Set(values)]));
    liveVersion = loaded.version;
  }

  /** Watches the rules folder (and its lists) and reloads shortly after a change settles. */
  function watchFolder(): void {
    const onChange = () => {
      clearTimeout(debounce);
      debounce = setTimeout(() => void reload('file-change').catch((err: unknown) => logger.error({ err }, 'rules reload failed')), 250);
    };
    for (const dir of [deps.rulesDir, join(deps.rulesDir, 'lists')]) {
      try {
        const watcher = watch(dir, onChange);
        watcher.on('error', () => undefined);
        watchers.push(watcher);
      } catch {
        // A folder without lists/ is fine; the rules folder itself was checked at load.
      }
    }
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
    };
  }

  function close(): void {
    clearTimeout(debounce);
    for (const w of watchers) w.close();
    watchers = [];
  }

  return { load, reload, current, status, syncLists, watchFolder, close, lists: listSource };
}

export type RulesRuntime = ReturnType<typeof createRulesRuntime>;
