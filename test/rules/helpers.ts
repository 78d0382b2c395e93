import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import { cp, mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Harness } from '../helpers/harness.js';
import { waitFor } from '../helpers/harness.js';
import type { EventLogRecord } from '../../src/store/event-log.js';

/** A temporary rules folder: `files` are written as JSON, `lists` as lists/NAME.txt. */
export async function tempRules(
  files: Record<string, unknown> = {},
  lists: Record<string, string> = {},
  options: { shipped?: boolean } = {},
): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'automod-rules-'));
  if (options.shipped) await cp('rules', dir, { recursive: true });
  await mkdir(join(dir, 'lists'), { recursive: true });
  for (const [name, content] of Object.entries(files))
    await writeFile(join(dir, name), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  for (const [name, content] of Object.entries(lists)) await writeFile(join(dir, 'lists', `${name}.txt`), content);
  return dir;
}

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

export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Every entry of the worker's event log, oldest first. */
export async function eventLog(h: Harness): Promise<EventLogRecord[]> {
  const out: EventLogRecord[] = [];
  for await (const record of h.automod.services.eventLog.read({ since: 0 })) out.push(record);
  return out;
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

/** Streams for a command run in-process: what it writes is kept as text. */
export function capture(): {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY: boolean };
  out(): string;
  err(): string;
} {
  let out = '';
  let err = '';
  const stream = (append: (text: string) => void) =>
    new Writable({
      write(chunk: Buffer | string, _encoding, callback) {
        append(chunk.toString());
        callback();
      },
    });
  return {
    stdout: stream((t) => (out += t)),
    stderr: Object.assign(
      stream((t) => (err += t)),
      { isTTY: false },
    ),
    out: () => out,
    err: () => err,
  };
}
