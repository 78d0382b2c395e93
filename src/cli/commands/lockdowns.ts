import { Option, type Command } from 'commander';
import type { Services } from '../../app/services.js';
import { alreadyLocked, parseAdmitJoinedBefore, type LockEffects } from '../../consequences/lockdowns.js';
import { parseLockdownFor } from '../../moderation/lockdown-params.js';
import { UsageError } from '../../shared/errors.js';
import { esc } from '../../shared/terminal-text.js';
import type { Lockdown, LockdownMode } from '../../store/lockdowns.js';
import type { CliContext } from '../context.js';
import { printJson, table, type CommandIo } from '../format.js';

export interface LockOptions {
  for: string;
  mode: LockdownMode;
  reason?: string | undefined;
  admit?: string[] | undefined;
  admitJoinedBefore?: string | undefined;
  endSession?: boolean | undefined;
  session?: string | undefined;
  json: boolean;
  by: string;
}

/** How long `automod lockdown` waits for the meeting to be made to match before it says so. */
const EFFECTS_WAIT_MS = 15_000;

/** `automod lockdown MEETING`: exit 0 when locked, 1 when it was locked already. */
export async function runLockdown(
  services: Pick<Services, 'lockdownActions'>,
  meetingId: string,
  options: LockOptions,
  io: CommandIo,
): Promise<number> {
  const duration = parseLockdownFor(options.for);
  if ('problem' in duration) throw new UsageError(`--for ${duration.problem}`);
  const result = await services.lockdownActions.lock({
    meetingId,
    forMs: duration.ms,
    mode: options.mode,
    reason: options.reason?.trim() || 'locked by an operator',
    by: options.by,
    ...(options.admit?.length ? { admit: options.admit } : {}),
    ...(options.admitJoinedBefore !== undefined
      ? { cutoff: parseAdmitJoinedBefore(options.admitJoinedBefore, '--admit-joined-before') }
      : {}),
    ...(options.endSession ? { endSession: true } : {}),
    ...(options.session !== undefined ? { sessionId: options.session } : {}),
  });
  if (!result.created) {
    const err = alreadyLocked(result.lockdown);
    if (options.json) printJson({ error: err.message, code: err.code, lockdown: result.lockdown }, io.stdout);
    else io.stderr.write(esc`${err.message}\n`);
    return 1;
  }
  const effects = await Promise.race([
    result.effects,
    new Promise<undefined>((r) => setTimeout(() => r(undefined), EFFECTS_WAIT_MS).unref()),
  ]);
  if (options.json) {
    printJson({ lockdown: result.lockdown, ...(effects ? { effects } : {}) }, io.stdout);
    return 0;
  }
  const l = result.lockdown;
  io.stdout.write(esc`meeting ${l.meetingId} locked (${l.mode}) until ${l.until}: ${l.reason}\n`);
  io.stdout.write(
    esc`admitted: hosts and moderators, ${options.admit?.length ?? 0} by name, and those who first joined before ${l.admitJoinedBefore}\n`,
  );
  io.stdout.write(`${describeEffects(effects)}\n`);
  io.stdout.write(esc`lift it with: automod unlock ${l.meetingId}\n`);
  return 0;
}

function describeEffects(effects: LockEffects | undefined): string {
  if (effects === undefined) return 'the live session is still being made to match (see automod audit --kind lockdown)';
  if (effects.sessionEnded) return esc`live session ${effects.sessionId ?? ''} ended: everyone left at once, only the admitted get back in`;
  if (effects.note !== undefined && effects.removals === 0) return esc`${effects.note}`;
  return esc`${effects.removals} participant(s) not admitted asked to be removed from session ${effects.sessionId ?? '?'}`;
}

