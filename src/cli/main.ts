import { readFile } from 'node:fs/promises';
import { setFlagsFromString } from 'node:v8';
import { Argument, Command, CommanderError, Option } from 'commander';
import { startAutomod } from '../app/automod.js';
import { createServices, type Services } from '../app/services.js';
import { parsePartitionList } from '../shared/partitions.js';
import { completionScript, SHELLS, type Shell } from './completion.js';
import { addHelpDetails } from './help.js';
import { printJson, type CommandIo } from './format.js';
import { parseLimit, runAudit, runJob, runJobs, runSession } from './commands/inspect.js';
import { runDeadLetterReplay, runDeadLetters } from './commands/dead-letters.js';
import { runPause, runResume } from './commands/pause.js';
import { runReplay } from './commands/replay.js';
import { runNotificationReplay, runReviewDecision, runReviews } from './commands/reviews.js';
import { REVIEW_STATES, type ReviewState } from '../store/reviews.js';
import { runRemove } from './commands/remove.js';
import { runSimulator } from './commands/simulator.js';
import { registerBanCommands, resolveRemoveBan } from './commands/bans.js';
import { parseBoolean, parseConfig, type Config } from '../shared/config.js';
import { ConfigError, InvalidEventError, RulesError, UsageError } from '../shared/errors.js';
import { runConfig, runStatus } from './commands/status.js';
import { probeRedis, RedisUnreachableError } from '../store/redis.js';
import { parseEvent, type MeetingEvent } from '../shared/event-schema.js';
import { isSkippedLine } from '../moderation/json-lines.js';
import { createLogger } from '../shared/logger.js';
import { JOB_STATES, type JobState } from '../removals/job-view.js';
import { parseTime } from '../shared/parse-time.js';
import { parseBanDuration } from '../moderation/ban-params.js';
import { replayFilterSchema } from '../removals/replay.js';
import {
  EXIT_BAD_RULES,
  runListsChange,
  runListsShow,
  runRulesBacktest,
  runRulesCheck,
  runRulesReload,
  runRulesTest,
} from './commands/rules.js';

/**
 * The composition root: the only place that reads `process.env`, `process.argv` and the standard
 * streams, and decides exit codes.
 */
const program = new Command();
program
  .name('automod')
  .description('Rule-based auto-moderation worker for VideoSDK meetings')
  .version('0.1.0')
  .showHelpAfterError()
  // Usage errors are thrown instead of exiting 1, so they exit 2 like every other usage error.
  .exitOverride();

// `automod jobs | head` closes the pipe early: that is not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
  process.exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
});

function config(): Config {
  return parseConfig(process.env);
}

/** The rules folder a `rules` command reads: its argument, else AUTOMOD_RULES, else ./rules. */
function rulesDir(path: string | undefined): string {
  return path ?? process.env.AUTOMOD_RULES ?? './rules';
}

/** Logs of one-shot commands go to stderr and stay quiet unless LOG_LEVEL asks. */
function commandLogger(cfg: Config) {
  return createLogger({ logLevel: process.env.LOG_LEVEL ? cfg.logLevel : 'warn', logFormat: cfg.logFormat, tty: process.stderr.isTTY });
}

