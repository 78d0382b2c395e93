import type { Command } from 'commander';
import type { Services } from '../../app/services.js';
import { esc } from '../../shared/terminal-text.js';
import { pauseRemovals, resumeRemovals, type PauseDeps } from '../../removals/pause-removals.js';
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
  const { pause, wasPaused, waiting } = await pauseRemovals(pauseDeps(services), {
    reason: options.reason,
    by: options.requestedBy,
    at: options.at,
  });
  if (options.json) {
    printJson({ paused: true, pause, wasPaused: wasPaused ?? null, waiting }, io.stdout);
    return 0;
  }
  io.stdout.write(esc`removals paused: ${options.reason}\n`);
  if (wasPaused) io.stdout.write(esc`(they were already paused (${wasPaused.kind}): ${wasPaused.reason})\n`);
  io.stdout.write(`${waiting} removal(s) waiting; automod resume starts them again\n`);
  return 0;
}

/** `automod resume`: clears the recorded pause, whatever its kind, and resumes the removals queue. */
export async function runResume(
  services: Pick<Services, 'pause' | 'queues' | 'audit' | 'notify'>,
  options: { requestedBy: string; at: string; json?: boolean },
  io: CommandIo,
): Promise<number> {
  const {
    wasPaused: was,
    queueWasPaused,
    waiting,
  } = await resumeRemovals(pauseDeps(services), {
    by: options.requestedBy,
    at: options.at,
  });
  if (options.json) {
    printJson({ paused: false, wasPaused: was ?? (queueWasPaused ? { reason: null, kind: 'unrecorded' } : null), waiting }, io.stdout);
    return 0;
  }
  if (was) io.stdout.write(esc`removals resumed (were paused (${was.kind}) since ${was.at}: ${was.reason})\n`);
  else if (queueWasPaused) io.stdout.write('removals resumed (the queue was paused without a recorded reason, e.g. from the dashboard)\n');
  else io.stdout.write('removals resumed (they were not paused)\n');
  io.stdout.write(`${waiting} removal(s) were waiting; the workers take them now\n`);
  return 0;
}

function pauseDeps(services: Pick<Services, 'pause' | 'queues' | 'audit' | 'notify'>): PauseDeps {
  return { pause: services.pause, removals: services.queues.removals, audit: services.audit, notify: services.notify };
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
