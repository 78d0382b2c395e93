import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import type { Command } from 'commander';
import type { Services } from '../../app/services.js';
import type { CliContext } from '../context.js';
import { printJson, problemLines, readInput, table, type CommandIo } from '../format.js';
import { parseSeconds } from '../options.js';
import { parseBoolean } from '../../shared/config.js';
import { ConfigError, UsageError, type Problem } from '../../shared/errors.js';
import { esc } from '../../shared/terminal-text.js';
import { createStaticListSource } from '../../moderation/list-source.js';
import { formatCorpusTest, formatRuleTest, runCorpusTest, runRuleTest } from '../../moderation/rule-test.js';
import type { RuleSet } from '../../moderation/types.js';
import { parseTime } from '../../shared/parse-time.js';
import { backtestFromLog } from '../../rules/rules-backtest.js';
import { formatBacktest } from '../rules-format.js';
import { emptyPolicyReason, type ReloadReply } from '../../rules/rules-runtime.js';
import { loadRulesFolder } from '../../rules/rules-source.js';
import { createRedis } from '../../store/redis.js';
import { runRulesRearm, runRulesTripped } from './rule-trips.js';

/**
 * The `automod rules ...` commands. Each takes the streams to write to and
 * returns the exit code: 0 success, 1 a problem (an unmet expectation, a reload a worker rejected),
 * 2 a rules folder that is invalid (bad configuration, as for the worker).
 */

/** Exit code for a rules folder that does not load: bad configuration, as `automod start` says. */
export const EXIT_BAD_RULES = 2;

function writeProblems(dir: string, problems: readonly Problem[], io: CommandIo): void {
  io.stderr.write(`${dir}: ${problems.length} problem(s)\n${problemLines(problems)}\n`);
}

/** Lists the rules use that `lists/` does not hold: fine when they are live lists, else a typo. */
function fileListNotes(dir: string, ruleSet: RuleSet, offline: boolean): string[] {
  return ruleSet.referencedLists
    .filter((l) => !ruleSet.fileLists.has(l))
    .map((l) =>
      offline
        ? `note: list "${l}" is not in ${join(dir, 'lists')}/; it reads as empty here (live lists are not read offline)`
        : `note: list "${l}" is not in ${join(dir, 'lists')}/; unless it is a live list (automod lists add ${l} ...), it reads as empty`,
    );
}

/**
 * `automod rules check [PATH]`: validates a folder and lists its rules. A folder whose rules would
 * moderate nothing is a problem too, unless `allowEmpty` (the worker would not be ready).
 */
export async function runRulesCheck(dir: string, options: { json: boolean; allowEmpty: boolean }, io: CommandIo): Promise<number> {
  const read = await loadRulesFolder(dir);
  const empty = read.ruleSet && !options.allowEmpty ? emptyPolicyReason(read.ruleSet) : undefined;
  const loaded = empty
    ? {
        problems: [
          { path: dir, message: `${empty}; pass --allow-empty (AUTOMOD_ALLOW_EMPTY_RULES=true for the worker) if that is intended` },
        ],
      }
    : read;
  if (options.json) {
    printJson(
      loaded.ruleSet
        ? {
            ok: true,
            problems: [],
            version: loaded.ruleSet.version,
            rules: loaded.ruleSet.rules.map((r) => ({ name: r.name, mode: r.mode, action: r.action, file: r.file })),
            missingLists: loaded.ruleSet.referencedLists.filter((l) => !loaded.ruleSet.fileLists.has(l)),
          }
        : { ok: false, problems: loaded.problems },
      io.stdout,
    );
    return loaded.ruleSet ? 0 : EXIT_BAD_RULES;
  }
  if (!loaded.ruleSet) {
    writeProblems(dir, loaded.problems, io);
    return EXIT_BAD_RULES;
  }
  const { ruleSet } = loaded;
  io.stdout.write(
    `${table(
      ['rule', 'mode', 'action', 'file'],
      ruleSet.rules.map((r) => [r.name, r.mode, r.action, r.file]),
      io.columns,
    )}\n`,
  );
  io.stdout.write(`${ruleSet.rules.length} rules OK (version ${ruleSet.version})\n`);
  for (const note of fileListNotes(dir, ruleSet, false)) io.stderr.write(`${note}\n`);
  return 0;
}

