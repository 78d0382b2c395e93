import type { AuditStore } from '../store/audit.js';
import type { DeadLetter, DeadLetters } from '../store/dead-letter.js';
import { NotFoundError } from '../shared/errors.js';
import { parseEvent } from '../shared/event-schema.js';
import type { IngestResult } from './ingest.js';

/** A dead letter as `GET /v1/dead-letters` and `automod dead-letters --json` show it (public contract). */
export interface DeadLetterView {
  id: string;
  at: string;
  reason: string;
  /** The queue it was taken from. */
  queue: 'events';
  /** The job data exactly as received (cut to its first 4 KB of JSON when `truncated`). */
  event: unknown;
  jobId?: string;
  truncated?: boolean;
  replayed?: DeadLetter['replayed'];
}

export function viewDeadLetter(letter: DeadLetter): DeadLetterView {
  return {
    id: letter.id,
    at: letter.at,
    reason: letter.reason,
    queue: 'events',
    event: letter.data,
    ...(letter.jobId !== undefined ? { jobId: letter.jobId } : {}),
    ...(letter.truncated ? { truncated: true } : {}),
    ...(letter.replayed ? { replayed: letter.replayed } : {}),
  };
}

export interface DeadLetterReplayDeps {
  deadLetters: DeadLetters;
  ingest: { ingest(events: readonly ReturnType<typeof parseEvent>[]): Promise<IngestResult> };
  audit: AuditStore;
  now?: () => number;
}

/**
 * Replays a dead letter with a corrected event: validates it (an `InvalidEventError` names what is
 * still wrong), enqueues it like `POST /v1/events` (so an event id seen within the dedup window
 * counts as a duplicate), and marks the dead letter replayed, in the audit trail too.
 */
export async function replayDeadLetter(
  id: string,
  corrected: unknown,
  requestedBy: string,
  deps: DeadLetterReplayDeps,
): Promise<{ deadLetter: DeadLetterView; result: IngestResult }> {
  const now = deps.now ?? Date.now;
  const letter = await deps.deadLetters.get(id);
  if (!letter) throw new NotFoundError(`no dead letter ${id} (automod dead-letters lists the kept ones)`);
  const event = parseEvent(corrected, new Date(now()));
  const result = await deps.ingest.ingest([event]);
  const at = new Date(now()).toISOString();
  const replayed = { at, requestedBy, eventId: event.id };
  await deps.deadLetters.markReplayed(id, replayed);
  await deps.audit.append({
    at,
    kind: 'dead-letter-replay',
    eventId: event.id,
    sessionId: event.sessionId,
    ...(event.participantId ? { participantId: event.participantId } : {}),
    outcome: result.accepted > 0 ? 'queued' : 'duplicate',
    requestedBy,
    detail: { deadLetterId: id, reason: letter.reason },
  });
  return { deadLetter: viewDeadLetter({ ...letter, replayed }), result };
}
