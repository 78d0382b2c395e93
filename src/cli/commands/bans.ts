import type { Command } from 'commander';
import type { Services } from '../../app/services.js';
import { UsageError } from '../../shared/errors.js';
import { parseBanDuration } from '../../moderation/ban-params.js';
import { parseTime } from '../../shared/parse-time.js';
import { esc } from '../../shared/terminal-text.js';
import { UNDO_NOTE, type UndoResult } from '../../removals/ban-actions.js';
import { banTimeLeft, type Ban } from '../../store/bans.js';
import { parseSession } from '../../videosdk/session.js';
import type { CliContext } from '../context.js';
import { printJson, table, type CommandIo } from '../format.js';

/** `--meeting M` or `--all-meetings`, exactly one. */
function scopeOf(options: { meeting?: string; allMeetings?: boolean }): { scope: 'meeting' | 'all'; meetingId?: string } {
  if (options.meeting !== undefined && options.allMeetings) throw new UsageError('give --meeting or --all-meetings, not both');
  if (options.allMeetings) return { scope: 'all' };
  if (options.meeting === undefined || options.meeting.trim() === '')
    throw new UsageError('give --meeting MEETING_ID (a ban in one meeting) or --all-meetings (every meeting)');
  return { scope: 'meeting', meetingId: options.meeting.trim() };
}

/** `1h 20m`, `3d 4h`, `permanent`. */
export function formatTimeLeft(ms: number | null): string {
  if (ms === null) return 'permanent';
  const minutes = Math.ceil(ms / 60_000);
  const d = Math.floor(minutes / 1440);
  const h = Math.floor((minutes % 1440) / 60);
  const m = minutes % 60;
  return [d ? `${d}d` : '', h ? `${h}h` : '', m || (!d && !h) ? `${m}m` : ''].filter(Boolean).join(' ');
}

export async function runBans(
  services: Pick<Services, 'banActions'>,
  filter: { meetingId?: string; participantId?: string },
  options: { json: boolean },
  io: CommandIo,
): Promise<number> {
  const { bans, nowMs } = await services.banActions.list(filter);
  if (options.json) {
    printJson({ bans: bans.map((b) => ({ ...b, timeLeftSeconds: leftSeconds(b, nowMs) })) }, io.stdout);
    return 0;
  }
  if (bans.length === 0) {
    io.stdout.write('no bans in force\n');
    return 0;
  }
  io.stdout.write(
    `${table(
      ['participant', 'scope', 'meeting', 'time left', 'until', 'reason', 'by'],
      bans.map((b) => [
        b.participantId,
        b.scope,
        b.meetingId ?? '*',
        formatTimeLeft(banTimeLeft(b, nowMs)),
        b.until ?? '-',
        b.reason,
        b.by,
      ]),
      io.columns,
    )}\n`,
  );
  io.stdout.write(`${bans.length} ban(s)\n`);
  return 0;
}

function leftSeconds(ban: Ban, nowMs: number): number | null {
  const left = banTimeLeft(ban, nowMs);
  return left === null ? null : Math.ceil(left / 1000);
}

export function printUndo(result: UndoResult, json: boolean, io: CommandIo): void {
  if (json) {
    printJson(result, io.stdout);
    return;
  }
  const verb = result.dryRun ? 'would lift' : 'lifted';
  io.stdout.write(
    `${result.dryRun ? 'dry run: nothing changed\n' : ''}` +
      esc`rule ${result.rule}${result.rulesVersion ? ` (version ${result.rulesVersion})` : ''}\n`,
  );
  io.stdout.write(`${verb} ${result.bans.length} ban(s)\n`);
  if (result.bans.length > 0)
    io.stdout.write(
      `${table(
        ['participant', 'scope', 'meeting', 'made at', 'until'],
        result.bans.map((b) => [b.participantId, b.scope, b.meetingId ?? '*', b.at, b.until ?? 'permanent']),
        io.columns,
      )}\n`,
    );
  io.stdout.write(`${result.dryRun ? 'would mark' : 'marked'} ${result.reverted} audit record(s) reverted\n`);
  // People, not removals: one removed twice (a rejoin) is one person to contact.
  const removals = result.removed.length;
  io.stdout.write(
    `${result.participants.length} participant(s) removed by this rule${removals > result.participants.length ? ` (${removals} removals; --json lists each)` : ''}:\n`,
  );
  if (result.participants.length > 0)
    io.stdout.write(
      `${table(
        ['participant', 'meeting', 'session', 'removals', 'last removed at'],
        result.participants.map((p) => [p.participantId, p.meetingId ?? '', p.sessionIds.join(', '), p.removals, p.lastAt]),
        io.columns,
      )}\n`,
    );
  io.stdout.write(`note: ${UNDO_NOTE}\n`);
}

/**
 * The meeting a `remove --ban` bans in: `--meeting`, else every meeting with `--all-meetings`,
 * else the meeting VideoSDK names for `--session` (asked before anything is removed).
 */
export async function resolveRemoveBan(
  services: Pick<Services, 'client'>,
  options: { ban: string; meeting?: string; allMeetings?: boolean; session?: string },
): Promise<{ for: string; scope: 'meeting' | 'all'; meetingId?: string }> {
  parseBanDuration(options.ban, '--ban');
  if (options.allMeetings) return { for: options.ban, scope: 'all' };
  if (options.meeting) return { for: options.ban, scope: 'meeting', meetingId: options.meeting };
  const need = '--ban needs the meeting to ban in: give --meeting MEETING_ID or --all-meetings';
  if (!options.session) throw new UsageError(need);
  const answer = await services.client.getSession(options.session).catch(() => undefined);
  const session = answer && answer.status < 300 ? parseSession(answer.body) : undefined;
  const meetingId = session?.meetingId ?? session?.roomId;
  if (!meetingId) throw new UsageError(`${need} (VideoSDK did not tell the meeting of session ${options.session})`);
  return { for: options.ban, scope: 'meeting', meetingId };
}