/**
 * `automod rules test [PATH] --events FILE | --clean FILE | --evasions FILE`: runs a JSON-lines file
 * of events through the rules offline, with windows and strikes from the events' own times, and
 * text corpora (ordinary text no rule may hit, disguises named rules must catch); exits 1 when an
 * `expect` is not met, a corpus line fails or a line is invalid.
 */
export async function runRulesTest(
  dir: string,
  options: { events?: string | undefined; clean?: string | undefined; evasions?: string | undefined; json: boolean },
  io: CommandIo,
): Promise<number> {
  if (options.events === undefined && options.clean === undefined && options.evasions === undefined) {
    throw new UsageError('rules test needs --events FILE, --clean FILE or --evasions FILE (or several)');
  }
  const loaded = await loadRulesFolder(dir);
  if (!loaded.ruleSet) {
    writeProblems(dir, loaded.problems, io);
    return EXIT_BAD_RULES;
  }
  const read = async (file: string | undefined, what: string): Promise<string[] | undefined> => {
    if (file === undefined) return undefined;
    try {
      return (await readInput(file, io)).split('\n');
    } catch (err) {
      throw new UsageError(`cannot read the ${what} file ${file}: ${errorText(err)}`);
    }
  };
  const [events, clean, evasions] = [
    await read(options.events, 'events'),
    await read(options.clean, 'clean corpus'),
    await read(options.evasions, 'evasions corpus'),
  ];
  const lists = createStaticListSource(loaded.ruleSet.fileLists);
  const report = events === undefined ? undefined : await runRuleTest(loaded.ruleSet, events, lists);
  const corpora =
    clean === undefined && evasions === undefined
      ? undefined
      : await runCorpusTest(loaded.ruleSet, { ...(clean ? { clean } : {}), ...(evasions ? { evasions } : {}) }, lists);
  for (const note of fileListNotes(dir, loaded.ruleSet, true)) io.stderr.write(`${note}\n`);
  if (options.json) printJson(corpora === undefined ? report : report === undefined ? corpora : { events: report, corpora }, io.stdout);
  else {
    if (report) io.stdout.write(`${formatRuleTest(report).join('\n')}\n`);
    if (corpora) io.stdout.write(`${formatCorpusTest(corpora).join('\n')}\n`);
  }
  return (report?.summary.ok ?? true) && (corpora?.summary.ok ?? true) ? 0 : 1;
}

/**
 * `automod rules reload`: asks every worker (Redis pub/sub) to reload its rules folder and shows
 * each answer. Exits 1 when a worker rejected the change (it keeps its last good rules) or did
 * not answer in time.
 */
