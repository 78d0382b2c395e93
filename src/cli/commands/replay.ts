import { QueueEvents } from 'bullmq';
import { Option, type Command } from 'commander';
import type { Services } from '../../app/services.js';
import { REMOVALS_QUEUE } from '../../removals/removal-queue.js';
import { replayFilterSchema, replayRemovals, type ReplayFilter } from '../../removals/replay.js';
import { findWorkers, NO_WORKER_EXIT, noWorkerMessage } from '../../removals/worker-presence.js';
import { UsageError } from '../../shared/errors.js';
import { parseTime } from '../../shared/parse-time.js';
import { esc } from '../../shared/terminal-text.js';
import { createRedis } from '../../store/redis.js';
import type { CliContext } from '../context.js';
import { countLine, printJson, table, type CommandIo } from '../format.js';
import { parseLimit, parseSeconds } from '../options.js';
import { runNotificationReplay } from './notification-replay.js';
import { streamIdNow, waitForOutcomes, type RemoveRow } from './outcome-wait.js';

/**
 * `automod replay`: re-runs the failed (or delayed) removals that match, or lists them with
 * `--dry-run`. With `--wait` it follows them to their outcomes like `automod remove` and exits 1
 * unless every one ends `removed` or `already-gone`.
 */
export async function runReplay(
  services: Services,
  filter: ReplayFilter,
  options: { json: boolean; wait: boolean; timeout: number; requestedBy: string; signal?: AbortSignal | undefined },
  io: CommandIo,
): Promise<number> {
  const wait = options.wait && !filter.dryRun;
  if (!filter.dryRun) {
    const presence = await findWorkers(services.queues.removals, services.redis);
    if (presence.here === 0) {
      io.stderr.write(`${noWorkerMessage(services.config.prefix, presence)}\n`);
      if (wait) {
        io.stderr.write(
          'nothing replayed: the wait would never end; without --wait the replayed jobs wait for a worker that starts later\n',
        );
        return NO_WORKER_EXIT;
      }
    }
  }
  const connection = wait ? createRedis(services.config.redis, { blocking: true, name: 'automod-replay' }) : undefined;
  const queueEvents = connection
    ? new QueueEvents(REMOVALS_QUEUE, { connection, prefix: services.config.keyPrefix, lastEventId: await streamIdNow(services) })
    : undefined;
  try {
    await queueEvents?.waitUntilReady();
    const result = await replayRemovals(filter, {
      queue: services.queues.removals,
      claims: services.claims,
      outcomes: services.outcomes,
      audit: services.audit,
      requestedBy: options.requestedBy,
    });
    let rows: RemoveRow[] | undefined;
    if (queueEvents && result.replayed.length > 0) {
      rows = await waitForOutcomes(
        services,
        queueEvents,
        result.replayed.map((r) => ({
          jobId: r.replayJobId ?? r.jobId,
          sessionId: r.sessionId,
          participantId: r.participantId,
          collapsed: false,
        })),
        { timeout: options.timeout, signal: options.signal },
        io,
      );
    }
    if (options.json) {
      printJson(rows ? { ...result, outcomes: rows } : result, io.stdout);
    } else {
      const verb = result.dryRun ? 'would replay' : 'replayed';
      if (result.replayed.length > 0) {
        const outcomeOf = new Map(rows?.map((r) => [r.jobId, r.outcome]));
        // A delayed job is replayed as a new job: its id gets a column of its own.
        const renamed = result.replayed.some((r) => r.replayJobId !== undefined);
        io.stdout.write(
          `${table(
            [
              'job',
              'session',
              'participant',
              'rule',
              'tries',
              'was',
              'status',
              ...(renamed ? ['replayed as'] : []),
              ...(rows ? ['now'] : []),
            ],
            result.replayed.map((r) => [
              r.jobId,
              r.sessionId,
              r.participantId,
              r.rule ?? '',
              r.attemptsMade,
              r.previousOutcome ?? '',
              r.status ?? '',
              ...(renamed ? [r.replayJobId ?? ''] : []),
              ...(rows ? [outcomeOf.get(r.replayJobId ?? r.jobId) ?? ''] : []),
            ]),
            io.columns,
          )}\n`,
        );
      }
      for (const s of result.skipped) io.stdout.write(esc`skipped ${s.jobId} (${s.participantId} in ${s.sessionId}): ${s.why}\n`);
      for (const m of result.malformed) {
        io.stdout.write(`${m.discarded ? 'discarded' : 'not replayable'} ` + esc`${m.jobId} (${m.state}): malformed: ${m.reason}\n`);
      }
      const kept = result.malformed.filter((m) => !m.discarded).length;
      if (kept > 0) io.stdout.write(`${kept} malformed job(s) left alone; remove them with automod replay --discard-malformed\n`);
      io.stdout.write(
        `${verb} ${result.replayed.length} ${filter.state} job(s)${result.skipped.length ? `, skipped ${result.skipped.length}` : ''}\n`,
      );
      if (rows) io.stdout.write(`${countLine(rows.map((r) => r.outcome))}\n`);
      else if (result.dryRun && result.replayed.length > 0) io.stdout.write('run again without --dry-run to replay them\n');
    }
    if (rows) return rows.every((r) => r.outcome === 'removed' || r.outcome === 'already-gone') ? 0 : 1;
    return 0;
  } finally {
    await queueEvents?.close().catch(() => undefined);
    connection?.disconnect();
  }
}

