import type { Services } from '../../app/services.js';
import { replayDeadLetter, viewDeadLetter } from '../../events/dead-letter-replay.js';
import { InvalidEventError, UsageError } from '../../shared/errors.js';
import { printJson, readInput, table, type CommandIo } from '../format.js';

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
          ? `queued event ${eventId} in place of dead letter ${id}\n`
          : `event ${eventId} was already queued within the dedup window; dead letter ${id} marked replayed\n`,
      );
    }
    return 0;
  } catch (err) {
    if (!(err instanceof InvalidEventError)) throw err;
    io.stderr.write(`the corrected event is still invalid:\n${err.problems.map((p) => `  ${p.path}: ${p.message}`).join('\n')}\n`);
    return 1;
  }
}

function preview(value: unknown): string {
  const text = typeof value === 'string' ? value : (JSON.stringify(value) ?? '');
  return text.length > 80 ? `${text.slice(0, 79)}…` : text;
}
