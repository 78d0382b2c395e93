import { randomBytes } from 'node:crypto';
import type { SimRoom, SimSession, SimSessionInput, SimWebhook } from './types.js';
import { createOperations } from './world-operations.js';
import { copy, createViews, isActive, type Participant } from './world-views.js';

/** A session or participant the control surface was asked about is not there. */
export class SimNotFound extends Error {}

export interface WorldOptions {
  now: () => number;
  /** The simulator's base URL, for the `links` VideoSDK puts in its answers. */
  url: () => string;
  /** How `GET .../participants/active` wraps its data (VideoSDK's docs and SDK disagree). */
  activeDataShape: () => 'array' | 'object';
  /** The webhook-signing public key (PEM), answered by `GET /v2/public/rsa-public-key`. */
  publicKeyPem: () => string;
  /** Told of each change VideoSDK sends a webhook for, in order: joins, leaves, session start and end. */
  onWebhook?: (webhook: SimWebhook) => void;
}

/**
 * The VideoSDK behaviour the simulator plays, without HTTP: rooms, sessions and participants and
 * how they change (joins, leaves, ends, each with its webhook); what each API operation does to
 * them and answers is `perform` (`world-operations.ts`), in the shapes of `world-views.ts`.
 */
export function createWorld(options: WorldOptions) {
  const { now } = options;
  const sessions = new Map<string, SimSession>();
  /** By `roomId`. */
  const rooms = new Map<string, SimRoom>();
  const views = createViews({ rooms, url: options.url });
  /** Applied removals by `sessionId/participantId`. */
  let removals = new Map<string, number>();
  const iso = (): string => new Date(now()).toISOString();

  /** The webhook VideoSDK sends for this change, with the `data` fields its docs name. */
  function emit(webhookType: string, session: SimSession, participant?: Participant): void {
    if (!options.onWebhook) return;
    const data: Record<string, unknown> = { meetingId: session.meetingId, sessionId: session.id };
    if (participant) {
      data.participantId = participant.participantId;
      data.participantName = participant.name;
    } else {
      data.start = session.start;
      if (webhookType === 'session-ended') data.end = session.end;
    }
    options.onWebhook({ webhookType, data });
  }

  function mustGet(id: string): SimSession {
    const session = sessions.get(id);
    if (!session) throw new SimNotFound(`unknown session ${id}`);
    return session;
  }

  function ensureRoom(roomId: string): SimRoom {
    let room = rooms.get(roomId);
    if (!room) {
      const at = iso();
      room = {
        id: randomBytes(12).toString('hex'),
        roomId,
        customRoomId: null,
        disabled: false,
        webhook: null,
        createdAt: at,
        updatedAt: at,
      };
      rooms.set(roomId, room);
    }
    return room;
  }

  /** A room by its `roomId`, `customRoomId` or `id`, as VideoSDK's GET room resolves it. */
  function findRoom(key: string): SimRoom | undefined {
    const direct = rooms.get(key);
    if (direct) return direct;
    for (const room of rooms.values()) if (room.customRoomId === key || room.id === key) return room;
    return undefined;
  }

  function addSession(input: SimSessionInput): SimSession {
    const at = iso();
    const room = ensureRoom(input.meetingId ?? input.roomId ?? roomName()).roomId;
    const session: SimSession = {
      id: input.id ?? randomBytes(12).toString('hex'),
      meetingId: room,
      roomId: room,
      start: at,
      end: null,
      participants: [],
    };
    sessions.set(session.id, session);
    emit('session-started', session);
    for (const p of input.participants ?? []) joinTo(session, p.participantId, p.name);
    return copy(session);
  }

  function join(sessionId: string, participantId: string, name?: string): SimSession {
    const session = mustGet(sessionId);
    joinTo(session, participantId, name);
    return copy(session);
  }

  /** A join without the copy of the session it answers: a 5,000-participant session is built in O(n). */
  function joinTo(session: SimSession, participantId: string, name?: string): void {
    const at = iso();
    if (session.end !== null) {
      session.end = null;
      emit('session-started', session);
    }
    const existing = session.participants.find((p) => p.participantId === participantId);
    if (existing) {
      views.forget(existing);
      if (name !== undefined) existing.name = name;
      if (!isActive(existing)) {
        existing.timelog.push({ start: at, end: null });
        emit('participant-joined', session, existing);
      }
    } else {
      const joined: Participant = { participantId, name: name ?? participantId, timelog: [{ start: at, end: null }] };
      session.participants.push(joined);
      emit('participant-joined', session, joined);
    }
  }

  function leave(sessionId: string, participantId: string): boolean {
    const session = mustGet(sessionId);
    const participant = session.participants.find((p) => p.participantId === participantId);
    const open = participant?.timelog.at(-1);
    if (!open || open.end !== null) return false;
    const at = iso();
    open.end = at;
    views.forget(participant!);
    emit('participant-left', session, participant);
    if (!session.participants.some(isActive)) {
      session.end = at;
      emit('session-ended', session);
    }
    return true;
  }

  function endSession(session: SimSession): void {
    const at = iso();
    for (const p of session.participants) {
      const open = p.timelog.at(-1);
      if (open && open.end === null) {
        open.end = at;
        emit('participant-left', session, p);
      }
      views.forget(p);
    }
    session.end = at;
    emit('session-ended', session);
  }

  /** Newest first, like VideoSDK's listings. */
  function sessionsNewestFirst(): SimSession[] {
    return [...sessions.values()].reverse().sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
  }

  function ongoingSessionOf(roomId: string): SimSession | undefined {
    return sessionsNewestFirst().find((s) => s.roomId === roomId && s.end === null);
  }
  const perform = createOperations({
    sessions,
    rooms,
    views,
    now,
    activeDataShape: options.activeDataShape,
    publicKeyPem: options.publicKeyPem,
    findRoom,
    newRoom: () => ensureRoom(roomName()),
    leave,
    endSession,
    sessionsNewestFirst,
    ongoingSessionOf,
    countRemoval(sessionId, participantId) {
      const key = `${sessionId}/${participantId}`;
      removals.set(key, (removals.get(key) ?? 0) + 1);
    },
  });

  return {
    sessions,
    rooms,
    removals: (): ReadonlyMap<string, number> => removals,
    resetRemovals(): void {
      removals = new Map();
    },
    clear(): void {
      sessions.clear();
      rooms.clear();
      removals = new Map();
    },
    addSession,
    join,
    leave,
    perform,
  };
}

export type World = ReturnType<typeof createWorld>;

function roomName(): string {
  const part = (): string => randomBytes(3).toString('hex').slice(0, 4);
  return `${part()}-${part()}-${part()}`;
}
