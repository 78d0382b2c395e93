import type { Command } from 'commander';
import type { Services } from '../../app/services.js';
import { isSkippedLine } from '../../moderation/json-lines.js';
import { InvalidEventError } from '../../shared/errors.js';
import { parseEvent, type MeetingEvent } from '../../shared/event-schema.js';
import { esc } from '../../shared/terminal-text.js';
import type { CliContext } from '../context.js';
import { printJson, readInput, type CommandIo } from '../format.js';

/**
 * `automod events add FILE|-`: validates each JSON line (blank and `#` lines skipped, as `rules
 * test` reads them) and enqueues the valid ones. Exits 1 when any line was invalid; Redis is only
 * reached when there is something to enqueue.
 */
export async function runEventsAdd(
  withServices: <T>(fn: (services: Services) => Promise<T>) => Promise<T>,
  file: string,
  options: { json: boolean },
  io: CommandIo,
): Promise<number> {
  const text = await readInput(file, io);
  const valid: MeetingEvent[] = [];
  const invalid: { line: number; error: string }[] = [];
  text.split('\n').forEach((raw, index) => {
    if (isSkippedLine(raw)) return;
    try {
      valid.push(parseEvent(JSON.parse(raw) as unknown));
    } catch (err) {
      invalid.push({ line: index + 1, error: err instanceof InvalidEventError ? err.message : 'not valid JSON' });
    }
  });
  for (const bad of invalid) io.stderr.write(esc`line ${bad.line}: ${bad.error}\n`);
  const result = valid.length > 0 ? await withServices((s) => s.ingest.ingest(valid)) : { accepted: 0, duplicates: 0, ids: [] };
  if (options.json) printJson({ ...result, invalid }, io.stdout);
  else io.stdout.write(`accepted ${result.accepted}, duplicates ${result.duplicates}, invalid ${invalid.length}\n`);
  return invalid.length > 0 ? 1 : 0;
}

/** `automod events add`. */
export function register(program: Command, ctx: CliContext): void {
  const events = program.command('events').description('put events on the queue');
  events
    .command('add')
    .description('validate and enqueue events from a JSON-lines file (or - for stdin)')
    .argument('<file>', 'JSON lines, one event per line; blank lines and lines starting with # are skipped')
    .option('--json', 'print the result as JSON')
    .action(async (file: string, options: { json?: boolean }) => {
      ctx.setExitCode(await runEventsAdd((fn) => ctx.withServices(fn), file, { json: options.json ?? false }, ctx.io));
    });
}