/** Options of `automod replay`, as given on the command line. */
interface ReplayOptions {
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
}

/** The options that select removals only: a notification has no session, rule or status. */
const REMOVAL_ONLY: readonly (readonly [keyof ReplayOptions, string])[] = [
  ['session', '--session'],
  ['participant', '--participant'],
  ['rule', '--rule'],
  ['status', '--status'],
  ['job', '--job'],
  ['since', '--since'],
  ['until', '--until'],
  ['wait', '--wait'],
];

/** The replay filter the options ask for, each mistake named as the option is typed. */
function removalFilter(options: ReplayOptions): ReplayFilter {
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
  return parsed.data;
}

/** `automod replay` (the removals queue, or `--queue notifications`). */
export function register(program: Command, ctx: CliContext): void {
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
    .option('--discard-malformed', 'remove the matching jobs whose data is not a removal (or a delivery): they are never replayed')
    .option('--wait', 'wait for the replayed removals and show their outcomes')
    .option('--timeout <seconds>', 'with --wait: stop waiting after this many seconds (0 = no limit)', '0')
    .option('--json', 'print the result as JSON')
    .action(async (options: ReplayOptions) => {
      if (options.queue === 'notifications') {
        const given = REMOVAL_ONLY.filter(([key]) => options[key] !== undefined).map(([, flag]) => flag);
        if (options.state !== 'failed') given.push('--state delayed');
        if (given.length > 0)
          throw new UsageError(`${given.join(', ')} select removals only; --queue notifications replays every failed delivery`);
        const limit = parseLimit(options.limit, 10_000, 100_000);
        ctx.setExitCode(
          await ctx.withServices((services) =>
            runNotificationReplay(
              services,
              {
                dryRun: options.dryRun ?? false,
                discardMalformed: options.discardMalformed ?? false,
                limit,
                json: options.json ?? false,
                requestedBy: ctx.operator,
              },
              ctx.io,
            ),
          ),
        );
        return;
      }
      const filter = removalFilter(options);
      const timeout = parseSeconds(options.timeout, '--timeout');
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runReplay(
            services,
            filter,
            { json: options.json ?? false, wait: options.wait ?? false, timeout, requestedBy: ctx.operator, signal: ctx.interrupted() },
            ctx.io,
          ),
        ),
      );
    });
}
