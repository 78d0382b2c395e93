#!/usr/bin/env node
import { readFile } from 'node:fs/promises';
import { Command, Option } from 'commander';
import { createServices, startAutomod, type Services } from './automod.js';
import { runDemo } from './commands/demo.js';
import { printJson, table } from './commands/format.js';
import { runRemove } from './commands/remove.js';
import { parseConfig, type Config } from './config.js';
import { AutomodError, ConfigError, InvalidEventError, RulesError } from './errors.js';
import { parseEvent, type MeetingEvent } from './events/event-schema.js';
import { parseTime } from './http/app.js';
import { createLogger } from './logger.js';
import { loadRules } from './moderation/rules-loader.js';
import { createStaticListSource } from './moderation/list-source.js';
import { formatRuleTest, runRuleTest } from './moderation/rule-test.js';
import { describeJob, viewJob, type JobView } from './removals/job-view.js';
import { replayFilterSchema, replayRemovals } from './removals/replay.js';
import { readRulesFolder } from './rules-source.js';
import { createSimulator } from './simulator/simulator.js';

/**
 * The composition root: the only place that reads `process.env`, `process.argv` and the standard
 * streams, and decides exit codes.
 */
const program = new Command();
program
  .name('automod')
  .description('Rule-based auto-moderation worker for VideoSDK meetings')
  .version('0.1.0')
  .showHelpAfterError();

function config(): Config {
  return parseConfig(process.env);
}

/** Logs of one-shot commands go to stderr and stay quiet unless LOG_LEVEL asks. */
function commandLogger(cfg: Config) {
  return createLogger({ logLevel: process.env.LOG_LEVEL ? cfg.logLevel : 'warn' });
}

async function withServices<T>(fn: (services: Services) => Promise<T>): Promise<T> {
  const cfg = config();
  const services = createServices(cfg, commandLogger(cfg), {});
  try {
    return await fn(services);
  } finally {
    await services.close();
  }
}

const JOB_STATES = ['waiting', 'active', 'delayed', 'failed', 'completed', 'paused', 'prioritized'] as const;
const LISTED_STATES = ['waiting', 'prioritized', 'active', 'delayed', 'failed', 'completed'] as const;