export async function runRulesReload(services: Services, options: { timeoutMs: number; json: boolean }, io: CommandIo): Promise<number> {
  const requestId = randomUUID();
  const replies: ReloadReply[] = [];
  const subscriber = createRedis(services.config.redis, { name: 'automod-rules-reload' });
  try {
    let wake: () => void = () => undefined;
    subscriber.on('message', (_channel: string, message: string) => {
      try {
        const reply = JSON.parse(message) as ReloadReply;
        if (reply.requestId === requestId) {
          replies.push(reply);
          wake();
        }
      } catch {
        // Not a reply of ours.
      }
    });
    await subscriber.subscribe(services.keys.rulesReplies());
    const receivers = Number(
      await services.redis.publish(services.keys.rulesChannel(), JSON.stringify({ requestId, at: new Date().toISOString() })),
    );
    const deadline = Date.now() + options.timeoutMs;
    while (replies.length < receivers && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(0, deadline - Date.now()));
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    const missing = Math.max(0, receivers - replies.length);
    const rejected = replies.filter((r) => !r.ok);
    if (options.json) {
      printJson({ requestId, workers: receivers, replies, missing }, io.stdout);
    } else if (receivers === 0) {
      io.stdout.write('no worker is listening; workers load the rules folder when they start\n');
      io.stderr.write(`${await noListenerMessage(services)}\n`);
    } else {
      io.stdout.write(
        `${table(
          ['worker', 'result', 'version', 'previous'],
          replies.map((r) => [r.worker, r.result, r.version ?? '', r.previous ?? '']),
          io.columns,
        )}\n`,
      );
      for (const r of rejected) {
        io.stderr.write(
          esc`${r.worker} rejected the change and keeps version ${r.version ?? '(none)'}:\n` + `${problemLines(r.problems)}\n`,
        );
      }
      if (missing > 0) io.stderr.write(`${missing} worker(s) did not answer within ${options.timeoutMs / 1000} s\n`);
      const good = replies.filter((r) => r.ok);
      const versions = [...new Set(good.map((r) => r.version ?? '(none)'))];
      const kept = rejected.length > 0 ? `; ${rejected.length} kept their last good rules` : '';
      io.stdout.write(
        `${good.length} of ${receivers} worker(s) run the folder's rules${versions.length > 0 ? ` (version ${versions.join(', ')})` : ''}${kept}\n`,
      );
    }
    return rejected.length > 0 || missing > 0 ? 1 : 0;
  } finally {
    await subscriber.quit().catch(() => subscriber.disconnect());
  }
}

/** Says which prefixes have events workers listening for reloads, when this one has none. */
async function noListenerMessage(services: Services): Promise<string> {
  // Every events worker subscribes to `{prefix}:rules-reload`: the channels name the prefixes.
  const channels = ((await services.redis.pubsub('CHANNELS', '{*}:rules-reload').catch(() => [])) as string[])
    .map((c) => /^\{(.+)\}:rules-reload$/.exec(c)?.[1])
    .filter((p): p is string => p !== undefined && p !== services.config.prefix)
    .sort();
  const others =
    channels.length > 0 ? `workers are running on prefixes: ${channels.join(', ')}` : 'no worker runs on any other prefix either';
  return `no worker is running on prefix ${services.config.prefix}; ${others}`;
}

/**
 * `automod rules backtest CANDIDATE [--since 24h]`: replays the processed-event log through a
 * candidate rules folder, without side effects, and compares it with what the live rules did.
 */
export async function runRulesBacktest(
  services: Services,
  candidateDir: string,
  options: { since: string; until?: string | undefined; json: boolean },
  io: CommandIo,
  now: number,
): Promise<number> {
  const since = parseTime(options.since, '--since', now);
  const until = options.until === undefined ? undefined : parseTime(options.until, '--until', now);
  const loaded = await loadRulesFolder(candidateDir);
  if (!loaded.ruleSet) {
    writeProblems(candidateDir, loaded.problems, io);
    return EXIT_BAD_RULES;
  }
  if (!services.eventLog.enabled) {
    throw new UsageError('the event log is off (AUTOMOD_EVENT_LOG_HOURS=0): there is nothing to backtest against');
  }
  const hours = services.config.eventLogHours;
  if (since < now - hours * 3_600_000) {
    io.stderr.write(`note: the event log keeps ${hours} h (AUTOMOD_EVENT_LOG_HOURS); older events are gone\n`);
  }
  const report = await backtestFromLog({ eventLog: services.eventLog, lists: services.lists }, loaded.ruleSet, {
    since,
    ...(until === undefined ? {} : { until }),
  });
  if (options.json) printJson(report, io.stdout);
  else io.stdout.write(`${formatBacktest(report, candidateDir)}\n`);
  return 0;
}

function errorText(err: unknown): string {
  const code = err !== null && typeof err === 'object' && 'code' in err ? String(err.code) : undefined;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'it is a folder';
  return err instanceof Error ? err.message : String(err);
}

