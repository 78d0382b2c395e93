import { QueueEvents } from 'bullmq';
import type { Command } from 'commander';
import type { Services } from '../../app/services.js';
import { REMOVALS_QUEUE } from '../../removals/removal-queue.js';
import { requestRemovals } from '../../removals/bulk.js';
import { findWorkers, NO_WORKER_EXIT, noWorkerMessage } from '../../removals/worker-presence.js';
import { esc } from '../../shared/terminal-text.js';
import { createRedis } from '../../store/redis.js';
import type { CliContext } from '../context.js';
import { countLine, printJson, table, type CommandIo } from '../format.js';
import { parseSeconds } from '../options.js';
import { resolveRemoveBan } from './bans.js';
import { removalBody, type RemovalInput } from './remove-input.js';
import { streamIdNow, waitForOutcomes, type WaitOptions } from './outcome-wait.js';

export interface RemoveOptions extends RemovalInput, WaitOptions {
  /** Wait for the outcomes (default); false only enqueues. */
  wait: boolean;
  json: boolean;
  /** Recorded with every job (`operator:NAME`). */
  requestedBy: string;
  /** `--ban DURATION`: ban each participant removed (scope and meeting resolved by the caller). */
  ban?: { for: string; scope: 'meeting' | 'all'; meetingId?: string } | undefined;
}

/** Outcomes that count as success for the exit code. */
const SUCCESS = new Set(['removed', 'already-gone']);

/**
 * `automod remove`: enqueues the removals (in chunks, with `addBulk`), shows a progress bar while
 * the outcomes come in (QueueEvents), ends with a per-participant table (or JSON). Returns the
 * exit code: 0 only when every input line was valid and every removal ended `removed` or
 * `already-gone`.
 */
export async function runRemove(services: Services, options: RemoveOptions, io: CommandIo): Promise<number> {
  const { body, problems } = await removalBody(options, io);
  for (const p of problems) io.stderr.write(esc`line ${p.line}: ${p.error}\n`);
  if (problems.length > 0) io.stderr.write(`${problems.length} invalid line(s) skipped; the valid ones are carried out\n`);
  if (!body) {
    io.stderr.write('nothing to remove: no valid line in the input\n');
    return 1;
  }
  // A CLI on another AUTOMOD_PREFIX than the workers queues where nobody listens.
  const presence = await findWorkers(services.queues.removals, services.redis);
  if (presence.here === 0) {
    io.stderr.write(`${noWorkerMessage(services.config.prefix, presence)}\n`);
    if (options.wait) {
      io.stderr.write('nothing queued: the wait would never end; --no-wait queues them for a worker that starts later\n');
      return NO_WORKER_EXIT;
    }
  }

  // Read events from just before enqueueing (Redis's clock, like the stream ids), so no outcome is missed.
  const connection = options.wait ? createRedis(services.config.redis, { blocking: true, name: 'automod-remove' }) : undefined;
  const queueEvents = connection
    ? new QueueEvents(REMOVALS_QUEUE, { connection, prefix: services.config.keyPrefix, lastEventId: await streamIdNow(services) })
    : undefined;
  try {
    await queueEvents?.waitUntilReady();
    const { jobs, skipped } = await requestRemovals(body, {
      requester: services.requester,
      client: services.client,
      requestedBy: options.requestedBy,
      staff: services.lockdowns.staffAmong,
    });
    if (skipped.length > 0)
      io.stderr.write(esc`kept (${'joinedSince' in body ? '--except, hosts and moderators' : '--except'}): ${skipped.join(', ')}\n`);
    if (options.ban) await banRemoved(services, jobs, options.ban, options, io);
    if (jobs.length === 0) {
      io.stderr.write('nobody to remove\n');
      if (options.json) printJson([], io.stdout);
      return problems.length > 0 ? 1 : 0;
    }
    if (!queueEvents) {
      if (options.json) printJson(jobs, io.stdout);
      else {
        io.stdout.write(
          `${table(
            ['session', 'participant', 'job', 'note'],
            jobs.map((j) => [j.sessionId, j.participantId, j.jobId, j.collapsed ? 'joined a pending removal' : 'queued']),
            io.columns,
          )}\n`,
        );
        const sessions = [...new Set(jobs.map((j) => j.sessionId))];
        io.stdout.write(
          esc`queued ${jobs.length} removal(s); follow them with: automod jobs --session ${sessions.length === 1 ? sessions[0] : '<id>'}\n`,
        );
      }
      return problems.length > 0 ? 1 : 0;
    }
    const rows = await waitForOutcomes(services, queueEvents, jobs, options, io);
    if (options.json) printJson(rows, io.stdout);
    else {
      io.stdout.write(
        `${table(
          ['session', 'participant', 'outcome', 'job', 'detail'],
          rows.map((r) => [r.sessionId, r.participantId, r.outcome, r.jobId, r.detail]),
          io.columns,
        )}\n`,
      );
      io.stdout.write(`${rows.length} participant(s): ${countLine(rows.map((r) => r.outcome)) || 'none'}\n`);
      if (rows.some((r) => r.outcome === 'failed'))
        io.stdout.write('failed removals stay in the failed set: automod replay --dry-run, then automod replay\n');
    }
    return rows.every((r) => SUCCESS.has(r.outcome)) && problems.length === 0 ? 0 : 1;
  } finally {
    await queueEvents?.close().catch(() => undefined);
    connection?.disconnect();
  }
}

