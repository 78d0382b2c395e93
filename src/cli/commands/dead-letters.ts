import type { Command } from 'commander';
import type { Services } from '../../app/services.js';
import { replayDeadLetter, viewDeadLetter } from '../../events/dead-letter-replay.js';
import { InvalidEventError, UsageError } from '../../shared/errors.js';
import { esc } from '../../shared/terminal-text.js';
import type { CliContext } from '../context.js';
import { printJson, problemLines, readInput, table, type CommandIo } from '../format.js';
import { parseLimit } from '../options.js';

/** `automod dead-letters`: invalid jobs taken from the events queue, newest first. */
export async function runDeadLetters(services: Services, options: { limit: number; json: boolean }, io: CommandIo): Promise<number> {
  const deadLetters = (await services.deadLetters.list(options.limit)).map(viewDeadLetter);
  if (options.json) {
    printJson({ deadLetters }, io.stdout);
    return 0;
  }
  io.stdout.write(
    `${table(
      ['id', 'at', 'queue', 'job', 'replayed', 'reason', 'as received'],
      deadLetters.map((d) => [
        d.id,
        d.at,
        d.queue,
        d.jobId ?? '',
        d.replayed ? `${d.replayed.at} as ${d.replayed.eventId}` : '',
        d.reason,
        preview(d.event),
      ]),
      io.columns,
    )}\n`,
  );
  const total = await services.deadLetters.count();
  io.stdout.write(`${deadLetters.length} of ${total} dead letter(s); fix one with: automod dead-letters replay ID --event FILE\n`);
  return 0;
}

/** `automod dead-letters replay ID --event FILE`: enqueues a corrected event in place of a dead letter. */
export async function runDeadLetterReplay(
  services: Services,
  id: string,
  options: { event: string; json: boolean; requestedBy: string },
  io: CommandIo,
): Promise<number> {
  const text = await readInput(options.event, io);
  let corrected: unknown;
  try {
    corrected = JSON.parse(text);
  } catch {
    throw new UsageError(`--event ${options.event} is not one JSON object (the corrected event)`);
  }
  try {
    const { deadLetter, result } = await replayDeadLetter(id, corrected, options.requestedBy, services);
    if (options.json) printJson({ deadLetter, result }, io.stdout);
    else {
      const eventId = deadLetter.replayed?.eventId ?? '';
      io.stdout.write(
        result.accepted > 0
          ? esc`queued event ${eventId} in place of dead letter ${id}\n`
          : esc`event ${eventId} was already queued within the dedup window; dead letter ${id} marked replayed\n`,
      );
    }
    return 0;
  } catch (err) {
    if (!(err instanceof InvalidEventError)) throw err;
    io.stderr.write(`the corrected event is still invalid:\n${problemLines(err.problems)}\n`);
    return 1;
  }
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}

/** `automod dead-letters`, `automod dead-letters replay ID --event FILE`. */
export function register(program: Command, ctx: CliContext): void {
  const deadLetters = program
    .command('dead-letters')
    .description('invalid jobs taken from the events queue, newest first, with why; replay one with a corrected event')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'print {"deadLetters": [...]} as GET /v1/dead-letters answers')
    .action(async (options: { limit: string; json?: boolean }) => {
      const limit = parseLimit(options.limit, 100, 10_000);
      ctx.setExitCode(await ctx.withServices((services) => runDeadLetters(services, { limit, json: options.json ?? false }, ctx.io)));
    });
  deadLetters
    .command('replay')
    .description('validate a corrected event, enqueue it, and mark the dead letter replayed')
    .argument('<id>', 'dead letter id (automod dead-letters)')
    .requiredOption('--event <file>', 'the corrected event: one JSON object (- for stdin)')
    .option('--json', 'print the result as JSON')
    .action(async (id: string, options: { event: string; json?: boolean }) => {
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runDeadLetterReplay(services, id, { event: options.event, json: options.json ?? false, requestedBy: ctx.operator }, ctx.io),
        ),
      );
    });
}
