import { Option, type Command } from 'commander';
import type { Services } from '../../app/services.js';
import { describeJobWithAttempts, JOB_STATES, listJobs, type JobState } from '../../removals/job-view.js';
import type { CliContext } from '../context.js';
import { countLine, detailText, failed, pairs, printJson, table, type CommandIo } from '../format.js';
import { parseLimit } from '../options.js';

/** `automod jobs`: removal jobs by state and session; `--json` prints the `GET /v1/jobs/:id` objects. */
export async function runJobs(
  services: Services,
  options: { state?: JobState | undefined; session?: string | undefined; limit: number; json: boolean },
  io: CommandIo,
): Promise<number> {
  const { jobs, truncated } = await listJobs(services.queues.removals, services.outcomes, {
    state: options.state,
    sessionId: options.session,
    limit: options.limit,
  });
  if (options.json) {
    printJson(jobs, io.stdout);
  } else {
    const rows = jobs.map((v) => {
      if (v.malformed !== undefined)
        return [v.id, v.state, v.attemptsMade, v.outcome ?? '', `malformed: ${v.malformed}`, '', '', detailText(v.detail)];
      const d = v.data as { sessionId?: string; participantId?: string; rule?: string; requestedBy?: string };
      return [
        v.id,
        v.state,
        v.attemptsMade,
        v.outcome ?? '',
        d.sessionId,
        d.participantId,
        d.rule ?? d.requestedBy ?? '',
        detailText(v.detail),
      ];
    });
    io.stdout.write(`${table(['job', 'state', 'tries', 'outcome', 'session', 'participant', 'rule / by', 'detail'], rows, io.columns)}\n`);
    io.stdout.write(`${jobs.length} job(s)${jobs.length ? `: ${countLine(jobs.map((j) => j.state))}` : ''}\n`);
  }
  if (truncated) io.stderr.write(`only the first ${options.limit} shown; narrow with --state or --session, or raise --limit\n`);
  return 0;
}

/** `automod job ID`: one job, with every VideoSDK call made for it. */
export async function runJob(services: Services, id: string, options: { json: boolean }, io: CommandIo): Promise<number> {
  const view = await describeJobWithAttempts(services.queues, services.outcomes, services.audit, id);
  if (!view) {
    return failed(io, options.json, `no job ${id} (finished jobs are kept ${services.config.jobsKeepHours} h, failed ones 7 times longer)`);
  }
  if (options.json) {
    printJson(view, io.stdout);
    return 0;
  }
  // An events job, or a removal job whose data a direct producer filled with anything.
  const data =
    view.data !== null && typeof view.data === 'object' && !Array.isArray(view.data) ? (view.data as Record<string, unknown>) : undefined;
  const lines: [string, unknown][] = [
    ['job', view.id],
    ['queue', view.queue],
    ['state', view.state],
    ['outcome', view.outcome ?? '(none yet)'],
    ['detail', detailText(view.detail)],
    ['tries', view.attemptsMade],
    ['created', view.createdAt],
    ['finished', view.finishedAt ?? ''],
    ...(view.malformed !== undefined || !data ? [['data', `malformed: ${view.malformed ?? 'not an object'}`] as [string, unknown]] : []),
    ...Object.entries(view.malformed !== undefined ? {} : (data ?? {})).map(([key, value]): [string, unknown] => [
      key,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  ];
  io.stdout.write(`${pairs(lines)}\n`);
  if (view.attempts.length > 0) {
    io.stdout.write(
      `\nVideoSDK calls:\n${table(
        ['at', 'call', 'status', 'latency', 'request id'],
        view.attempts.map((a) => [
          new Date(a.at).toISOString(),
          `${a.method} ${a.operation}`,
          a.status ?? a.error ?? '',
          `${a.latencyMs} ms`,
          a.requestId ?? '',
        ]),
        io.columns,
      )}\n`,
    );
  }
  return 0;
}

/** `automod jobs`, `automod job ID`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('jobs')
    .description('list removal jobs by state (all states by default)')
    .addOption(new Option('--state <state>', 'job state').choices([...JOB_STATES]))
    .option('--session <id>', 'only jobs of this session')
    .option('--limit <n>', 'at most this many jobs', '100')
    .option('--json', 'print an array of job objects (as GET /v1/jobs/:id answers)')
    .action(async (options: { state?: JobState; session?: string; limit: string; json?: boolean }) => {
      const limit = parseLimit(options.limit, 100, 100_000);
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runJobs(services, { state: options.state, session: options.session, limit, json: options.json ?? false }, ctx.io),
        ),
      );
    });

  program
    .command('job')
    .description('show one job (as GET /v1/jobs/:id) with every VideoSDK call made for it')
    .argument('<id>')
    .option('--json', 'print as GET /v1/jobs/:id answers, plus "attempts"')
    .action(async (id: string, options: { json?: boolean }) => {
      ctx.setExitCode(await ctx.withServices((services) => runJob(services, id, { json: options.json ?? false }, ctx.io)));
    });
}
