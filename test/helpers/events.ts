import { randomBytes } from 'node:crypto';
import type { EventLogRecord } from '../../src/store/event-log.js';
import { waitFor, type Harness } from './harness.js';

/**
 * An event for session `sessionId` with a fresh id: a chat message by `p1` in meeting
 * `room-<sessionId>` unless `fields` say otherwise.
 */
export function testEvent(sessionId: string, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `${sessionId}-${randomBytes(4).toString('hex')}`,
    type: 'chat-message',
    meetingId: `room-${sessionId}`,
    sessionId,
    participantId: 'p1',
    ...fields,
  };
}

/** Chat message `i` of a flood by `flooder` in session `sessionId` (id `<sessionId>-c<i>`), one millisecond apart. */
export function floodChat(sessionId: string, i: number, fields: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: `${sessionId}-c${i}`,
    type: 'chat-message',
    sessionId,
    meetingId: `room-${sessionId}`,
    participantId: 'flooder',
    timestamp: new Date(Date.now() + i).toISOString(),
    data: { text: `hi ${i}` },
    ...fields,
  };
}

/** Every entry of the worker's event log, oldest first. */
export async function eventLog(h: Harness): Promise<EventLogRecord[]> {
  const out: EventLogRecord[] = [];
  for await (const record of h.automod.services.eventLog.read({ since: 0 })) out.push(record);
  return out;
}

/** The logged events of session `sessionId`, oldest first. */
export async function loggedEvents(h: Harness, sessionId: string): Promise<Record<string, unknown>[]> {
  return (await eventLog(h)).filter((r) => r.event.sessionId === sessionId).map((r) => r.event);
}

/**
 * Posts events to the worker's HTTP API and waits until each is processed (in the event log);
 * answers each event's log entry, in the order given.
 */
export async function send(h: Harness, events: readonly Record<string, unknown>[], timeoutMs = 10_000): Promise<EventLogRecord[]> {
  const posted = await h.api('POST', '/v1/events', events);
  if (posted.status !== 202) throw new Error(`POST /v1/events answered ${posted.status}: ${JSON.stringify(posted.body)}`);
  const ids = (posted.body as { ids: string[] }).ids;
  return waitFor(
    async () => {
      const byId = new Map((await eventLog(h)).map((r) => [r.event.id as string, r]));
      const found = ids.map((id) => byId.get(id));
      return found.every((r) => r !== undefined) ? (found as EventLogRecord[]) : undefined;
    },
    timeoutMs,
    `${ids.length} events processed`,
  );
}

/** The rule names that fired for a logged event. */
export const fired = (record: EventLogRecord): string[] => record.hits.map((h) => h.rule);
