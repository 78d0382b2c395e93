import { generateKeyPairSync, randomBytes, randomUUID, sign as rsaSign, type KeyObject } from 'node:crypto';
import { fastify, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authorize } from './auth.js';
import { asRecord, errorBody, fail, ok, pageOf, readPage, statusText, type SimResult } from './http-shapes.js';
import { VIDEOSDK_PATHS as P } from '../videosdk/api-paths.js';
import {
  SIM_OPERATIONS,
  type SimCall,
  type SimFault,
  type SimOperation,
  type SimRoom,
  type SimSession,
  type SimSessionInput,
  type SimStats,
  type SimV2Claims,
  type Simulator,
  type SimulatorOptions,
} from './types.js';

export type {
  SimCall,
  SimFault,
  SimOperation,
  SimParticipantInput,
  SimRoom,
  SimSession,
  SimSessionInput,
  SimStats,
  SimV2Claims,
  Simulator,
  SimulatorOptions,
} from './types.js';

class SimNotFound extends Error {}

type ApiVersion = 'v1' | 'v2';
type Participant = SimSession['participants'][number];

/** The API routes the simulator answers (fastify prefers static segments over params). */
const ROUTES: Record<string, { operation: Exclude<SimOperation, 'other'>; apiVersion: ApiVersion }> = {
  [`POST ${P.v1RemoveParticipant}`]: { operation: 'remove', apiVersion: 'v1' },
  [`GET ${P.v1Session}`]: { operation: 'get-session', apiVersion: 'v1' },
  [`POST ${P.v2RemoveParticipant}`]: { operation: 'remove', apiVersion: 'v2' },
  [`POST ${P.v2EndSession}`]: { operation: 'end-session', apiVersion: 'v2' },
  [`GET ${P.v2Sessions}`]: { operation: 'list-sessions', apiVersion: 'v2' },
  [`GET ${P.v2Session}`]: { operation: 'get-session', apiVersion: 'v2' },
  [`GET ${P.v2Participants}`]: { operation: 'get-participants', apiVersion: 'v2' },
  [`GET ${P.v2ActiveParticipants}`]: { operation: 'get-active', apiVersion: 'v2' },
  [`GET ${P.v2Participant}`]: { operation: 'get-participant', apiVersion: 'v2' },
  [`GET ${P.v2SessionStats}`]: { operation: 'session-stats', apiVersion: 'v2' },
  [`GET ${P.v2ParticipantStats}`]: { operation: 'participant-stats', apiVersion: 'v2' },
  [`POST ${P.v2Rooms}`]: { operation: 'create-room', apiVersion: 'v2' },
  [`GET ${P.v2Rooms}`]: { operation: 'list-rooms', apiVersion: 'v2' },
  [`GET ${P.v2ValidateRoom}`]: { operation: 'validate-room', apiVersion: 'v2' },
  [`GET ${P.v2Room}`]: { operation: 'get-room', apiVersion: 'v2' },
  [`POST ${P.v2DeactivateRoom}`]: { operation: 'deactivate-room', apiVersion: 'v2' },
  [`POST ${P.v2Room}`]: { operation: 'update-room', apiVersion: 'v2' },
  [`GET ${P.v2PublicKey}`]: { operation: 'public-key', apiVersion: 'v2' },
};

/** What the official SDK types a remove answer as ("Returns a confirmation message"). */
const REMOVE_MESSAGE = 'Participant removed successfully';

const timesSchema = z
  .union([z.number().int().positive(), z.literal('Infinity'), z.literal(-1), z.null()])
  .transform((v) => (v === null || v === 'Infinity' || v === -1 ? Infinity : v));