export async function runLockdowns(
  services: Pick<Services, 'lockdownActions'>,
  options: { json: boolean },
  io: CommandIo,
): Promise<number> {
  const lockdowns: Lockdown[] = await services.lockdownActions.list();
  if (options.json) {
    printJson({ lockdowns }, io.stdout);
    return 0;
  }
  if (lockdowns.length === 0) {
    io.stdout.write('no meeting is locked\n');
    return 0;
  }
  io.stdout.write(
    `${table(
      ['meeting', 'mode', 'since', 'until', 'admits joined before', 'by', 'reason'],
      lockdowns.map((l) => [l.meetingId, l.mode, l.since, l.until, l.admitJoinedBefore, l.by, l.reason]),
      io.columns,
    )}\n${lockdowns.length} lockdown(s)\n`,
  );
  return 0;
}

/** `automod lockdown`, `automod lockdowns`, `automod unlock`, `automod admit`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('lockdown')
    .description(
      'lock a meeting (raid mode): only admitted participants may get a join token or stay; the unadmitted in its live session are removed (or it is ended)',
    )
    .argument('<meeting>', 'the meeting (room) id')
    .requiredOption('--for <duration>', 'how long: 10m, 2h (from 10s to 7d)')
    .addOption(
      new Option('--mode <mode>', 'closed: the gate refuses; ask: the gate answers ask_join (a waiting room)')
        .choices(['closed', 'ask'])
        .default('closed'),
    )
    .option('--reason <text>', 'why (shown with the lockdown and its removals)')
    .option('--admit <ids...>', 'participants admitted whenever they joined')
    .option('--admit-joined-before <time>', 'admit those who first joined before this ISO time, or this long before now (5m); default: now')
    .option('--session <id>', 'the live session to purge or end, when no worker has seen a join in it (VideoSDK v1 cannot list them)')
    .option('--end-session', "end the meeting's live session through VideoSDK: everyone leaves in one call, only the admitted get back in")
    .option('--json', 'print the result as JSON')
    .action(
      async (
        meetingId: string,
        options: {
          for: string;
          mode: string;
          reason?: string;
          admit?: string[];
          admitJoinedBefore?: string;
          endSession?: boolean;
          json?: boolean;
        },
      ) => {
        if (options.mode !== 'closed' && options.mode !== 'ask')
          throw new UsageError(esc`--mode must be closed or ask, got "${options.mode}"`);
        const mode: LockdownMode = options.mode;
        ctx.setExitCode(
          await ctx.withServices((services) =>
            runLockdown(services, meetingId, { ...options, mode, json: options.json ?? false, by: ctx.operator }, ctx.io),
          ),
        );
      },
    );

  program
    .command('lockdowns')
    .description('list the meetings locked down now')
    .option('--json', 'print the list as JSON')
    .action(async (options: { json?: boolean }) => {
      ctx.setExitCode(await ctx.withServices((services) => runLockdowns(services, { json: options.json ?? false }, ctx.io)));
    });

  program
    .command('unlock')
    .description("lift a meeting's lockdown (exit 1 when it is not locked)")
    .argument('<meeting>', 'the meeting (room) id')
    .option('--json', 'print the lifted lockdown as JSON')
    .action(async (meetingId: string, options: { json?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices(async (services) => {
          const lifted = await services.lockdownActions.lift(meetingId, ctx.operator);
          if (options.json) printJson({ lockdown: lifted }, ctx.io.stdout);
          else ctx.io.stdout.write(esc`lockdown of meeting ${meetingId} lifted (it was ${lifted.mode} until ${lifted.until})\n`);
          return 0;
        }),
      );
    });

  program
    .command('admit')
    .description('admit participants to a locked meeting: the gate lets them in and their joins stand')
    .argument('<meeting>', 'the meeting (room) id')
    .argument('<participants...>', 'participant ids')
    .option('--json', 'print the result as JSON')
    .action(async (meetingId: string, participants: string[], options: { json?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices(async (services) => {
          const result = await services.lockdownActions.admit(meetingId, participants, ctx.operator);
          if (options.json) printJson(result, ctx.io.stdout);
          else ctx.io.stdout.write(esc`admitted ${result.admitted} new participant(s) to the lockdown of meeting ${meetingId}\n`);
          return 0;
        }),
      );
    });
}
