import { isRecord } from '../shared/is-record.js';
/** One join interval of a participant; `end: null` means the interval is still open. */
export interface TimelogEntry {
  start: string | null;
  end: string | null;
}

export interface SessionParticipant {
  participantId: string;
  name?: string;
  timelog: TimelogEntry[];
}

/**
 * The part of VideoSDK's session object the worker relies on. v1 calls the room `meetingId`,
 * v2 `roomId`; either may be present.
 */
export interface VideoSdkSession {
  id?: string;
  meetingId?: string;
  roomId?: string;
  start?: string | null;
  end?: string | null;
  participants: SessionParticipant[];
}

type Json = Record<string, unknown>;

function str(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  return undefined;
}

/** A time field: ISO strings stay, epoch numbers become ISO, anything else (and absence) is null. */
function time(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' && Number.isFinite(value)) {
    const date = new Date(value);
    return Number.isNaN(date.getTime()) ? null : date.toISOString();
  }
  return null;
}

function looksLikeSession(value: Json): boolean {
  return (
    Array.isArray(value.participants) ||
    str(value.id) !== undefined ||
    str(value._id) !== undefined ||
    str(value.meetingId) !== undefined ||
    str(value.roomId) !== undefined
  );
}

function parseParticipant(value: unknown): SessionParticipant | undefined {
  if (!isRecord(value)) return undefined;
  const participantId = str(value.participantId);
  if (participantId === undefined || participantId === '') return undefined;
  const participant: SessionParticipant = { participantId, timelog: [] };
  const name = str(value.name);
  if (name !== undefined) participant.name = name;
  if (Array.isArray(value.timelog)) {
    for (const entry of value.timelog) {
      if (isRecord(entry)) participant.timelog.push({ start: time(entry.start), end: time(entry.end) });
    }
  }
  return participant;
}

function toSession(value: Json): VideoSdkSession {
  const session: VideoSdkSession = { participants: [] };
  const id = str(value.id) ?? str(value._id) ?? str(value.sessionId);
  if (id !== undefined) session.id = id;
  const meetingId = str(value.meetingId);
  if (meetingId !== undefined) session.meetingId = meetingId;
  const roomId = str(value.roomId);
  if (roomId !== undefined) session.roomId = roomId;
  if ('start' in value) session.start = time(value.start);
  if ('end' in value) session.end = time(value.end);
  if (Array.isArray(value.participants)) {
    for (const raw of value.participants) {
      const participant = parseParticipant(raw);
      if (participant) session.participants.push(participant);
    }
  }
  return session;
}

/**
 * Reads a session out of whatever VideoSDK answered: the session object itself, `{data: session}`
 * or `{data: [session, ...]}` (v2 active participants; the first session is taken, like the
 * official SDK does), or a JSON string of any of these. `{data: []}` is a session with no
 * participants (nobody active). Anything else (plain text, an error body) is `undefined`.
 * Extra fields are ignored, missing ones left out, participants without an id dropped. Never throws.
 */
export function parseSession(body: unknown): VideoSdkSession | undefined {
  try {
    let value = body;
    if (typeof value === 'string') {
      try {
        value = JSON.parse(value) as unknown;
      } catch {
        return undefined;
      }
    }
    if (!isRecord(value)) return undefined;
    if ('data' in value && !Array.isArray(value.participants)) {
      const data = value.data;
      if (Array.isArray(data)) {
        if (data.length === 0) return { participants: [] };
        const first = data.find((item): item is Json => isRecord(item) && looksLikeSession(item));
        return first === undefined ? undefined : toSession(first);
      }
      if (isRecord(data)) return looksLikeSession(data) ? toSession(data) : undefined;
    }
    return looksLikeSession(value) ? toSession(value) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a participant is still in the session: the `end` of their last timelog entry is null.
 * A listed participant with no timelog at all counts as active: VideoSDK lists them, and treating
 * them as gone would skip a removal that may be needed (the server has the final word on a POST).
 * Someone not listed is not active.
 */
export function isParticipantActive(session: VideoSdkSession, participantId: string): boolean {
  return session.participants.some((p) => p.participantId === participantId && isOpen(p));
}

/** Ids of everyone still in the session, each once, in the order listed. */
export function activeParticipantIds(session: VideoSdkSession): string[] {
  const ids = new Set<string>();
  for (const p of session.participants) if (isOpen(p)) ids.add(p.participantId);
  return [...ids];
}

function isOpen(participant: SessionParticipant): boolean {
  const last = participant.timelog.at(-1);
  return last === undefined || last.end === null;
}