program
  .command('start')
  .description('run the workers and the HTTP API until SIGTERM or SIGINT')
  .addOption(new Option('--only <kind>', 'run only one kind of worker').choices(['events', 'removals']))
  .option('--no-http', 'do not serve the HTTP API')
  .action(async (options: { only?: 'events' | 'removals'; http: boolean }) => {
    const cfg = config();
    const logger = createLogger(cfg);
    let running;
    try {
      running = await startAutomod(cfg, logger, { only: options.only, http: options.http });
    } catch (err) {
      if (err instanceof RulesError) {
        process.stderr.write(`refusing to start: the rules in ${cfg.rulesDir} are invalid\n${problemLines(err)}\n`);
        process.exitCode = 1;
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
    process.exitCode = await runDemo({ env: process.env, stdout: process.stdout, stderr: process.stderr });
  });

const rules = program.command('rules').description('check, test, reload and backtest rules');

rules
  .command('check')
  .description('validate a rules folder; exits 1 on any problem')
  .argument('[path]', 'rules folder (default: AUTOMOD_RULES or ./rules)')
  .option('--json', 'print the result as JSON')
  .action(async (path: string | undefined, options: { json?: boolean }) => {
    const dir = path ?? process.env.AUTOMOD_RULES ?? './rules';
    let problems: { path: string; message: string }[] = [];
    let summary: { version: string; rules: { name: string; mode: string; action: string; file: string }[] } | undefined;
    try {
      const folder = await readRulesFolder(dir);
      const loaded = loadRules(folder.files, folder.lists);
      problems = [...loaded.problems];
      if (loaded.ruleSet) {
        summary = {
          version: loaded.ruleSet.version,
          rules: loaded.ruleSet.rules.map((r) => ({ name: r.name, mode: r.mode, action: r.action, file: r.file })),
        };
      }
    } catch (err) {
      if (!(err instanceof RulesError)) throw err;
      problems = [...err.problems];
    }
    if (options.json) printJson({ ok: problems.length === 0, problems, ...(summary ? summary : {}) });
    else if (problems.length > 0) process.stderr.write(`${dir}: ${problems.length} problem(s)\n${problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}\n`);
    else if (summary) {
      process.stdout.write(`${table(['rule', 'mode', 'action', 'file'], summary.rules.map((r) => [r.name, r.mode, r.action, r.file]))}\n`);
      process.stdout.write(`${summary.rules.length} rules OK (version ${summary.version})\n`);
    }
    process.exitCode = problems.length > 0 ? 1 : 0;
  });

rules
  .command('test')
  .description('evaluate events from a JSON-lines file offline; exits 1 when an "expect" is not met')
  .argument('[path]', 'rules folder (default: AUTOMOD_RULES or ./rules)')
  .requiredOption('--events <file>', 'JSON lines: one event per line, optionally with "expect": [rule names]')
  .option('--json', 'print the results as JSON')
  .action(async (path: string | undefined, options: { events: string; json?: boolean }) => {
    const dir = path ?? process.env.AUTOMOD_RULES ?? './rules';
    const folder = await readRulesFolder(dir);
    const loaded = loadRules(folder.files, folder.lists);
    if (!loaded.ruleSet) throw new RulesError(loaded.problems);
    const text = options.events === '-' ? await readStdin() : await readFile(options.events, 'utf8');
    const report = await runRuleTest(loaded.ruleSet, text.split('\n'), createStaticListSource(loaded.ruleSet.fileLists));
    if (options.json) printJson(report);
    else process.stdout.write(`${formatRuleTest(report).join('\n')}\n`);
    process.exitCode = report.summary.ok ? 0 : 1;
  });

rules
  .command('reload')
  .description('ask every running worker to reload its rules folder')
  .action(async () => {
    await withServices(async (services) => {
      const receivers = await services.redis.publish(services.keys.rulesChannel(), JSON.stringify({ at: new Date().toISOString() }));
      process.stdout.write(`reload requested; ${receivers} worker(s) listening\n`);
    });
  });

const events = program.command('events').description('put events on the queue');
events
  .command('add')
  .description('validate and enqueue events from a JSON-lines file (or - for stdin)')
  .argument('<file>', 'JSON lines, one event per line')
  .option('--json', 'print the result as JSON')
  .action(async (file: string, options: { json?: boolean }) => {
    const text = file === '-' ? await readStdin() : await readFile(file, 'utf8');
    const valid: MeetingEvent[] = [];
    const invalid: { line: number; error: string }[] = [];
    text.split('\n').forEach((raw, index) => {
      if (raw.trim() === '') return;
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
  .description('remove participants: a list, a file (CSV or JSON lines), or everyone in a session')
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
  .action(async (options: { session?: string; participant?: string[]; file?: string; all?: boolean; except?: string[]; meeting?: string; reason?: string; wait: boolean; timeout: string; json?: boolean }) => {
    process.exitCode = await withServices((services) =>
      runRemove(services, { ...options, json: options.json ?? false, timeout: Number(options.timeout) || 0 }, { stdout: process.stdout, stderr: process.stderr }),
    );
  });

program
  .command('jobs')
  .description('list removal jobs by state')
  .addOption(new Option('--state <state>', 'job state').choices([...JOB_STATES]))
  .option('--session <id>', 'only jobs of this session')
  .option('--limit <n>', 'at most this many jobs', '100')
  .option('--json', 'print an array of job objects (as GET /v1/jobs/:id answers)')
  .action(async (options: { state?: (typeof JOB_STATES)[number]; session?: string; limit: string; json?: boolean }) => {
    await withServices(async (services) => {
      // A paused queue keeps its jobs in the waiting list: "paused" lists those while it is paused.
      const queuePaused = await services.queues.removals.isPaused();
      const wanted = options.state ?? undefined;
      const states = wanted === 'paused' ? (queuePaused ? (['waiting', 'prioritized'] as const) : []) : wanted ? [wanted] : LISTED_STATES;
      const limit = Math.max(1, Number(options.limit) || 100);
      const views: JobView[] = [];
      for (const listed of states) {
        const state = queuePaused && (listed === 'waiting' || listed === 'prioritized') ? 'paused' : listed;
        for (let start = 0; views.length < limit; start += 500) {
          const page = await services.queues.removals.getJobs([listed], start, start + 499);
          if (page.length === 0) break;
          for (const job of page) {
            if (!job || (options.session && job.data.sessionId !== options.session)) continue;
            if (views.length < limit) views.push(await viewJob(job, state, services.queues.removals.name, services.outcomes));
          }
          if (page.length < 500) break;
        }
      }
      if (options.json) printJson(views);
      else {
        process.stdout.write(
          `${table(
            ['job', 'state', 'attempts', 'outcome', 'session', 'participant', 'rule', 'detail'],
            views.map((v) => {
              const d = v.data as { sessionId?: string; participantId?: string; rule?: string };
              return [v.id, v.state, v.attemptsMade, v.outcome ?? '', d.sessionId, d.participantId, d.rule ?? '', [v.detail.status, v.detail.message].filter(Boolean).join(' ')];
            }),
          )}\n${views.length} job(s)\n`,
        );
      }
    });
  });

program
  .command('job')
  .description('show one job (as GET /v1/jobs/:id)')
  .argument('<id>')
  .action(async (id: string) => {
    await withServices(async (services) => {
      const view = await describeJob(services.queues, services.outcomes, id);
      if (!view) {
        process.stderr.write(`no job ${id}\n`);
        process.exitCode = 1;
      } else printJson(view);
    });
  });

program
  .command('replay')
  .description('re-run failed (or stuck delayed) removals; each checks the session first, so none removes twice')
  .addOption(new Option('--state <state>', 'which jobs').choices(['failed', 'delayed']).default('failed'))
  .option('--session <id>', 'only this session')
  .option('--participant <id>', 'only this participant')
  .option('--rule <name>', 'only removals asked for by this rule')
  .option('--status <code>', 'only jobs whose last answer had this HTTP status')
  .option('--job <ids...>', 'only these job ids')
  .option('--since <time>', 'only jobs that ended since (ISO time or 30m, 24h, 7d)')
  .option('--until <time>', 'only jobs that ended until')
  .option('--dry-run', 'list what would be replayed, change nothing')
  .option('--json', 'print the result as JSON')
  .action(async (options: { state: 'failed' | 'delayed'; session?: string; participant?: string; rule?: string; status?: string; job?: string[]; since?: string; until?: string; dryRun?: boolean; json?: boolean }) => {
    await withServices(async (services) => {
      const now = Date.now();
      const filter = replayFilterSchema.parse({
        state: options.state,
        ...(options.session ? { sessionId: options.session } : {}),
        ...(options.participant ? { participantId: options.participant } : {}),
        ...(options.rule ? { rule: options.rule } : {}),
        ...(options.status ? { status: options.status } : {}),
        ...(options.job ? { jobId: options.job } : {}),
        ...(options.since ? { since: parseTime(options.since, '--since', now) } : {}),
        ...(options.until ? { until: parseTime(options.until, '--until', now) } : {}),
        dryRun: options.dryRun ?? false,
      });
      const result = await replayRemovals(filter, { queue: services.queues.removals, claims: services.claims, outcomes: services.outcomes, audit: services.audit });
      if (options.json) printJson(result);
      else {
        const verb = result.dryRun ? 'would replay' : 'replayed';
        process.stdout.write(
          `${table(['job', 'session', 'participant', 'rule', 'previous outcome', 'status'], result.replayed.map((r) => [r.jobId, r.sessionId, r.participantId, r.rule ?? '', r.previousOutcome ?? '', r.status ?? '']))}\n`,
        );
        for (const s of result.skipped) process.stdout.write(`skipped ${s.jobId}: ${s.why}\n`);
        process.stdout.write(`${verb} ${result.replayed.length} job(s)${result.skipped.length ? `, skipped ${result.skipped.length}` : ''}\n`);
      }
    });
  });

program
  .command('session')
  .description('show the recorded state of a session and its removals')
  .argument('<sessionId>')
  .option('--json', 'print as GET /v1/sessions/:id answers')
  .action(async (sessionId: string, options: { json?: boolean }) => {
    await withServices(async (services) => {
      const recorded = await services.sessions.get(sessionId);
      if (!recorded) {
        process.stderr.write(`nothing is recorded for session ${sessionId}\n`);
        process.exitCode = 1;
        return;
      }
      if (options.json) return printJson(recorded);
      process.stdout.write(`session ${recorded.sessionId} (updated ${recorded.updatedAt})\n`);
      const participants = sessionParticipants(recorded.session);
      if (participants.length > 0) {
        process.stdout.write(`${table(['participant', 'name', 'in session'], participants.map((p) => [p.participantId, p.name, p.active ? 'yes' : 'no']))}\n\n`);
      }
      process.stdout.write(
        `${table(['participant', 'outcome', 'rule', 'reason', 'job', 'at'], recorded.removals.map((r) => [r.participantId, r.outcome, r.rule ?? '', r.reason, r.jobId, r.at]))}\n`,
      );
    });
  });

program
  .command('audit')
  .description('read the audit trail, newest first')
  .option('--session <id>')
  .option('--participant <id>')
  .option('--rule <name>')
  .addOption(new Option('--mode <mode>').choices(['enforce', 'shadow']))
  .option('--kind <kind>', 'rule-hit, removal, replay, pause, resume, rules-reload')
  .option('--since <time>', 'ISO time or 30m, 24h, 7d')
  .option('--until <time>')
  .option('--limit <n>', 'at most this many records', '100')
  .option('--json', 'print {"records": [...]}')
  .action(async (options: { session?: string; participant?: string; rule?: string; mode?: 'enforce' | 'shadow'; kind?: string; since?: string; until?: string; limit: string; json?: boolean }) => {
    await withServices(async (services) => {
      const now = Date.now();
      const records = await services.audit.query({
        ...(options.session ? { sessionId: options.session } : {}),
        ...(options.participant ? { participantId: options.participant } : {}),
        ...(options.rule ? { rule: options.rule } : {}),
        ...(options.mode ? { mode: options.mode } : {}),
        ...(options.kind ? { kind: options.kind } : {}),
        ...(options.since ? { since: parseTime(options.since, '--since', now) } : {}),
        ...(options.until ? { until: parseTime(options.until, '--until', now) } : {}),
        limit: Math.min(1000, Math.max(1, Number(options.limit) || 100)),
      });
      if (options.json) return printJson({ records });
      process.stdout.write(
        `${table(
          ['at', 'kind', 'rule', 'mode', 'outcome', 'session', 'participant', 'job', 'api calls'],
          records.map((r) => [r.at, r.kind, r.rule ?? '', r.mode ?? '', r.outcome ?? '', r.sessionId ?? '', r.participantId ?? '', r.jobId ?? '', (r.attempts ?? []).map((a) => `${a.method} ${a.status ?? a.error ?? '?'} ${a.latencyMs}ms`).join(', ')]),
        )}\n`,
      );
      if (options.mode === 'shadow') {
        const perRule = new Map<string, number>();
        for (const r of records) if (r.rule) perRule.set(r.rule, (perRule.get(r.rule) ?? 0) + 1);
        process.stdout.write(`\nshadow hits per rule:\n${table(['rule', 'hits'], [...perRule].sort((a, b) => b[1] - a[1]))}\n`);
      }
    });
  });

const lists = program.command('lists').description('live lists in Redis, used by inList, notInList and containsWord');
for (const verb of ['add', 'remove'] as const) {
  lists
    .command(verb)
    .argument('<name>')
    .argument('<values...>')
    .action(async (name: string, values: string[]) => {
      await withServices(async (services) => {
        const changed = verb === 'add' ? await services.lists.add(name, values) : await services.lists.remove(name, values);
        process.stdout.write(`${verb === 'add' ? 'added' : 'removed'} ${changed} value(s) ${verb === 'add' ? 'to' : 'from'} ${name}\n`);
      });
    });
}
lists
  .command('show')
  .argument('[name]', 'a list (omit to list the names)')
  .option('--json')
  .action(async (name: string | undefined, options: { json?: boolean }) => {
    await withServices(async (services) => {
      const values = name ? await services.lists.show(name) : await services.lists.names();
      if (options.json) printJson(values);
      else process.stdout.write(values.length > 0 ? `${values.join('\n')}\n` : '(empty)\n');
    });
  });

program
  .command('pause')
  .description('pause removals on purpose (every worker)')
  .option('--reason <text>', 'why', 'paused by an operator')
  .action(async (options: { reason: string }) => {
    await withServices(async (services) => {
      const at = new Date().toISOString();
      await services.pause.set({ reason: options.reason, kind: 'operator', at });
      await services.queues.removals.pause();
      await services.audit.append({ at, kind: 'pause', reason: options.reason, requestedBy: 'operator:cli' });
      process.stdout.write(`removals paused: ${options.reason}\n`);
    });
  });

program
  .command('resume')
  .description('resume removals (after a pause or a credential failure)')
  .action(async () => {
    await withServices(async (services) => {
      const was = await services.pause.get();
      await services.pause.clear();
      await services.queues.removals.resume();
      await services.audit.append({ at: new Date().toISOString(), kind: 'resume', reason: was?.reason ?? 'not paused', requestedBy: 'operator:cli' });
      process.stdout.write(was ? `removals resumed (were paused: ${was.reason})\n` : 'removals resumed (they were not paused)\n');
    });
  });

program
  .command('simulator')
  .description('run the bundled VideoSDK simulator')
  .option('--port <port>', 'port', '9090')
  .option('--host <host>', 'host', '127.0.0.1')
  .option('--secret <secret>', 'verify JWTs with this secret (default: VIDEOSDK_SECRET, else no auth)')
  .option('--api-key <key>', 'expected apikey claim (default: VIDEOSDK_API_KEY)')
  .action(async (options: { port: string; host: string; secret?: string; apiKey?: string }) => {
    const secret = options.secret ?? process.env.VIDEOSDK_SECRET;
    const apiKey = options.apiKey ?? process.env.VIDEOSDK_API_KEY;
    const simulator = createSimulator({ ...(secret ? { secret } : {}), ...(apiKey ? { apiKey } : {}) });
    const url = await simulator.listen(Number(options.port), options.host);
    process.stdout.write(`VideoSDK simulator listening on ${url} (control API under ${url}/_sim/)\n`);
    const stop = () => void simulator.close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });

function sessionParticipants(session: unknown): { participantId: string; name: string; active: boolean }[] {
  const participants = (session as { participants?: unknown } | null)?.participants;
  if (!Array.isArray(participants)) return [];
  return participants.flatMap((p: unknown) => {
    const item = p as { participantId?: unknown; name?: unknown; timelog?: { end?: unknown }[] };
    if (typeof item.participantId !== 'string') return [];
    const last = Array.isArray(item.timelog) ? item.timelog[item.timelog.length - 1] : undefined;
    return [{ participantId: item.participantId, name: typeof item.name === 'string' ? item.name : '', active: last !== undefined && (last.end ?? null) === null }];
  });
}

function problemLines(err: { problems: readonly { path: string; message: string }[] }): string {
  return err.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n');
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

program.parseAsync(process.argv).catch((err: unknown) => {
  if (err instanceof ConfigError || err instanceof RulesError) {
    process.stderr.write(`${err.code === 'ERR_CONFIG' ? 'configuration' : 'rules'} problem(s):\n${problemLines(err)}\n`);
    process.exitCode = 2;
  } else if (err instanceof AutomodError) {
    process.stderr.write(`error: ${err.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
});
