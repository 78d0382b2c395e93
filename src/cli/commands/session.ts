import type { Command } from 'commander';
import type { Services } from '../../app/services.js';
import { esc } from '../../shared/terminal-text.js';
import type { CliContext } from '../context.js';
import { failed, printJson, table, type CommandIo } from '../format.js';

/** `automod session ID`: the recorded session state and its removals. */
export async function runSession(services: Services, sessionId: string, options: { json: boolean }, io: CommandIo): Promise<number> {
  const recorded = await services.sessions.get(sessionId);
  if (!recorded) return failed(io, options.json, `nothing is recorded for session ${sessionId}`);
  if (options.json) {
    printJson(recorded, io.stdout);
    return 0;
  }
  io.stdout.write(
    esc`session ${recorded.sessionId} (state recorded ${recorded.updatedAt}${recorded.jobId ? ` by job ${recorded.jobId}` : ''})\n`,
  );
  const participants = sessionParticipants(recorded.session);
  if (participants.length > 0) {
    io.stdout.write(
      `\n${table(
        ['participant', 'name', 'in session'],
        participants.map((p) => [p.participantId, p.name, p.active ? 'yes' : 'no']),
        io.columns,
      )}\n`,
    );
    io.stdout.write(`${participants.filter((p) => p.active).length} of ${participants.length} still in the session\n`);
  }
  io.stdout.write(
    `\nremovals:\n${table(
      ['participant', 'outcome', 'rule', 'reason', 'job', 'at'],
      recorded.removals.map((r) => [r.participantId, r.outcome, r.rule ?? '', r.reason, r.jobId, r.at]),
      io.columns,
    )}\n`,
  );
  return 0;
}

function sessionParticipants(session: unknown): { participantId: string; name: string; active: boolean }[] {
  const participants = (session as { participants?: unknown } | null)?.participants;
  if (!Array.isArray(participants)) return [];
  return participants.flatMap((p: unknown) => {
    const item = p as { participantId?: unknown; name?: unknown; timelog?: { end?: unknown }[] };
    if (typeof item.participantId !== 'string') return [];
    const last = Array.isArray(item.timelog) ? item.timelog[item.timelog.length - 1] : undefined;
    return [
      {
        participantId: item.participantId,
        name: typeof item.name === 'string' ? item.name : '',
        active: last !== undefined && (last.end ?? null) === null,
      },
    ];
  });
}

/** `automod session ID`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('session')
    .description('show the recorded state of a session and its removals')
    .argument('<sessionId>')
    .option('--json', 'print as GET /v1/sessions/:id answers')
    .action(async (sessionId: string, options: { json?: boolean }) => {
      ctx.setExitCode(await ctx.withServices((services) => runSession(services, sessionId, { json: options.json ?? false }, ctx.io)));
    });
}