const faultSchema = z.object({
  method: z.enum(['GET', 'POST']).optional(),
  operation: z.enum(SIM_OPERATIONS).optional(),
  sessionId: z.string().optional(),
  participantId: z.string().optional(),
  status: z.number().int().min(100).max(599).optional(),
  body: z.unknown().optional(),
  retryAfter: z.string().optional(),
  delayMs: z.number().min(0).optional(),
  applyThenHang: z.boolean().optional(),
  reset: z.boolean().optional(),
  removeAnswer: z.enum(['session', 'message']).optional(),
  times: timesSchema.optional(),
  probability: z.number().min(0).max(1).optional(),
});
const participantSchema = z.object({ participantId: z.string().min(1), name: z.string().optional() });
const sessionSchema = z.object({
  id: z.string().min(1).optional(),
  meetingId: z.string().min(1).optional(),
  roomId: z.string().min(1).optional(),
  participants: z.array(participantSchema).optional(),
});
const optionsSchema = z
  .object({ activeDataShape: z.enum(['array', 'object']).optional(), v2Claims: z.enum(['strict', 'lenient']).optional() })
  .strict();

// Request bodies of the v2 API; unknown fields are ignored, as a real API would.
const createRoomSchema = z.object({
  customRoomId: z.string().min(1).optional(),
  geoFence: z.string().min(1).optional(),
  webhook: z.object({ endPoint: z.string().url().max(512), events: z.array(z.string().min(1)) }).optional(),
  autoCloseConfig: z.record(z.string(), z.unknown()).optional(),
  allowedParticipantIds: z.array(z.string().min(1)).optional(),
});
const updateRoomSchema = z.object({ status: z.enum(['enabled', 'disabled']) });
const deactivateRoomSchema = z.object({ roomId: z.string().min(1) });
const endSessionSchema = z.object({
  roomId: z.string().min(1).optional(),
  meetingId: z.string().min(1).optional(),
  customRoomId: z.string().min(1).optional(),
  sessionId: z.string().min(1).optional(),
  vsdkForceKill: z.boolean().optional(),
  ignoreClosed: z.boolean().optional(),
});
const listSessionsSchema = z.object({
  roomId: z.string().optional(),
  customRoomId: z.string().optional(),
  query: z.string().optional(),
  status: z.enum(['ongoing', 'ended']).optional(),
  startDate: z.coerce.number().finite().optional(),
  endDate: z.coerce.number().finite().optional(),
});

function invalid(error: z.ZodError): SimResult {
  return fail(400, error.issues.map((i) => `${i.path.length > 0 ? `"${i.path.join('.')}"` : 'body'}: ${i.message}`).join('; '));
}

