import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { RulesError, type Problem } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { createEvaluator, type Evaluator } from '../moderation/evaluate.js';
import { loadRules } from '../moderation/rules-loader.js';
import type { RuleSet } from '../moderation/types.js';
import { watchRulesFolder } from './folder-watch.js';
import { createRuleLists } from './rule-lists.js';
import { readRulesFolder } from './rules-source.js';
import type { AuditStore } from '../store/audit.js';
import type { ListStore } from '../store/lists.js';

/** The rule set in force with its compiled evaluator. */
export interface ActiveRules {
  ruleSet: RuleSet;
  evaluator: Pick<Evaluator, 'evaluate'>;
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

/**
 * Holds the rule set in force: loads it, reloads it when the folder changes (`folder-watch.ts`) or
 * on request, keeps the last good set when a change is bad, and gives the rules their lists (the
 * folder's merged with the live ones in Redis: `rule-lists.ts`).
 */
export function createRulesRuntime(deps: RulesRuntimeDeps) {
  const { logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const workerId = deps.workerId ?? `${hostname()}-${randomBytes(3).toString('hex')}`;
  // One probe for the runtime's life: a reload does not measure (nor decide again on) an unchanged pattern.
  let active: ActiveRules | undefined;
  let lastError: RulesStatus['lastError'];
  let emptyPolicy: string | undefined;
  let watching: { close(): void } | undefined;
  let reloading: Promise<unknown> = Promise.resolve();
  const lists = createRuleLists({
    store: deps.lists,
    logger,
    metrics,
    referencedLists: () => active?.ruleSet.referencedLists ?? [],
  });
  const listSource = lists.source;

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
    lists.useFileLists(next.ruleSet.fileLists);
    lastError = undefined;
    emptyPolicy = deps.allowEmptyRules ? undefined : emptyPolicyReason(next.ruleSet);
    if (emptyPolicy)
      logger.error(
        { rulesDir: deps.rulesDir, reason: emptyPolicy },
        'the rules in force moderate nothing; not ready until a rule is enforceable (or AUTOMOD_ALLOW_EMPTY_RULES=true)',
      );
    lists.checkMissing();
  }

  /** First load: a bad rule set is fatal here (the worker refuses to start). */
  async function load(): Promise<ActiveRules> {
    const result = await build();
    if (!result.active) throw new RulesError(result.problems);
    // Live lists first, so the check for lists nobody defined sees them.
    await lists.sync(undefined);
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
   * Watches the rules folder (and its `lists/`) and reloads shortly after a change settles; see
   * `watchRulesFolder`.
   */
  function watchFolder(): void {
    watching?.close();
    watching = watchRulesFolder({
      rulesDir: deps.rulesDir,
      debounceMs: deps.watchDebounceMs ?? 250,
      onChange: () => void reload('file change').catch((err: unknown) => logger.error({ err }, 'rules reload failed')),
    });
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
      ...(lists.missing().length > 0 ? { missingLists: lists.missing() } : {}),
      ...(emptyPolicy ? { emptyPolicy } : {}),
    };
  }

  function close(): void {
    watching?.close();
    watching = undefined;
  }

  return {
    load,
    reload,
    answerReloadRequest,
    current,
    status,
    /** Brings the live lists up to date when their version in Redis moved (checked with every event). */
    syncLists: lists.sync,
    watchFolder,
    close,
    lists: listSource,
    workerId,
  };
}

export type RulesRuntime = ReturnType<typeof createRulesRuntime>;
