import type { Command } from 'commander';
import type { Services } from '../../app/services.js';
import { esc } from '../../shared/terminal-text.js';
import type { PauseInfo } from '../../store/pause-state.js';
import type { CliContext } from '../context.js';
import { printJson, type CommandIo } from '../format.js';

/**
 * `automod pause`: records why (every worker and `/readyz` show it) and pauses the removals queue
 * in Redis, so every worker stops taking removals; running ones finish. Events are still processed
 * and rule hits still queue removals, which wait.
 */
export async function runPause(
  services: Pick<Services, 'pause' | 'queues' | 'audit' | 'notify'>,
  options: { reason: string; requestedBy: string; at: string; json?: boolean },
  io: CommandIo,
): Promise<number> {
  const before = await services.pause.get();
  const pause: PauseInfo = { reason: options.reason, kind: 'operator', at: options.at };
  await services.pause.set(pause);
  await services.queues.removals.pause();
  await services.audit.append({ at: options.at, kind: 'pause', reason: options.reason, requestedBy: options.requestedBy });
  await services.notify(
    'removals.paused',
    { pause: { ...pause, by: options.requestedBy } },
    `Removals paused by ${options.requestedBy}: ${options.reason}`,
  );
  const waiting = sum(await services.queues.removals.getJobCounts('waiting', 'prioritized', 'delayed'));
  if (options.json) {
    printJson({ paused: true, pause, wasPaused: before ?? null, waiting }, io.stdout);
    return 0;
  }
  io.stdout.write(esc`removals paused: ${options.reason}\n`);
  if (before) io.stdout.write(esc`(they were already paused (${before.kind}): ${before.reason})\n`);
  io.stdout.write(`${waiting} removal(s) waiting; automod resume starts them again\n`);
  return 0;
}

/** `automod resume`: clears the recorded pause, whatever its kind, and resumes the removals queue. */
export async function runResume(
  services: Pick<Services, 'pause' | 'queues' | 'audit' | 'notify'>,
  options: { requestedBy: string; at: string; json?: boolean },
  io: CommandIo,
): Promise<number> {
  const was: PauseInfo | undefined = await services.pause.get();
  const queuePaused = await services.queues.removals.isPaused();
  const waiting = await services.queues.removals.getJobCounts('waiting', 'prioritized', 'delayed');
  await services.pause.clear();
  await services.queues.removals.resume();
  await services.audit.append({
    at: options.at,
    kind: 'resume',
    reason: was?.reason ?? (queuePaused ? 'queue paused without a recorded reason' : 'not paused'),
    requestedBy: options.requestedBy,
  });
  if (was || queuePaused) {
    await services.notify(
      'removals.resumed',
      { resume: { by: options.requestedBy, wasPaused: was ?? null } },
      `Removals resumed by ${options.requestedBy}`,
    );
  }
  if (options.json) {
    printJson(
      { paused: false, wasPaused: was ?? (queuePaused ? { reason: null, kind: 'unrecorded' } : null), waiting: sum(waiting) },
      io.stdout,
    );
    return 0;
  }
  if (was) io.stdout.write(esc`removals resumed (were paused (${was.kind}) since ${was.at}: ${was.reason})\n`);
  else if (queuePaused) io.stdout.write('removals resumed (the queue was paused without a recorded reason, e.g. from the dashboard)\n');
  else io.stdout.write('removals resumed (they were not paused)\n');
  io.stdout.write(`${sum(waiting)} removal(s) were waiting; the workers take them now\n`);
  return 0;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((a, b) => a + b, 0);
}

/** `automod pause`, `automod resume`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('pause')
    .description('pause removals on purpose, on every worker (events are still processed; removals wait)')
    .option('--reason <text>', 'why (shown on /readyz and in the audit trail)', 'paused by an operator')
    .option('--json', 'print the result as JSON')
    .action(async (options: { reason: string; json?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runPause(
            services,
            { reason: options.reason, requestedBy: ctx.operator, at: new Date().toISOString(), json: options.json ?? false },
            ctx.io,
          ),
        ),
      );
    });

  program
    .command('resume')
    .description('resume removals (after automod pause or a credential failure)')
    .option('--json', 'print the result as JSON')
    .action(async (options: { json?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runResume(services, { requestedBy: ctx.operator, at: new Date().toISOString(), json: options.json ?? false }, ctx.io),
        ),
      );
    });
}