/** `automod ban`, `bans`, `unban`, `undo`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('ban')
    .description('ban a participant from a meeting (or every meeting) for a time: they are removed whenever they show up')
    .requiredOption('--participant <id>', 'participant id')
    .option('--meeting <id>', 'the meeting (room) id the ban holds in')
    .option('--all-meetings', 'ban in every meeting of the account')
    .requiredOption('--for <duration>', '10m, 24h, 7d (at most 365d) or permanent')
    .option('--reason <text>', 'why (shown to the token gate and in the audit trail)', 'banned by an operator')
    .option('--remove-now', 'also remove the participant from --session now')
    .option('--session <id>', 'the session to remove them from (with --remove-now)')
    .option('--json', 'print the ban as JSON')
    .action(
      async (options: {
        participant: string;
        meeting?: string;
        allMeetings?: boolean;
        for: string;
        reason: string;
        removeNow?: boolean;
        session?: string;
        json?: boolean;
      }) => {
        const where = scopeOf(options);
        parseBanDuration(options.for, '--for');
        if (options.removeNow && !options.session) throw new UsageError('--remove-now needs --session SESSION_ID');
        if (options.session && !options.removeNow) throw new UsageError('--session is only used with --remove-now');
        const result = await ctx.withServices((s) =>
          s.banActions.ban({
            participantId: options.participant,
            ...where,
            for: options.for,
            reason: options.reason,
            by: ctx.operator,
            ...(options.removeNow && options.session ? { removeFromSession: options.session } : {}),
          }),
        );
        const io = ctx.io;
        if (options.json) printJson({ ban: result.ban, ...(result.removal ? { removalJobId: result.removal.jobId } : {}) }, io.stdout);
        else {
          const b = result.ban;
          io.stdout.write(
            esc`banned ${b.participantId} from ${b.scope === 'all' ? 'every meeting' : `meeting ${b.meetingId}`} ${b.until === null ? 'permanently' : `until ${b.until}`}\n`,
          );
          if (result.removal)
            io.stdout.write(`removal ${result.removal.collapsed ? 'already pending' : 'queued'}: job ${result.removal.jobId}\n`);
        }
        ctx.setExitCode(0);
      },
    );

  program
    .command('bans')
    .description('bans in force, with time left')
    .option('--meeting <id>', 'only bans of this meeting')
    .option('--participant <id>', 'only bans of this participant')
    .option('--json', 'print {"bans": [...]} as GET /v1/bans answers, plus timeLeftSeconds')
    .action(async (options: { meeting?: string; participant?: string; json?: boolean }) => {
      const filter = {
        ...(options.meeting !== undefined ? { meetingId: options.meeting } : {}),
        ...(options.participant !== undefined ? { participantId: options.participant } : {}),
      };
      ctx.setExitCode(await ctx.withServices((s) => runBans(s, filter, { json: options.json ?? false }, ctx.io)));
    });

  program
    .command('unban')
    .description('lift a ban (exit 1 when there is none)')
    .requiredOption('--participant <id>', 'participant id')
    .option('--meeting <id>', 'the meeting of the ban')
    .option('--all-meetings', 'the every-meeting ban')
    .option('--json', 'print the lifted ban as JSON')
    .action(async (options: { participant: string; meeting?: string; allMeetings?: boolean; json?: boolean }) => {
      const where = scopeOf(options);
      const lifted = await ctx.withServices((s) => s.banActions.unban(where.scope, where.meetingId, options.participant, ctx.operator));
      const io = ctx.io;
      if (options.json) printJson({ lifted }, io.stdout);
      else
        io.stdout.write(
          esc`lifted the ban of ${lifted.participantId} (${lifted.scope === 'all' ? 'every meeting' : `meeting ${lifted.meetingId}`})\n`,
        );
      ctx.setExitCode(0);
    });

  program
    .command('undo')
    .description('undo a bad rule: lift the bans it made in a window, mark its audit records reverted, list who it removed')
    .requiredOption('--rule <name>', 'the rule')
    .option('--since <time>', 'from (ISO time or 30m, 24h, 7d back)')
    .option('--until <time>', 'until (ISO time or duration back)')
    .option('--rules-version <v>', 'only what this rules version did (see automod audit)')
    .option('--dry-run', 'list what would change, change nothing')
    .option('--json', 'print the result as JSON (as POST /v1/undo answers)')
    .action(async (options: { rule: string; since?: string; until?: string; rulesVersion?: string; dryRun?: boolean; json?: boolean }) => {
      const now = Date.now();
      const since = options.since !== undefined ? parseTime(options.since, '--since', now) : undefined;
      const until = options.until !== undefined ? parseTime(options.until, '--until', now) : undefined;
      if (since !== undefined && until !== undefined && since > until) throw new UsageError('--since must not be after --until');
      const result = await ctx.withServices((s) =>
        s.banActions.undo({
          rule: options.rule,
          ...(options.rulesVersion !== undefined ? { rulesVersion: options.rulesVersion } : {}),
          ...(since !== undefined ? { since } : {}),
          ...(until !== undefined ? { until } : {}),
          dryRun: options.dryRun ?? false,
          by: ctx.operator,
        }),
      );
      printUndo(result, options.json ?? false, ctx.io);
      ctx.setExitCode(0);
    });
}