/** `automod rules check|test|reload|backtest|rearm|tripped`. */
export function register(program: Command, ctx: CliContext): void {
  const rules = program.command('rules').description('check, test, reload, backtest and re-arm rules');

  rules
    .command('check')
    .description('validate a rules folder; exits 2 on any problem (named by file, rule and JSON path), also when no rule is enforceable')
    .argument('[path]', 'rules folder (default: AUTOMOD_RULES or ./rules)')
    .option('--json', 'print the result as JSON')
    .option('--allow-empty', 'accept rules that moderate nothing (no rule whose mode is not off); default: AUTOMOD_ALLOW_EMPTY_RULES')
    .action(async (path: string | undefined, options: { json?: boolean; allowEmpty?: boolean }) => {
      const raw = ctx.env.AUTOMOD_ALLOW_EMPTY_RULES?.trim() || undefined;
      const fromEnv = raw === undefined ? false : parseBoolean(raw);
      if (fromEnv === undefined)
        throw new ConfigError([{ path: 'AUTOMOD_ALLOW_EMPTY_RULES', message: `must be true or false, got "${raw}"` }]);
      ctx.setExitCode(
        await runRulesCheck(ctx.rulesDir(path), { json: options.json ?? false, allowEmpty: options.allowEmpty ?? fromEnv }, ctx.io),
      );
    });

  rules
    .command('test')
    .description(
      'evaluate events from a JSON-lines file, and text corpora, offline (no Redis); exits 1 when an "expect" is not met or a corpus line fails',
    )
    .argument('[path]', 'rules folder (default: AUTOMOD_RULES or ./rules)')
    .option('--events <file>', 'JSON lines (- for stdin): one event per line, optionally with "expect": [rule names]')
    .option('--clean <file>', 'ordinary text, one a line, that no rule may hit (tried as chat, as a joining name and as a new name)')
    .option('--evasions <file>', 'disguised text, "rule-name: text" a line, that each named rule must catch')
    .option('--json', 'print the results as JSON')
    .action(async (path: string | undefined, options: { events?: string; clean?: string; evasions?: string; json?: boolean }) => {
      ctx.setExitCode(
        await runRulesTest(
          ctx.rulesDir(path),
          { events: options.events, clean: options.clean, evasions: options.evasions, json: options.json ?? false },
          ctx.io,
        ),
      );
    });

  rules
    .command('reload')
    .description('make every running worker reload its rules folder, and show what each did')
    .option('--timeout <seconds>', 'how long to wait for the workers to answer', '5')
    .option('--json', 'print the answers as JSON')
    .action(async (options: { timeout: string; json?: boolean }) => {
      const timeoutMs = parseSeconds(options.timeout, '--timeout') * 1000;
      ctx.setExitCode(await ctx.withServices((services) => runRulesReload(services, { timeoutMs, json: options.json ?? false }, ctx.io)));
    });

  rules
    .command('backtest')
    .description('replay the logged events through candidate rules (no side effects) and compare with what the live rules did')
    .argument('<candidate>', 'candidate rules folder')
    .option('--since <time>', 'events processed since (ISO time or 30m, 24h, 7d)', '24h')
    .option('--until <time>', 'events processed until')
    .option('--json', 'print the full comparison as JSON')
    .action(async (candidate: string, options: { since: string; until?: string; json?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runRulesBacktest(
            services,
            candidate,
            { since: options.since, until: options.until, json: options.json ?? false },
            ctx.io,
            Date.now(),
          ),
        ),
      );
    });

  rules
    .command('rearm')
    .description('re-arm a rule tripped past its removal budget: its window starts empty and its hits remove again')
    .argument('<rule>', 'the rule name')
    .option('--json', 'print the result as JSON')
    .action(async (rule: string, options: { json?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices((services) => runRulesRearm(services, rule, { json: options.json ?? false, by: ctx.operator }, ctx.io)),
      );
    });

  rules
    .command('tripped')
    .description('list the rules tripped past their removal budget (their hits held for review)')
    .option('--json', 'print the list as JSON')
    .action(async (options: { json?: boolean }) => {
      ctx.setExitCode(await ctx.withServices((services) => runRulesTripped(services, { json: options.json ?? false }, ctx.io)));
    });
}