async function withServices<T>(fn: (services: Services) => Promise<T>): Promise<T> {
  const cfg = config();
  // Fails within AUTOMOD_REDIS_CONNECT_TIMEOUT_MS with one line naming the address (exit 3),
  // instead of waiting on ioredis' retries and printing its error events.
  await probeRedis(cfg.redis, cfg.redis.connectTimeoutMs);
  const services = createServices(cfg, commandLogger(cfg), {});
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

/** The process's streams, for commands that take them as a parameter. */
function io(): CommandIo {
  return {
    stdout: process.stdout,
    stderr: process.stderr,
    stdin: process.stdin,
    columns: process.stdout.isTTY ? process.stdout.columns : undefined,
  };
}

/** Who is at the keyboard, recorded with removals, replays and pauses. */
function operator(): string {
  return `operator:${process.env.USER ?? process.env.USERNAME ?? 'cli'}`;
}

/** Aborted on Ctrl-C, so a waiting command prints what it has and exits; a second Ctrl-C kills. */
function interrupted(): AbortSignal {
  const controller = new AbortController();
  process.once('SIGINT', () => {
    controller.abort();
    process.once('SIGINT', () => process.exit(130));
  });
  return controller.signal;
}

function seconds(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new UsageError(`${name} must be a number of seconds (0 = no limit), got "${value}"`);
  return n;
}

program
  .command('start')
  .description('run the workers and the HTTP API until SIGTERM or SIGINT')
  .addOption(new Option('--only <kind>', 'run only one kind of worker').choices(['events', 'removals']))
  .option('--no-http', 'do not serve the HTTP API')
  .option('--partitions <list>', 'consume only these event partitions (3, 0-5 or 0,2,4-6); all by default')
  .option('--repartition', "record a new AUTOMOD_PARTITIONS (only once the old partitions' events queues are drained)")
  .action(async (options: { only?: 'events' | 'removals'; http: boolean; partitions?: string; repartition?: boolean }) => {
    const cfg = config();
    const partitions = options.partitions === undefined ? undefined : parsePartitionList(options.partitions, cfg.partitions);
    const logger = createLogger({ logLevel: cfg.logLevel, logFormat: cfg.logFormat, tty: process.stderr.isTTY });
    // A worker's live heap is small (about 25 MB) but churns fast; V8 would let it grow to several
    // times that before a full collection. Growing by at most half keeps RSS flat under load (about
    // 140 MB at saturation instead of 200+) for no measurable throughput. NODE_OPTIONS still wins.
    if (!/--(heap-growing-percent|max-old-space-size)/.test(process.env.NODE_OPTIONS ?? ''))
      setFlagsFromString('--heap-growing-percent=50');
    let running;
    try {
      running = await startAutomod(cfg, logger, { only: options.only, http: options.http, partitions, repartition: options.repartition });
    } catch (err) {
      if (err instanceof RulesError) {
        process.stderr.write(`refusing to start: the rules in ${cfg.rulesDir} are invalid\n${problemLines(err)}\n`);
        process.exitCode = EXIT_BAD_RULES;
        logger.flush();
        return;
      }
      throw err;
    }
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      void running.close().then(
        () => {
          logger.flush();
          process.exit(0);
        },
        (err: unknown) => {
          logger.error({ err }, 'shutdown failed');
          logger.flush();
          process.exit(1);
        },
      );
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });

program
  .command('demo')
  .description('run the whole pipeline against the bundled VideoSDK simulator and print who was removed')
  .action(async () => {
    const { runDemo } = await import('./commands/demo.js');
    process.exitCode = await runDemo({ env: process.env, stdout: process.stdout, stderr: process.stderr });
  });

const rules = program.command('rules').description('check, test, reload and backtest rules');

rules
  .command('check')
  .description('validate a rules folder; exits 2 on any problem (named by file, rule and JSON path), also when no rule is enforceable')
  .argument('[path]', 'rules folder (default: AUTOMOD_RULES or ./rules)')
  .option('--json', 'print the result as JSON')
  .option('--allow-empty', 'accept rules that moderate nothing (no rule whose mode is not off); default: AUTOMOD_ALLOW_EMPTY_RULES')
  .action(async (path: string | undefined, options: { json?: boolean; allowEmpty?: boolean }) => {
    const raw = process.env.AUTOMOD_ALLOW_EMPTY_RULES?.trim() || undefined;
    const fromEnv = raw === undefined ? false : parseBoolean(raw);
    if (fromEnv === undefined)
      throw new ConfigError([{ path: 'AUTOMOD_ALLOW_EMPTY_RULES', message: `must be true or false, got "${raw}"` }]);
    process.exitCode = await runRulesCheck(
      rulesDir(path),
      { json: options.json ?? false, allowEmpty: options.allowEmpty ?? fromEnv },
      io(),
    );
  });

rules
  .command('test')
  .description('evaluate events from a JSON-lines file offline (no Redis); exits 1 when an "expect" is not met')
  .argument('[path]', 'rules folder (default: AUTOMOD_RULES or ./rules)')
  .requiredOption('--events <file>', 'JSON lines (- for stdin): one event per line, optionally with "expect": [rule names]')
  .option('--json', 'print the results as JSON')
  .action(async (path: string | undefined, options: { events: string; json?: boolean }) => {
    process.exitCode = await runRulesTest(rulesDir(path), { events: options.events, json: options.json ?? false }, io());
  });

rules
  .command('reload')
  .description('make every running worker reload its rules folder, and show what each did')
  .option('--timeout <seconds>', 'how long to wait for the workers to answer', '5')
  .option('--json', 'print the answers as JSON')
  .action(async (options: { timeout: string; json?: boolean }) => {
    const timeoutMs = seconds(options.timeout, '--timeout') * 1000;
    process.exitCode = await withServices((services) => runRulesReload(services, { timeoutMs, json: options.json ?? false }, io()));
  });

rules
  .command('backtest')
  .description('replay the logged events through candidate rules (no side effects) and compare with what the live rules did')
  .argument('<candidate>', 'candidate rules folder')
  .option('--since <time>', 'events processed since (ISO time or 30m, 24h, 7d)', '24h')
  .option('--until <time>', 'events processed until')
  .option('--json', 'print the full comparison as JSON')
  .action(async (candidate: string, options: { since: string; until?: string; json?: boolean }) => {
    process.exitCode = await withServices((services) =>
      runRulesBacktest(services, candidate, { since: options.since, until: options.until, json: options.json ?? false }, io(), Date.now()),
    );
  });

const events = program.command('events').description('put events on the queue');
events
  .command('add')
  .description('validate and enqueue events from a JSON-lines file (or - for stdin)')
  .argument('<file>', 'JSON lines, one event per line; blank lines and lines starting with # are skipped')
  .option('--json', 'print the result as JSON')
  .action(async (file: string, options: { json?: boolean }) => {
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
    const valid: MeetingEvent[] = [];
    const invalid: { line: number; error: string }[] = [];
    text.split('\n').forEach((raw, index) => {
      if (isSkippedLine(raw)) return;
      try {
        valid.push(parseEvent(JSON.parse(raw) as unknown));
      } catch (err) {
        invalid.push({ line: index + 1, error: err instanceof InvalidEventError ? err.message : 'not valid JSON' });
      }
    });
    for (const bad of invalid) process.stderr.write(`line ${bad.line}: ${bad.error}\n`);
    const result = valid.length > 0 ? await withServices((s) => s.ingest.ingest(valid)) : { accepted: 0, duplicates: 0, ids: [] };
    if (options.json) printJson({ ...result, invalid });
    else process.stdout.write(`accepted ${result.accepted}, duplicates ${result.duplicates}, invalid ${invalid.length}\n`);
    process.exitCode = invalid.length > 0 ? 1 : 0;
  });

program
  .command('remove')
  .description('remove participants: a list, a file (CSV or JSON lines), or everyone in a session; waits and shows each outcome')
  .option('--session <id>', 'session id')
  .option('--participant <ids...>', 'participant ids (with --session)')
  .option('--file <file>', 'CSV with header sessionId,participantId[,meetingId,reason], or JSON lines (- for stdin)')
  .option('--all', 'everyone active in --session (read from VideoSDK)')
  .option('--except <ids...>', 'participant ids to keep (with --all)')
  .option('--meeting <id>', 'meeting (room) id, needed by the v2 API when VideoSDK cannot tell')
  .option('--reason <text>', 'reason recorded with each removal')
  .option('--no-wait', 'enqueue and return without waiting for outcomes')
  .option('--timeout <seconds>', 'stop waiting after this many seconds (0 = no limit)', '0')
  .option('--json', 'print the per-participant result as JSON')
  .option(
    '--ban <duration>',
    "also ban each participant removed: 10m, 24h, 7d or permanent (in --meeting, the session's meeting, or --all-meetings)",
  )
  .option('--all-meetings', 'with --ban: ban in every meeting')
  .action(
    async (options: {
      ban?: string;
      allMeetings?: boolean;
      session?: string;
      participant?: string[];
      file?: string;
      all?: boolean;
      except?: string[];
      meeting?: string;
      reason?: string;
      wait: boolean;
      timeout: string;
      json?: boolean;
    }) => {
      const timeout = seconds(options.timeout, '--timeout');
      const { ban: banFor, allMeetings, ...rest } = options;
      process.exitCode = await withServices(async (services) => {
        const ban = banFor === undefined ? undefined : await resolveRemoveBan(services, { ...options, ban: banFor, allMeetings });
        return runRemove(
          services,
          { ...rest, json: options.json ?? false, timeout, requestedBy: operator(), signal: interrupted(), ban },
          io(),
        );
      });
    },
  );

registerBanCommands(program, { withServices, io, operator, setExitCode: (code) => (process.exitCode = code) });

program
  .command('jobs')
  .description('list removal jobs by state (all states by default)')
  .addOption(new Option('--state <state>', 'job state').choices([...JOB_STATES]))
  .option('--session <id>', 'only jobs of this session')
  .option('--limit <n>', 'at most this many jobs', '100')
  .option('--json', 'print an array of job objects (as GET /v1/jobs/:id answers)')
  .action(async (options: { state?: JobState; session?: string; limit: string; json?: boolean }) => {
    const limit = parseLimit(options.limit, 100, 100_000);
    process.exitCode = await withServices((services) =>
      runJobs(services, { state: options.state, session: options.session, limit, json: options.json ?? false }, io()),
    );
  });

program
  .command('job')
  .description('show one job (as GET /v1/jobs/:id) with every VideoSDK call made for it')
  .argument('<id>')
  .option('--json', 'print as GET /v1/jobs/:id answers, plus "attempts"')
  .action(async (id: string, options: { json?: boolean }) => {
    process.exitCode = await withServices((services) => runJob(services, id, { json: options.json ?? false }, io()));
  });

program
  .command('replay')
  .description('re-run failed (or stuck delayed) removals; each checks the session first, so none removes twice')
  .addOption(
    new Option('--queue <queue>', 'which queue: removals, or notifications (failed deliveries)')
      .choices(['removals', 'notifications'])
      .default('removals'),
  )
  .addOption(new Option('--state <state>', 'which jobs').choices(['failed', 'delayed']).default('failed'))
  .option('--session <id>', 'only this session')
  .option('--participant <id>', 'only this participant')
  .option('--rule <name>', 'only removals asked for by this rule')
  .option('--status <code>', 'only jobs whose last answer had this HTTP status')
  .option('--job <ids...>', 'only these job ids')
  .option('--since <time>', 'only jobs that last ran since (ISO time or 30m, 24h, 7d)')
  .option('--until <time>', 'only jobs that last ran until')
  .option('--limit <n>', 'at most this many jobs', '10000')
  .option('--dry-run', 'list what would be replayed, change nothing')
  .option('--discard-malformed', 'remove the matching jobs whose data is not a removal (they are never replayed)')
  .option('--wait', 'wait for the replayed removals and show their outcomes')
  .option('--timeout <seconds>', 'with --wait: stop waiting after this many seconds (0 = no limit)', '0')
  .option('--json', 'print the result as JSON')
  .action(
    async (options: {
      queue: 'removals' | 'notifications';
      state: 'failed' | 'delayed';
      session?: string;
      participant?: string;
      rule?: string;
      status?: string;
      job?: string[];
      since?: string;
      until?: string;
      limit: string;
      dryRun?: boolean;
      discardMalformed?: boolean;
      wait?: boolean;
      timeout: string;
      json?: boolean;
    }) => {
      if (options.queue === 'notifications') {
        const limit = parseLimit(options.limit, 10_000, 100_000);
        process.exitCode = await withServices((services) =>
          runNotificationReplay(services, { dryRun: options.dryRun ?? false, limit, json: options.json ?? false }, io()),
        );
        return;
      }
      // Checked here too, so a mistake names the option as typed.
      for (const [name, value] of [
        ['--since', options.since],
        ['--until', options.until],
      ] as const)
        if (value) parseTime(value, name, Date.now());
      const parsed = replayFilterSchema.safeParse({
        state: options.state,
        ...(options.session ? { sessionId: options.session } : {}),
        ...(options.participant ? { participantId: options.participant } : {}),
        ...(options.rule ? { rule: options.rule } : {}),
        ...(options.status ? { status: options.status } : {}),
        ...(options.job ? { jobId: options.job } : {}),
        ...(options.since ? { since: options.since } : {}),
        ...(options.until ? { until: options.until } : {}),
        limit: parseLimit(options.limit, 10_000, 100_000),
        dryRun: options.dryRun ?? false,
        discardMalformed: options.discardMalformed ?? false,
      });
      if (!parsed.success) throw new UsageError(parsed.error.issues.map((i) => `--${String(i.path[0] ?? '')}: ${i.message}`).join('; '));
      const timeout = seconds(options.timeout, '--timeout');
      process.exitCode = await withServices((services) =>
        runReplay(
          services,
          parsed.data,
          { json: options.json ?? false, wait: options.wait ?? false, timeout, requestedBy: operator(), signal: interrupted() },
          io(),
        ),
      );
    },
  );

program
  .command('reviews')
  .description('the review queue: hits that review rules held for a moderator, newest first')
  .addOption(new Option('--state <state>', 'only items in this state').choices([...REVIEW_STATES]))
  .option('--limit <n>', 'at most this many items (up to 1000)', '100')
  .option('--json', 'print {"reviews": [...]} as GET /v1/reviews answers')
  .action(async (options: { state?: ReviewState; limit: string; json?: boolean }) => {
    const limit = parseLimit(options.limit, 100, 1000);
    process.exitCode = await withServices((services) =>
      runReviews(services, { state: options.state, limit, json: options.json ?? false }, io(), Date.now()),
    );
  });

program
  .command('review')
  .description('decide a review item: approve (the removal the rule asked for) or dismiss; exit 1 when already decided or expired')
  .addArgument(new Argument('<decision>', 'approve or dismiss').choices(['approve', 'dismiss']))
  .argument('<id>', 'the review item id (automod reviews)')
  .option('--note <text>', 'a note kept with the decision')
  .option('--ban <duration>', 'with approve: also ban for 10m, 24h, 7d ... or permanent')
  .option('--json', 'print {"review", "removalJobId"} as the HTTP API answers')
  .action(async (decision: 'approve' | 'dismiss', id: string, options: { note?: string; ban?: string; json?: boolean }) => {
    if (options.ban !== undefined) {
      if (decision !== 'approve') throw new UsageError('--ban goes with approve only');
      parseBanDuration(options.ban, '--ban');
    }
    if (options.note !== undefined && options.note.length > 500) throw new UsageError('--note must be at most 500 characters');
    process.exitCode = await withServices((services) =>
      runReviewDecision(
        services,
        id,
        decision,
        { note: options.note, ban: options.ban, by: operator(), json: options.json ?? false },
        io(),
      ),
    );
  });

const deadLetters = program
  .command('dead-letters')
  .description('invalid jobs taken from the events queue, newest first, with why; replay one with a corrected event')
  .option('--limit <n>', 'at most this many', '100')
  .option('--json', 'print {"deadLetters": [...]} as GET /v1/dead-letters answers')
  .action(async (options: { limit: string; json?: boolean }) => {
    const limit = parseLimit(options.limit, 100, 10_000);
    process.exitCode = await withServices((services) => runDeadLetters(services, { limit, json: options.json ?? false }, io()));
  });
deadLetters
  .command('replay')
  .description('validate a corrected event, enqueue it, and mark the dead letter replayed')
  .argument('<id>', 'dead letter id (automod dead-letters)')
  .requiredOption('--event <file>', 'the corrected event: one JSON object (- for stdin)')
  .option('--json', 'print the result as JSON')
  .action(async (id: string, options: { event: string; json?: boolean }) => {
    process.exitCode = await withServices((services) =>
      runDeadLetterReplay(services, id, { event: options.event, json: options.json ?? false, requestedBy: operator() }, io()),
    );
  });

program
  .command('session')
  .description('show the recorded state of a session and its removals')
  .argument('<sessionId>')
  .option('--json', 'print as GET /v1/sessions/:id answers')
  .action(async (sessionId: string, options: { json?: boolean }) => {
    process.exitCode = await withServices((services) => runSession(services, sessionId, { json: options.json ?? false }, io()));
  });

program
  .command('audit')
  .description('read the audit trail, newest first: rule hits, removals with their API calls, replays, pauses')
  .option('--session <id>')
  .option('--participant <id>')
  .option('--rule <name>')
  .addOption(new Option('--mode <mode>').choices(['enforce', 'shadow']))
  .option('--kind <kind>', 'rule-hit, removal, replay, pause, resume, rules-reload, dead-letter')
  .option('--outcome <outcome>', 'removed, already-gone, rejected, failed, flagged, skipped-shadow, ...')
  .option('--since <time>', 'ISO time or 30m, 24h, 7d')
  .option('--until <time>')
  .option('--limit <n>', 'at most this many records (up to 1000)', '100')
  .option('--json', 'print {"records": [...]} as GET /v1/audit answers')
  .action(
    async (options: {
      session?: string;
      participant?: string;
      rule?: string;
      mode?: 'enforce' | 'shadow';
      kind?: string;
      outcome?: string;
      since?: string;
      until?: string;
      limit: string;
      json?: boolean;
    }) => {
      const limit = parseLimit(options.limit, 100, 1000);
      process.exitCode = await withServices((services) =>
        runAudit(services, { ...options, limit, json: options.json ?? false }, io(), Date.now()),
      );
    },
  );
const lists = program
  .command('lists')
  .description('live lists in Redis, read by inList, notInList and containsWord beside rules/lists/*.txt');
lists
  .command('add')
  .description('add values to a live list (created when new); every worker uses them from its next event')
  .argument('<name>')
  .argument('<values...>')
  .option('--json', 'print the result as JSON')
  .action(async (name: string, values: string[], options: { json?: boolean }) => {
    process.exitCode = await withServices((services) =>
      runListsChange(services, 'add', name, values, { rulesDir: services.config.rulesDir, json: options.json ?? false }, io()),
    );
  });
lists
  .command('remove')
  .description('remove values from a live list (values in rules/lists/*.txt stay)')
  .argument('<name>')
  .argument('<values...>')
  .option('--json', 'print the result as JSON')
  .action(async (name: string, values: string[], options: { json?: boolean }) => {
    process.exitCode = await withServices((services) =>
      runListsChange(services, 'remove', name, values, { rulesDir: services.config.rulesDir, json: options.json ?? false }, io()),
    );
  });
lists
  .command('show')
  .description('the values of a live list, or every live list with its size')
  .argument('[name]', 'a list (omit to list them all)')
  .option('--json', 'print as JSON')
  .action(async (name: string | undefined, options: { json?: boolean }) => {
    process.exitCode = await withServices((services) =>
      runListsShow(services, name, { json: options.json ?? false, rulesDir: services.config.rulesDir }, io()),
    );
  });

program
  .command('pause')
  .description('pause removals on purpose, on every worker (events are still processed; removals wait)')
  .option('--reason <text>', 'why (shown on /readyz and in the audit trail)', 'paused by an operator')
  .option('--json', 'print the result as JSON')
  .action(async (options: { reason: string; json?: boolean }) => {
    process.exitCode = await withServices((services) =>
      runPause(
        services,
        { reason: options.reason, requestedBy: operator(), at: new Date().toISOString(), json: options.json ?? false },
        io(),
      ),
    );
  });

program
  .command('resume')
  .description('resume removals (after automod pause or a credential failure)')
  .option('--json', 'print the result as JSON')
  .action(async (options: { json?: boolean }) => {
    process.exitCode = await withServices((services) =>
      runResume(services, { requestedBy: operator(), at: new Date().toISOString(), json: options.json ?? false }, io()),
    );
  });
program
  .command('status')
  .description('Redis, live workers, queues, pause, credential check and rules problems; exits 1 when something needs attention')
  .option('--json', 'print the report as JSON')
  .action(async (options: { json?: boolean }) => {
    process.exitCode = await withServices((services) => runStatus(services, { json: options.json ?? false }, io()));
  });

program
  .command('config')
  .description('print the effective configuration (from the environment and defaults), secrets masked')
  .option('--json', 'print as JSON')
  .action((options: { json?: boolean }) => {
    process.exitCode = runConfig(config(), { json: options.json ?? false }, io());
  });

program
  .command('cluster-plan')
  .description(
    "Redis Cluster: each partition's hash slot and master, and the slot moves that spread the partitions evenly over the masters",
  )
  .option('--masters <n>', 'plan for a cluster about to be created with this many masters (no Redis needed)')
  .option('--global-weight <w>', "the global {PREFIX} tag's load, in partitions (default: a quarter of AUTOMOD_PARTITIONS)")
  .option('--apply', 'move the slots on the live cluster (REDIS_CLUSTER_NODES)')
  .option('--json', 'print as JSON')
  .action(async (options: { masters?: string; globalWeight?: string; apply?: boolean; json?: boolean }) => {
    const { runClusterPlan } = await import('./commands/cluster-plan.js');
    for (const [flag, raw] of [
      ['--masters', options.masters],
      ['--global-weight', options.globalWeight],
    ] as const) {
      if (raw !== undefined && !/^\d+(\.\d+)?$/.test(raw)) throw new UsageError(`${flag} must be a number, got "${raw}"`);
    }
    process.exitCode = await runClusterPlan(
      config(),
      {
        ...(options.masters !== undefined ? { masters: Number(options.masters) } : {}),
        ...(options.globalWeight !== undefined ? { globalWeight: Number(options.globalWeight) } : {}),
        apply: options.apply ?? false,
        json: options.json ?? false,
      },
      io(),
    );
  });

program
  .command('simulator')
  .description('run the bundled VideoSDK simulator')
  .option('--port <port>', 'port', '9090')
  .option('--host <host>', 'host', '127.0.0.1')
  .option('--secret <secret>', 'verify JWTs with this secret (default: VIDEOSDK_SECRET, else no auth)')
  .option('--api-key <key>', 'expected apikey claim (default: VIDEOSDK_API_KEY)')
  .option('--webhook-url <url>', "send signed webhooks (joins, leaves, session start and end) here: a worker's /v1/webhooks/videosdk")
  .option('--webhook-key <file>', 'sign webhooks with the RSA key in this PEM file, made when missing (default: a new key per run)')
  .option('--print-public-key', "print the webhook key's public half (for VIDEOSDK_WEBHOOK_PUBLIC_KEY) and exit; needs --webhook-key")
  .action(
    async (options: {
      port: string;
      host: string;
      secret?: string;
      apiKey?: string;
      webhookUrl?: string;
      webhookKey?: string;
      printPublicKey?: boolean;
    }) => {
      const simulator = await runSimulator(
        {
          port: Number(options.port),
          host: options.host,
          secret: options.secret ?? process.env.VIDEOSDK_SECRET,
          apiKey: options.apiKey ?? process.env.VIDEOSDK_API_KEY,
          webhookUrl: options.webhookUrl,
          webhookKey: options.webhookKey,
          printPublicKey: options.printPublicKey ?? false,
        },
        io(),
      );
      if (!simulator) return;
      const stop = () => void simulator.close().then(() => process.exit(0));
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    },
  );

program
  .command('completion')
  .description('print a shell completion script (bash, zsh or fish)')
  .addArgument(new Argument('<shell>', 'the shell').choices([...SHELLS]))
  .action((shell: Shell) => {
    process.stdout.write(completionScript(program, shell));
  });

addHelpDetails(program);

/** Exit code of a command that could not reach Redis (README: Command line). */
const EXIT_REDIS_UNREACHABLE = 3;

function problemLines(err: { problems: readonly { path: string; message: string }[] }): string {
  return err.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

program.parseAsync(process.argv).catch((err: unknown) => {
  let message: string;
  if (err instanceof CommanderError) {
    // Commander has printed its message (and the help); --help and --version end here too.
    process.exit(err.exitCode === 0 ? 0 : 2);
  }
  if (err instanceof UsageError) {
    message = `error: ${err.message}\n`;
    process.exitCode = 2;
  } else if (err instanceof ConfigError || err instanceof RulesError) {
    message = `${err.code === 'ERR_CONFIG' ? 'configuration' : 'rules'} problem(s):\n${problemLines(err)}\n`;
    process.exitCode = 2;
  } else if (err instanceof RedisUnreachableError) {
    message = `error: ${err.message}\n`;
    process.exitCode = EXIT_REDIS_UNREACHABLE;
  } else {
    message = `error: ${err instanceof Error ? err.message : String(err)}\n`;
    process.exitCode = 1;
  }
  // Exit once the message is out: a connection opened before the failure must not keep us alive.
  process.stderr.write(message, () => process.exit());
});