/** `remove --ban`: each participant asked to be removed is banned too (the bans are in the audit trail). */
async function banRemoved(
  services: Services,
  jobs: readonly { participantId: string }[],
  ban: NonNullable<RemoveOptions['ban']>,
  options: RemoveOptions,
  io: CommandIo,
): Promise<void> {
  for (const participantId of new Set(jobs.map((j) => j.participantId))) {
    const made = await services.banActions.ban({
      participantId,
      scope: ban.scope,
      ...(ban.meetingId !== undefined ? { meetingId: ban.meetingId } : {}),
      for: ban.for,
      reason: options.reason ?? 'removed and banned by an operator',
      by: options.requestedBy,
    });
    const where = made.ban.scope === 'all' ? 'every meeting' : `meeting ${made.ban.meetingId}`;
    io.stderr.write(esc`banned ${participantId} from ${where} ${made.ban.until === null ? 'permanently' : `until ${made.ban.until}`}\n`);
  }
}

/** `automod remove`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('remove')
    .description(
      'remove participants: a list, a file (CSV or JSON lines), everyone in a session, or everyone who joined it since a time; waits and shows each outcome',
    )
    .option('--session <id>', 'session id')
    .option('--participant <ids...>', 'participant ids (with --session)')
    .option('--file <file>', 'CSV with header sessionId,participantId[,meetingId,reason], or JSON lines (- for stdin)')
    .option('--all', 'everyone active in --session (read from VideoSDK)')
    .option(
      '--joined-since <time>',
      "everyone still in --session whose first join (VideoSDK's time log) is at or after TIME (ISO, or 5m back from now); never a host or moderator",
    )
    .option('--except <ids...>', 'participant ids to keep (with --all or --joined-since)')
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
    .action(async (options: RemovalInput & { ban?: string; allMeetings?: boolean; wait: boolean; timeout: string; json?: boolean }) => {
      const timeout = parseSeconds(options.timeout, '--timeout');
      const { ban: banFor, allMeetings, ...rest } = options;
      ctx.setExitCode(
        await ctx.withServices(async (services) => {
          const ban = banFor === undefined ? undefined : await resolveRemoveBan(services, { ...options, ban: banFor, allMeetings });
          return runRemove(
            services,
            { ...rest, json: options.json ?? false, timeout, requestedBy: ctx.operator, signal: ctx.interrupted(), ban },
            ctx.io,
          );
        }),
      );
    });
}