function roomName(): string {
  const part = (): string => randomBytes(3).toString('hex').slice(0, 4);
  return `${part()}-${part()}-${part()}`;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

function isActive(p: Participant): boolean {
  const last = p.timelog.at(-1);
  return last !== undefined && last.end === null;
}

function apiVersionOf(path: string): ApiVersion | undefined {
  if (path.startsWith('/v1/')) return 'v1';
  if (path.startsWith('/v2/')) return 'v2';
  return undefined;
}

/**
 * A VideoSDK stand-in for the demo, the tests and benchmarks: the v1 remove/fetch endpoints, the
 * v2 sessions, participants, rooms and webhook-key endpoints the official Node server SDK calls,
 * JWT checks like the real API (before routing), injectable faults, and a log of every call.
 * Decisions where VideoSDK documents nothing: removing someone not (or no longer) in the session
 * is `404 {message: "Participant not found in session"}`; an unknown session or room is 404
 * (deactivating by anything but a known `roomId` is 402, as the SDK notes); a v2 `roomId` that is
 * not the session's room is 400; a session ends when its last participant leaves (and opens again
 * when someone joins). Control endpoints live under `/_sim/` and need no token.
 */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const now = options.now ?? Date.now;
  const requireAuth = options.requireAuth ?? options.secret !== undefined;
  const maxCalls = options.maxCalls ?? 100_000;
  let secret = options.secret;
  let credentialValid = true;
  let activeDataShape = options.activeDataShape ?? 'array';
  let v2Claims: SimV2Claims = options.v2Claims ?? 'strict';
  let closed = false;
  /** Bumped by `reset()` so requests still waiting on a fault's delay are dropped, not applied to new state. */
  let generation = 0;
  let url = '';

  const sessions = new Map<string, SimSession>();
  /** By `roomId`. */
  const rooms = new Map<string, SimRoom>();
  let faults: (Omit<SimFault, 'times'> & { remaining: number })[] = [];
  let callLog: SimCall[] = [];
  let removals = new Map<string, number>();
  const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const callOf = new WeakMap<FastifyRequest, SimCall>();
  /** The token's refusal, decided in `onRequest` before routing and sent once the body is read. */
  const deniedOf = new WeakMap<FastifyRequest, SimResult>();
  // Made on first use: a 2048-bit key costs tens of milliseconds that most runs never need.
  let webhookKeys: { publicKey: KeyObject; privateKey: KeyObject; pem: string } | undefined;

  const iso = (): string => new Date(now()).toISOString();

  // ---- state ------------------------------------------------------------------------------

  function mustGet(id: string): SimSession {
    const session = sessions.get(id);
    if (!session) throw new SimNotFound(`unknown session ${id}`);
    return session;
  }

  function ensureRoom(roomId: string): SimRoom {
    let room = rooms.get(roomId);
    if (!room) {
      const at = iso();
      room = { id: randomBytes(12).toString('hex'), roomId, customRoomId: null, disabled: false, webhook: null, createdAt: at, updatedAt: at };
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
    for (const p of input.participants ?? []) join(session.id, p.participantId, p.name);
    return copy(session);
  }

  function join(sessionId: string, participantId: string, name?: string): SimSession {
    const session = mustGet(sessionId);
    const at = iso();
    const existing = session.participants.find((p) => p.participantId === participantId);
    if (existing) {
      if (name !== undefined) existing.name = name;
      if (!isActive(existing)) existing.timelog.push({ start: at, end: null });
    } else {
      session.participants.push({ participantId, name: name ?? participantId, timelog: [{ start: at, end: null }] });
    }
    session.end = null;
    return copy(session);
  }

  function leave(sessionId: string, participantId: string): boolean {
    const session = mustGet(sessionId);
    const participant = session.participants.find((p) => p.participantId === participantId);
    const open = participant?.timelog.at(-1);
    if (!open || open.end !== null) return false;
    const at = iso();
    open.end = at;
    if (!session.participants.some(isActive)) session.end = at;
    return true;
  }

  function endSession(session: SimSession): void {
    const at = iso();
    for (const p of session.participants) {
      const open = p.timelog.at(-1);
      if (open && open.end === null) open.end = at;
    }
    session.end = at;
  }

  /** Newest first, like VideoSDK's listings. */
  function sessionsNewestFirst(): SimSession[] {
    return [...sessions.values()].reverse().sort((a, b) => Date.parse(b.start) - Date.parse(a.start));
  }

  function ongoingSessionOf(roomId: string): SimSession | undefined {
    return sessionsNewestFirst().find((s) => s.roomId === roomId && s.end === null);
  }

  function stats(): SimStats {
    const byOperation: Record<string, number> = {};
    const byStatus: Record<string, number> = {};
    for (const call of callLog) {
      byOperation[call.operation] = (byOperation[call.operation] ?? 0) + 1;
      const status = String(call.status ?? 'none');
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    let removalsApplied = 0;
    for (const n of removals.values()) removalsApplied += n;
    return { requests: callLog.length, byOperation, byStatus, removalsApplied, removalsByParticipant: Object.fromEntries(removals) };
  }

  function addFault(fault: SimFault): void {
    const { times, ...rest } = fault;
    faults.push({ ...rest, remaining: times ?? 1 });
  }

  function takeFault(call: SimCall, method: string): (typeof faults)[number] | undefined {
    for (const fault of faults) {
      if (fault.remaining <= 0) continue;
      if (fault.method !== undefined && fault.method !== method) continue;
      if (fault.operation !== undefined && fault.operation !== call.operation) continue;
      // A remove-answer fault is about removals only: a GET must not use it up.
      if (fault.removeAnswer !== undefined && call.operation !== 'remove') continue;
      if (fault.sessionId !== undefined && fault.sessionId !== call.sessionId) continue;
      if (fault.participantId !== undefined && fault.participantId !== call.participantId) continue;
      if (fault.probability !== undefined && Math.random() >= fault.probability) continue;
      fault.remaining -= 1;
      return fault;
    }
    return undefined;
  }

  function sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          sleepers.delete(sleeper);
          resolve();
        }, ms),
        resolve,
      };
      sleepers.add(sleeper);
    });
  }

  function keys(): NonNullable<typeof webhookKeys> {
    if (!webhookKeys) {
      const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      webhookKeys = { publicKey, privateKey, pem: publicKey.export({ type: 'spki', format: 'pem' }).toString() };
    }
    return webhookKeys;
  }

  // ---- API semantics --------------------------------------------------------------------

  function links(roomId: string, sessionId?: string): Record<string, string> {
    const room = encodeURIComponent(roomId);
    return sessionId === undefined
      ? { get_room: `${url}/v2/rooms/${room}`, get_session: `${url}/v2/sessions/?roomId=${room}` }
      : { get_room: `${url}/v2/rooms/${room}`, get_session: `${url}/v2/sessions/${encodeURIComponent(sessionId)}` };
  }

  function view(session: SimSession, version: ApiVersion, participants = session.participants): Record<string, unknown> {
    const common = { start: session.start, end: session.end, participants: copy(participants) };
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
      return ok({ pageInfo, data: { id, roomId, ...(customRoomId === undefined ? {} : { customRoomId }), participants, links: sessionLinks } });
    }
    return ok({ pageInfo, data: activeDataShape === 'array' ? [data] : data });
  }

  function secondsIn(timelog: Participant['timelog']): number {
    let ms = 0;
    for (const entry of timelog) ms += (entry.end === null ? now() : Date.parse(entry.end)) - Date.parse(entry.start);
    return Math.max(0, Math.round(ms / 1000));
  }

  function perform(call: SimCall, version: ApiVersion, body: unknown, query: Record<string, string | undefined>, params: Record<string, string | undefined>): SimResult {
    const record = asRecord(body);
    switch (call.operation) {
      case 'remove':
        return remove(call, version, record);
      case 'end-session':
        return end(record);
      case 'list-sessions':
        return listSessions(query);
      case 'create-room': {
        const parsed = createRoomSchema.safeParse(record);
        if (!parsed.success) return invalid(parsed.error);
        const input = parsed.data;
        // Creating with a known customRoomId answers the room made before (VideoSDK is idempotent on it).
        const existing = input.customRoomId === undefined ? undefined : [...rooms.values()].find((r) => r.customRoomId === input.customRoomId);
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
        return ok({ publicKey: keys().pem });
      case 'other':
        return fail(404, 'Route not found');
      default:
        break;
    }

    // Everything left reads one session.
    const session = sessions.get(call.sessionId ?? '');
    if (!session) return fail(404, 'Session not found');
    const participant = call.participantId === undefined ? undefined : session.participants.find((p) => p.participantId === call.participantId);
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

  function send(reply: FastifyReply, result: SimResult, retryAfter?: string): FastifyReply {
    if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
    if (result.text) return reply.code(result.status).type('text/plain; charset=utf-8').send(String(result.body));
    return reply.code(result.status).send(result.body);
  }

  function destroy(request: FastifyRequest, reply: FastifyReply, call: SimCall): void {
    call.status = null;
    reply.hijack();
    request.raw.socket.destroy();
  }

  async function handleApi(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const call = callOf.get(request);
    const route = ROUTES[`${request.method} ${request.routeOptions.url ?? ''}`];
    if (!call || !route) return reply.code(404).send(errorBody(404, 'Route not found'));
    const body: unknown = request.body;
    const record = asRecord(body);
    if (call.participantId === undefined && typeof record.participantId === 'string') call.participantId = record.participantId;
    if (call.sessionId === undefined && typeof record.sessionId === 'string') call.sessionId = record.sessionId;
    call.body = body;

    const denied = deniedOf.get(request);
    if (denied) return send(reply, denied);
    call.authorized = true;

    const query = (request.query ?? {}) as Record<string, string | undefined>;
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const run = (): SimResult => perform(call, route.apiVersion, body, query, params);
    const fault = takeFault(call, request.method);
    if (!fault) return send(reply, run());

    call.faulted = true;
    const startedIn = generation;
    let result = fault.applyThenHang ? run() : undefined;
    if (fault.delayMs !== undefined && fault.delayMs > 0) await sleep(fault.delayMs);
    if (closed || fault.reset || generation !== startedIn) {
      destroy(request, reply, call);
      return undefined;
    }
    if (fault.status !== undefined) {
      const statusBody = fault.body ?? errorBody(fault.status, statusText(fault.status) ?? 'Injected fault');
      return send(reply, { status: fault.status, body: statusBody }, fault.retryAfter);
    }
    result ??= run();
    if (fault.removeAnswer === 'message' && result.status >= 200 && result.status < 300) {
      result = { status: result.status, body: REMOVE_MESSAGE, text: true };
    }
    return send(reply, result);
  }

  // ---- HTTP -------------------------------------------------------------------------------

  const app = fastify({
    loggerInstance: options.logger,
    forceCloseConnections: true,
    genReqId: () => randomUUID(),
  });

  const isControl = (path: string): boolean => path.startsWith('/_sim/') || path === '/_sim';

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const path = request.url.split('?')[0] ?? request.url;
    if (isControl(path)) return;
    const route = ROUTES[`${request.method} ${request.routeOptions.url ?? ''}`];
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const call: SimCall = {
      at: now(),
      method: request.method,
      path,
      operation: route?.operation ?? 'other',
      status: null,
      applied: false,
      authorized: false,
      requestId: request.id,
      faulted: false,
    };
    const apiVersion = route?.apiVersion ?? apiVersionOf(path);
    if (apiVersion !== undefined) call.apiVersion = apiVersion;
    if (params.sessionId !== undefined) call.sessionId = params.sessionId;
    if (params.participantId !== undefined) call.participantId = params.participantId;
    if (request.headers.authorization !== undefined) call.authorization = request.headers.authorization;
    if (request.headers['content-type'] !== undefined) call.contentType = request.headers['content-type'];
    callLog.push(call);
    // Trim in batches: one splice per request would make a long benchmark quadratic.
    if (callLog.length > maxCalls + Math.ceil(maxCalls / 10)) callLog.splice(0, callLog.length - maxCalls);
    callOf.set(request, call);
    // The token is checked before the route matters, as VideoSDK does: a bad token gets 401/403 on
    // every path, known or not, and only an accepted one learns that a path does not exist.
    const denied = await authorize(
      request.headers.authorization,
      { requireAuth, credentialValid, secret, apiKey: options.apiKey, v2Claims },
      { operation: call.operation, apiVersion },
    );
    if (denied) deniedOf.set(request, denied);
  });

  app.addHook('onSend', async (request, reply) => {
    const call = callOf.get(request);
    if (call) call.status = reply.statusCode;
  });

  app.setNotFoundHandler((request, reply) => {
    const denied = deniedOf.get(request);
    if (denied) return send(reply, denied);
    const call = callOf.get(request);
    if (call) call.authorized = true;
    return reply.code(404).send(errorBody(404, 'Route not found'));
  });

  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    // A body that does not parse must not tell a caller without a valid token more than a 401.
    const denied = deniedOf.get(request);
    if (denied) return send(reply, denied);
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    return reply.code(status).send(errorBody(status, status === 500 ? 'Internal error' : error.message));
  });

  for (const key of Object.keys(ROUTES)) {
    const [method, path] = key.split(' ') as ['GET' | 'POST', string];
    app.route({ method, url: path, handler: handleApi });
  }

  // Control surface, mirrored from the programmatic one.
  const bad = (reply: FastifyReply, error: z.ZodError): FastifyReply =>
    reply.code(400).send({ error: 'invalid request', details: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
  const notFound = (reply: FastifyReply, err: unknown): FastifyReply => {
    if (err instanceof SimNotFound) return reply.code(404).send(errorBody(404, err.message));
    throw err;
  };

  app.post('/_sim/sessions', async (request, reply) => {
    const parsed = sessionSchema.safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    return reply.code(201).send(addSession(parsed.data));
  });
  app.get('/_sim/sessions', async () => ({ sessions: [...sessions.values()].map(copy) }));
  app.get<{ Params: { id: string } }>('/_sim/sessions/:id', async (request, reply) => {
    const session = sessions.get(request.params.id);
    return session ? copy(session) : reply.code(404).send(errorBody(404, 'Session not found'));
  });
  app.post<{ Params: { id: string } }>('/_sim/sessions/:id/participants', async (request, reply) => {
    const parsed = participantSchema.safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    try {
      return join(request.params.id, parsed.data.participantId, parsed.data.name);
    } catch (err) {
      return notFound(reply, err);
    }
  });
  app.delete<{ Params: { id: string; participantId: string } }>('/_sim/sessions/:id/participants/:participantId', async (request, reply) => {
    try {
      return { left: leave(request.params.id, request.params.participantId) };
    } catch (err) {
      return notFound(reply, err);
    }
  });
  app.get('/_sim/rooms', async () => ({ rooms: [...rooms.values()].map(copy) }));
  app.post('/_sim/faults', async (request, reply) => {
    // One schema or the other, not a union: the error then names the field that is wrong.
    const parsed = (Array.isArray(request.body) ? z.array(faultSchema) : faultSchema).safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    const list = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
    for (const fault of list) addFault(fault);
    return reply.code(201).send({ faults: faults.length });
  });
  app.delete('/_sim/faults', async () => {
    faults = [];
    return { faults: 0 };
  });
  app.get('/_sim/calls', async () => ({ calls: callLog.map(copy) }));
  app.delete('/_sim/calls', async () => {
    resetCalls();
    return { calls: 0 };
  });
  app.get('/_sim/stats', async () => stats());
  app.post('/_sim/secret', async (request, reply) => {
    const parsed = z.object({ secret: z.string().min(1) }).safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    secret = parsed.data.secret;
    return { ok: true };
  });
  app.post('/_sim/credential', async (request, reply) => {
    const parsed = z.object({ valid: z.boolean() }).safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    credentialValid = parsed.data.valid;
    return { valid: credentialValid };
  });
  app.post('/_sim/options', async (request, reply) => {
    const parsed = optionsSchema.safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    if (parsed.data.activeDataShape !== undefined) activeDataShape = parsed.data.activeDataShape;
    if (parsed.data.v2Claims !== undefined) v2Claims = parsed.data.v2Claims;
    return { activeDataShape, v2Claims };
  });
  app.post('/_sim/reset', async () => {
    reset();
    return { ok: true };
  });

  function resetCalls(): void {
    callLog = [];
    removals = new Map();
  }

  function wakeSleepers(): void {
    for (const sleeper of sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.resolve();
    }
    sleepers.clear();
  }

  function reset(): void {
    generation += 1;
    wakeSleepers();
    sessions.clear();
    rooms.clear();
    faults = [];
    resetCalls();
    secret = options.secret;
    credentialValid = true;
    activeDataShape = options.activeDataShape ?? 'array';
    v2Claims = options.v2Claims ?? 'strict';
  }

  return {
    async listen(port = 0, host = '127.0.0.1') {
      url = await app.listen({ port, host });
      return url;
    },
    async close() {
      closed = true;
      wakeSleepers();
      await app.close();
    },
    get url() {
      return url;
    },
    addSession,
    getSession: (id) => {
      const session = sessions.get(id);
      return session ? copy(session) : undefined;
    },
    listSessions: () => [...sessions.values()].map(copy),
    listRooms: () => [...rooms.values()].map(copy),
    join,
    leave,
    addFault,
    clearFaults() {
      faults = [];
    },
    calls: () => callLog.map(copy),
    resetCalls,
    stats,
    setSecret(next) {
      secret = next;
    },
    setCredentialValid(valid) {
      credentialValid = valid;
    },
    setActiveDataShape(shape) {
      activeDataShape = shape;
    },
    setV2Claims(mode) {
      v2Claims = mode;
    },
    signWebhook: (body) => rsaSign('RSA-SHA256', typeof body === 'string' ? Buffer.from(body) : body, keys().privateKey).toString('base64'),
    webhookPublicKey: () => keys().pem,
    reset,
  };
}
