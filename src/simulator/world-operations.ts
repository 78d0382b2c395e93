import { asRecord, fail, ok, pageOf, readPage, type SimResult } from './http-shapes.js';
import type { ApiVersion } from './routes.js';
import { createRoomSchema, deactivateRoomSchema, endSessionSchema, invalid, listSessionsSchema, updateRoomSchema } from './schemas.js';
import type { SimCall, SimRoom, SimSession } from './types.js';
import { copy, isActive, type Participant, type Views } from './world-views.js';

/** What the API operations read and change of the world (see `createWorld`). */
export interface WorldState {
  sessions: ReadonlyMap<string, SimSession>;
  rooms: ReadonlyMap<string, SimRoom>;
  views: Views;
  now: () => number;
  /** How `GET .../participants/active` wraps its data. */
  activeDataShape: () => 'array' | 'object';
  /** The webhook-signing public key (PEM). */
  publicKeyPem: () => string;
  findRoom(key: string): SimRoom | undefined;
  /** A room with a fresh VideoSDK-like name. */
  newRoom(): SimRoom;
  leave(sessionId: string, participantId: string): boolean;
  endSession(session: SimSession): void;
  sessionsNewestFirst(): SimSession[];
  ongoingSessionOf(roomId: string): SimSession | undefined;
  countRemoval(sessionId: string, participantId: string): void;
}

/**
 * What each VideoSDK API operation does to the world and answers: `perform(call, ...)`, without
 * HTTP (the simulator's routes parse the request and send the result).
 */
export function createOperations(world: WorldState) {
  const { sessions, rooms, views, now } = world;
  const { view, roomView } = views;
  const iso = (): string => new Date(now()).toISOString();

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
        session = world.ongoingSessionOf(roomId);
      } else {
        return fail(400, '"sessionId" or "roomId" is required');
      }
    }
    if (!session) return fail(404, 'Session not found');
    const participant = session.participants.find((p) => p.participantId === participantId);
    if (!participant || !isActive(participant)) return fail(404, 'Participant not found in session');
    world.leave(session.id, participantId);
    call.applied = true;
    world.countRemoval(session.id, participantId);
    return ok(view(session, version));
  }

  function end(record: Record<string, unknown>): SimResult {
    const parsed = endSessionSchema.safeParse(record);
    if (!parsed.success) return invalid(parsed.error);
    const { sessionId, ignoreClosed } = parsed.data;
    const key = parsed.data.roomId ?? parsed.data.meetingId ?? parsed.data.customRoomId;
    if (key === undefined) return fail(400, '"roomId" is required');
    const room = world.findRoom(key);
    if (!room) return fail(404, 'Room not found');
    let session: SimSession | undefined;
    if (sessionId !== undefined) {
      session = sessions.get(sessionId);
      if (!session) return fail(404, 'Session not found');
      if (session.roomId !== room.roomId) return fail(400, 'roomId does not match the session');
    } else {
      session =
        world.ongoingSessionOf(room.roomId) ??
        (ignoreClosed ? world.sessionsNewestFirst().find((s) => s.roomId === room.roomId) : undefined);
      if (!session) return fail(404, 'No ongoing session for this room');
    }
    if (session.end !== null) return ignoreClosed ? ok(view(session, 'v2')) : fail(400, 'Session has already ended');
    world.endSession(session);
    return ok(view(session, 'v2'));
  }

  /** v1: `POST /v1/meeting-sessions/:sessionId/end`, by the session alone. */
  function endV1(sessionId: string): SimResult {
    const session = sessions.get(sessionId);
    if (!session) return fail(404, 'Session not found');
    if (session.end !== null) return fail(400, 'Session has already ended');
    world.endSession(session);
    return ok(view(session, 'v1'));
  }

  function listSessions(query: Record<string, string | undefined>): SimResult {
    const parsed = listSessionsSchema.safeParse(query);
    if (!parsed.success) return invalid(parsed.error);
    const filter = parsed.data;
    const matches = world.sessionsNewestFirst().filter((s) => {
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
    return ok({ pageInfo, data: world.activeDataShape() === 'array' ? [data] : data });
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
        const room = world.newRoom();
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
        const room = world.findRoom(params.roomId ?? '');
        return room ? ok(roomView(room)) : fail(404, 'Room not found');
      }
      case 'update-room': {
        const room = world.findRoom(params.roomId ?? '');
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
        return ok({ publicKey: world.publicKeyPem() });
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

  return perform;
}
