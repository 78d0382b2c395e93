import { randomBytes } from 'node:crypto';
import { asRecord, fail, ok, pageOf, readPage, type SimResult } from './http-shapes.js';
import type { ApiVersion } from './routes.js';
import { createRoomSchema, deactivateRoomSchema, endSessionSchema, invalid, listSessionsSchema, updateRoomSchema } from './schemas.js';
import type { SimCall, SimRoom, SimSession, SimSessionInput, SimWebhook } from './types.js';

type Participant = SimSession['participants'][number];

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
 * The VideoSDK behaviour the simulator plays, without HTTP: rooms, sessions and participants, and
 * what each API operation does to them and answers (`perform`).
 */
export function createWorld(options: WorldOptions) {
  const { now } = options;
  const sessions = new Map<string, SimSession>();
  /** By `roomId`. */
  const rooms = new Map<string, SimRoom>();
  /** Each participant's JSON as answers carry it, dropped whenever the participant changes. */
  const fragments = new WeakMap<Participant, string>();
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
      fragments.delete(existing);
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
    fragments.delete(participant!);
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
      fragments.delete(p);
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

  function links(roomId: string, sessionId?: string): Record<string, string> {
    const room = encodeURIComponent(roomId);
    return sessionId === undefined
      ? { get_room: `${options.url()}/v2/rooms/${room}`, get_session: `${options.url()}/v2/sessions/?roomId=${room}` }
      : { get_room: `${options.url()}/v2/rooms/${room}`, get_session: `${options.url()}/v2/sessions/${encodeURIComponent(sessionId)}` };
  }

  function view(session: SimSession, version: ApiVersion, participants = session.participants): Record<string, unknown> {
    const fields = (list: unknown): Record<string, unknown> => {
      const common = { start: session.start, end: session.end, participants: list };
      if (version === 'v1') return { id: session.id, meetingId: session.meetingId, ...common };
      const customRoomId = rooms.get(session.roomId)?.customRoomId;
      return {
        id: session.id,
        roomId: session.roomId,
        ...(customRoomId ? { customRoomId } : {}),
        ...common,
        // VideoSDK's types and its SDK call a closed session "ended".
        status: session.end === null ? 'ongoing' : 'ended',
        links: links(session.roomId, session.id),
      };
    };
    const answer = fields(participants.map(copyParticipant));
    // The answer as sent, from each participant's cached JSON: a raid's 5,000-participant session
    // is written for every remove answer, and a whole JSON.stringify of it each time held the
    // simulator to about 80 answers a second.
    const json = JSON.stringify(fields(PARTICIPANTS_MARK)).replace(
      `"${PARTICIPANTS_MARK}"`,
      () => `[${participants.map(participantJson).join(',')}]`,
    );
    Object.defineProperty(answer, RAW_JSON, { value: json, enumerable: false });
    return answer;
  }

  function participantJson(p: Participant): string {
    let json = fragments.get(p);
    if (json === undefined) {
      json = JSON.stringify(copyParticipant(p));
      fragments.set(p, json);
    }
    return json;
  }

  function roomView(room: SimRoom): Record<string, unknown> {
    return { ...copy(room), links: links(room.roomId) };
  }

  function remove(call: SimCall, version: ApiVersion, record: Record<string, unknown>): SimResult {
    const participantId = record.participantId;
    if (typeof participantId !== 'string' || participantId === '') return fail(400, '"participantId" is required');
    let session: SimSession | undefined;
    if (version === 'v1') {
      session = sessions.get(call.sessionId ?? '');
    } else {
      const roomId = typeof record.roomId === 'string' ? record.roomId : undefined;
      if (typeof record.sessionId === 'string' && record.sessionId !== '') {
        session = sessions.get(record.sessionId);
        if (session && roomId !== undefined && roomId !== session.roomId) return fail(400, 'roomId does not match the session');
      } else if (roomId !== undefined) {
        session = ongoingSessionOf(roomId);
      } else {
        return fail(400, '"sessionId" or "roomId" is required');
      }
    }
    if (!session) return fail(404, 'Session not found');
    const participant = session.participants.find((p) => p.participantId === participantId);
    if (!participant || !isActive(participant)) return fail(404, 'Participant not found in session');
    leave(session.id, participantId);
    call.applied = true;
    const key = `${session.id}/${participantId}`;
    removals.set(key, (removals.get(key) ?? 0) + 1);
    return ok(view(session, version));
  }

  function end(record: Record<string, unknown>): SimResult {
    const parsed = endSessionSchema.safeParse(record);
    if (!parsed.success) return invalid(parsed.error);
    const { sessionId, ignoreClosed } = parsed.data;
    const key = parsed.data.roomId ?? parsed.data.meetingId ?? parsed.data.customRoomId;
    if (key === undefined) return fail(400, '"roomId" is required');
    const room = findRoom(key);
    if (!room) return fail(404, 'Room not found');
    let session: SimSession | undefined;
    if (sessionId !== undefined) {
      session = sessions.get(sessionId);
      if (!session) return fail(404, 'Session not found');
      if (session.roomId !== room.roomId) return fail(400, 'roomId does not match the session');
    } else {
      session = ongoingSessionOf(room.roomId) ?? (ignoreClosed ? sessionsNewestFirst().find((s) => s.roomId === room.roomId) : undefined);
      if (!session) return fail(404, 'No ongoing session for this room');
    }
    if (session.end !== null) return ignoreClosed ? ok(view(session, 'v2')) : fail(400, 'Session has already ended');
    endSession(session);
    return ok(view(session, 'v2'));
  }

  /** v1: `POST /v1/meeting-sessions/:sessionId/end`, by the session alone. */
  function endV1(sessionId: string): SimResult {
    const session = sessions.get(sessionId);
    if (!session) return fail(404, 'Session not found');
    if (session.end !== null) return fail(400, 'Session has already ended');
    endSession(session);
    return ok(view(session, 'v1'));
  }

  function listSessions(query: Record<string, string | undefined>): SimResult {
    const parsed = listSessionsSchema.safeParse(query);
    if (!parsed.success) return invalid(parsed.error);
    const filter = parsed.data;
    const matches = sessionsNewestFirst().filter((s) => {
      const custom = rooms.get(s.roomId)?.customRoomId ?? undefined;
      if (filter.roomId !== undefined && filter.roomId !== '' && s.roomId !== filter.roomId) return false;
      if (filter.customRoomId !== undefined && filter.customRoomId !== '' && custom !== filter.customRoomId) return false;
      if (filter.query !== undefined && filter.query !== '' && s.roomId !== filter.query && custom !== filter.query) return false;
      if (filter.status !== undefined && (s.end === null ? 'ongoing' : 'ended') !== filter.status) return false;
      const start = Date.parse(s.start);
      if (filter.startDate !== undefined && start < filter.startDate) return false;
      if (filter.endDate !== undefined && start > filter.endDate) return false;
      return true;
    });
    const { pageInfo, items } = pageOf(matches, readPage(query));
    return ok({ pageInfo, data: items.map((s) => view(s, 'v2')) });
  }

  function participantsPage(session: SimSession, query: Record<string, string | undefined>, activeOnly: boolean): SimResult {
    const list = activeOnly ? session.participants.filter(isActive) : session.participants;
    const { pageInfo, items } = pageOf(list, readPage(query));
    const data = view(session, 'v2', items);
    if (!activeOnly) {
      // The all-participants listing is documented as a session-shaped object without status or times.
      const { id, roomId, customRoomId, participants, links: sessionLinks } = data;
      return ok({
        pageInfo,
        data: { id, roomId, ...(customRoomId === undefined ? {} : { customRoomId }), participants, links: sessionLinks },
      });
    }
    return ok({ pageInfo, data: options.activeDataShape() === 'array' ? [data] : data });
  }

  function secondsIn(timelog: Participant['timelog']): number {
    let ms = 0;
    for (const entry of timelog) ms += (entry.end === null ? now() : Date.parse(entry.end)) - Date.parse(entry.start);
    return Math.max(0, Math.round(ms / 1000));
  }

  function perform(
    call: SimCall,
    version: ApiVersion,
    body: unknown,
    query: Record<string, string | undefined>,
    params: Record<string, string | undefined>,
  ): SimResult {
    const record = asRecord(body);
    switch (call.operation) {
      case 'remove':
        return remove(call, version, record);
      case 'end-session':
        return version === 'v1' ? endV1(params.sessionId ?? '') : end(record);
      case 'list-sessions':
        return listSessions(query);
      case 'create-room': {
        const parsed = createRoomSchema.safeParse(record);
        if (!parsed.success) return invalid(parsed.error);
        const input = parsed.data;
        // Creating with a known customRoomId answers the room made before (VideoSDK is idempotent on it).
        const existing =
          input.customRoomId === undefined ? undefined : [...rooms.values()].find((r) => r.customRoomId === input.customRoomId);
        if (existing) return ok(roomView(existing));
        const room = ensureRoom(roomName());
        room.customRoomId = input.customRoomId ?? null;
        room.webhook = input.webhook ?? null;
        if (input.autoCloseConfig !== undefined) room.autoCloseConfig = input.autoCloseConfig;
        if (input.geoFence !== undefined) room.geoFence = input.geoFence;
        if (input.allowedParticipantIds !== undefined) room.allowedParticipantIds = input.allowedParticipantIds;
        return ok(roomView(room));
      }
      case 'list-rooms': {
        const q = query.query;
        const list = [...rooms.values()].reverse().filter((r) => q === undefined || q === '' || r.roomId === q || r.customRoomId === q);
        const { pageInfo, items } = pageOf(list, readPage(query));
        return ok({ pageInfo, data: items.map(roomView) });
      }
      case 'get-room':
      case 'validate-room': {
        const room = findRoom(params.roomId ?? '');
        return room ? ok(roomView(room)) : fail(404, 'Room not found');
      }
      case 'update-room': {
        const room = findRoom(params.roomId ?? '');
        if (!room) return fail(404, 'Room not found');
        const parsed = updateRoomSchema.safeParse(record);
        if (!parsed.success) return invalid(parsed.error);
        room.disabled = parsed.data.status === 'disabled';
        room.updatedAt = iso();
        return ok(roomView(room));
      }
      case 'deactivate-room': {
        const parsed = deactivateRoomSchema.safeParse(record);
        if (!parsed.success) return invalid(parsed.error);
        // Only the VideoSDK roomId is resolved here; the SDK documents a customRoomId failing with 402.
        const room = rooms.get(parsed.data.roomId);
        if (!room) return fail(402, 'Room not found');
        room.disabled = true;
        room.updatedAt = iso();
        return ok(roomView(room));
      }
      case 'public-key':
        return ok({ publicKey: options.publicKeyPem() });
      case 'other':
        return fail(404, 'Route not found');
      default:
        break;
    }

    // Everything left reads one session.
    const session = sessions.get(call.sessionId ?? '');
    if (!session) return fail(404, 'Session not found');
    const participant =
      call.participantId === undefined ? undefined : session.participants.find((p) => p.participantId === call.participantId);
    switch (call.operation) {
      case 'get-session':
        return ok(view(session, version));
      case 'get-active':
        return participantsPage(session, query, true);
      case 'get-participants':
        return participantsPage(session, query, false);
      case 'get-participant':
        return participant ? ok(copy(participant)) : fail(404, 'Participant not found in session');
      case 'session-stats':
        return ok({
          sessionId: session.id,
          roomId: session.roomId,
          start: session.start,
          end: session.end,
          participants: { total: session.participants.length, active: session.participants.filter(isActive).length },
        });
      case 'participant-stats':
        if (!participant) return fail(404, 'Participant not found in session');
        return ok({
          sessionId: session.id,
          participantId: participant.participantId,
          name: participant.name,
          duration: secondsIn(participant.timelog),
          timelog: copy(participant.timelog),
          stats: [],
          resolutionUsage: {},
        });
      default:
        return fail(404, 'Route not found');
    }
  }

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

/** Where an answer object keeps the JSON it is sent as (see `view`). */
export const RAW_JSON = Symbol('raw JSON');
const PARTICIPANTS_MARK = `participants-${randomBytes(8).toString('hex')}`;

export function copy<T>(value: T): T {
  return structuredClone(value);
}

/**
 * A participant as an answer carries it, copied field by field: every session answer lists all
 * participants, and `structuredClone` of a raid's 5,000 cost the simulator more than the worker's
 * whole removal path.
 */
function copyParticipant(p: Participant): Participant {
  return { participantId: p.participantId, name: p.name, timelog: p.timelog.map((t) => ({ start: t.start, end: t.end })) };
}

function isActive(p: Participant): boolean {
  const last = p.timelog.at(-1);
  return last !== undefined && last.end === null;
}
