import { randomBytes, randomUUID } from 'node:crypto';
import { fastify, type FastifyReply, type FastifyRequest } from 'fastify';
import { errors as joseErrors, jwtVerify } from 'jose';
import type { Logger } from 'pino';
import { z } from 'zod';

/** What a request to the simulated API does. `other` is anything outside the three endpoints. */
export type SimOperation = 'remove' | 'get-session' | 'get-active' | 'other';

export interface SimParticipantInput {
  participantId: string;
  name?: string;
}

export interface SimSessionInput {
  /** Session id; a 24-hex id like VideoSDK's when left out. */
  id?: string;
  /** The room (v1 `meetingId`, v2 `roomId`); either name is accepted. */
  meetingId?: string;
  roomId?: string;
  /** Each starts in the session (an open timelog entry). */
  participants?: SimParticipantInput[];
}

/** A session as the simulator holds it; answers use `meetingId` (v1) or `roomId` (v2). */
export interface SimSession {
  id: string;
  meetingId: string;
  roomId: string;
  start: string;
  end: string | null;
  participants: { participantId: string; name: string; timelog: { start: string; end: string | null }[] }[];
}

/**
 * A fault injected into matching requests. Unset matchers match anything; faults are tried in
 * the order added and the first one that matches (and passes its `probability`) is used. Auth is
 * checked first: a request refused with 401/403 never consumes a fault.
 */
export interface SimFault {
  method?: 'GET' | 'POST';
  operation?: Exclude<SimOperation, 'other'>;
  sessionId?: string;
  participantId?: string;
  /** Answer with this status (and `body`, default `{statusCode, error, message}`) instead of the real result. */
  status?: number;
  body?: unknown;
  /** `Retry-After` header sent with `status`. */
  retryAfter?: string;
  /** Wait this long before answering (or resetting). Without `applyThenHang` the real work happens after the wait. */
  delayMs?: number;
  /** Carry out the request first (the removal takes effect), then answer only after `delayMs`. */
  applyThenHang?: boolean;
  /** Destroy the connection instead of answering (after `delayMs`, after applying with `applyThenHang`). */
  reset?: boolean;
  /** How many requests it hits. Default 1; `Infinity` for all. */
  times?: number;
  /** Chance (0..1) that a matching request is hit. Default 1. */
  probability?: number;
}

/** One request to the simulated API (control requests under `/_sim/` are not recorded). */
export interface SimCall {
  at: number;
  method: string;
  /** Path without the query. */
  path: string;
  operation: SimOperation;
  apiVersion?: 'v1' | 'v2';
  sessionId?: string;
  participantId?: string;
  /** Status answered; null when the connection was reset or nothing was answered. */
  status: number | null;
  /** The removal took effect during this request. */
  applied: boolean;
  authorized: boolean;
  requestId: string;
  /** The raw `Authorization` header, so tests can check its shape. */
  authorization?: string;
  contentType?: string;
  body?: unknown;
  /** Whether an injected fault handled this request. */
  faulted: boolean;
}

export interface SimStats {
  requests: number;
  byOperation: Record<string, number>;
  byStatus: Record<string, number>;
  /** Removals that took effect. */
  removalsApplied: number;
  /** Removals that took effect, by `sessionId/participantId`. */
  removalsByParticipant: Record<string, number>;
}

export interface SimulatorOptions {
  /** HS256 secret the JWTs must be signed with. */
  secret?: string;
  /** When set, the token's `apikey` claim must equal it (403 otherwise). */
  apiKey?: string;
  /** Default: true when a secret is given. Without a secret it only requires a bare (non-Bearer) header. */
  requireAuth?: boolean;
  logger?: Logger;
  /** Clock for timelogs and the call log; defaults to `Date.now`. */
  now?: () => number;
  /** v2 active participants answer `data` as `[session]` (current docs, default) or `session` (older docs). */
  activeDataShape?: 'array' | 'object';
  /** Oldest calls are dropped (in batches) past about this many. Default 100000. */
  maxCalls?: number;
}

export interface Simulator {
  /** Starts serving; resolves to the base URL, e.g. `http://127.0.0.1:41234`. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** The base URL once listening, else ''. */
  readonly url: string;
  addSession(input: SimSessionInput): SimSession;
  getSession(id: string): SimSession | undefined;
  listSessions(): SimSession[];
  join(sessionId: string, participantId: string, name?: string): SimSession;
  /** Closes the participant's open timelog entry; true when they were in the session. */
  leave(sessionId: string, participantId: string): boolean;
  addFault(fault: SimFault): void;
  clearFaults(): void;
  calls(): SimCall[];
  resetCalls(): void;
  stats(): SimStats;
  /** Replaces the signing secret: tokens signed with the old one now get 401 (a rotated secret). */
  setSecret(secret: string): void;
  /** `false` answers 401 to every API request (a revoked credential) until set back. */
  setCredentialValid(valid: boolean): void;
  setActiveDataShape(shape: 'array' | 'object'): void;
  /**
   * Forgets sessions, faults and calls; restores the original secret and credential. Requests still
   * held by a fault's delay get their connection reset and change nothing.
   */
  reset(): void;
}

class SimNotFound extends Error {}

const STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  408: 'Request Timeout',
  409: 'Conflict',
  422: 'Unprocessable Entity',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

const ROUTES: Record<string, { operation: SimOperation; apiVersion: 'v1' | 'v2' }> = {
  'POST /v1/meeting-sessions/:sessionId/remove-participant': { operation: 'remove', apiVersion: 'v1' },
  'GET /v1/meeting-sessions/:sessionId': { operation: 'get-session', apiVersion: 'v1' },
  'POST /v2/sessions/participants/remove': { operation: 'remove', apiVersion: 'v2' },
  'GET /v2/sessions/:sessionId': { operation: 'get-session', apiVersion: 'v2' },
  'GET /v2/sessions/:sessionId/participants/active': { operation: 'get-active', apiVersion: 'v2' },
};

const timesSchema = z
  .union([z.number().int().positive(), z.literal('Infinity'), z.literal(-1), z.null()])
  .transform((v) => (v === null || v === 'Infinity' || v === -1 ? Infinity : v));
const faultSchema = z.object({
  method: z.enum(['GET', 'POST']).optional(),
  operation: z.enum(['remove', 'get-session', 'get-active']).optional(),
  sessionId: z.string().optional(),
  participantId: z.string().optional(),
  status: z.number().int().min(100).max(599).optional(),
  body: z.unknown().optional(),
  retryAfter: z.string().optional(),
  delayMs: z.number().min(0).optional(),
  applyThenHang: z.boolean().optional(),
  reset: z.boolean().optional(),
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

interface Result {
  status: number;
  body: unknown;
}

function errorBody(status: number, message: string): { statusCode: number; error: string; message: string } {
  return { statusCode: status, error: STATUS_TEXT[status] ?? 'Error', message };
}

function roomName(): string {
  const part = (): string => randomBytes(3).toString('hex').slice(0, 4);
  return `${part()}-${part()}-${part()}`;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

/**
 * A VideoSDK stand-in for the demo, the tests and benchmarks: the v1 and v2 endpoints the client
 * uses, JWT checks like the real API, injectable faults, and a log of every call. Decisions where
 * VideoSDK documents nothing: removing someone not (or no longer) in the session is
 * `404 {message: "Participant not found in session"}`; an unknown session is 404; a v2 `roomId`
 * that is not the session's room is 400; a session ends when its last participant leaves (and
 * opens again when someone joins). Control endpoints live under `/_sim/` and need no token.
 */
export function createSimulator(options: SimulatorOptions = {}): Simulator {
  const now = options.now ?? Date.now;
  const requireAuth = options.requireAuth ?? options.secret !== undefined;
  const maxCalls = options.maxCalls ?? 100_000;
  let secret = options.secret;
  let credentialValid = true;
  let activeDataShape = options.activeDataShape ?? 'array';
  let closed = false;
  /** Bumped by `reset()` so requests still waiting on a fault's delay are dropped, not applied to new state. */
  let generation = 0;
  let url = '';

  const sessions = new Map<string, SimSession>();
  let faults: (Omit<SimFault, 'times'> & { remaining: number })[] = [];
  let callLog: SimCall[] = [];
  let removals = new Map<string, number>();
  const sleepers = new Set<{ timer: NodeJS.Timeout; resolve: () => void }>();
  const callOf = new WeakMap<FastifyRequest, SimCall>();

  const iso = (): string => new Date(now()).toISOString();

  // ---- state ------------------------------------------------------------------------------

  function mustGet(id: string): SimSession {
    const session = sessions.get(id);
    if (!session) throw new SimNotFound(`unknown session ${id}`);
    return session;
  }

  function isActive(p: SimSession['participants'][number]): boolean {
    const last = p.timelog.at(-1);
    return last !== undefined && last.end === null;
  }

  function addSession(input: SimSessionInput): SimSession {
    const at = iso();
    const room = input.meetingId ?? input.roomId ?? roomName();
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

  // ---- API semantics --------------------------------------------------------------------

  function view(session: SimSession, version: 'v1' | 'v2', participants = session.participants): Record<string, unknown> {
    const room = version === 'v1' ? { meetingId: session.meetingId } : { roomId: session.roomId };
    return {
      id: session.id,
      ...room,
      start: session.start,
      end: session.end,
      participants: copy(participants),
      ...(version === 'v2' ? { status: session.end === null ? 'ongoing' : 'completed' } : {}),
    };
  }

  function perform(call: SimCall, version: 'v1' | 'v2', body: unknown, query: Record<string, string>): Result {
    const record = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
    if (call.operation === 'remove') {
      const participantId = record.participantId;
      if (typeof participantId !== 'string' || participantId === '') {
        return { status: 400, body: errorBody(400, '"participantId" is required') };
      }
      let session: SimSession | undefined;
      if (version === 'v1') {
        session = sessions.get(call.sessionId ?? '');
      } else {
        const roomId = typeof record.roomId === 'string' ? record.roomId : undefined;
        if (typeof record.sessionId === 'string' && record.sessionId !== '') {
          session = sessions.get(record.sessionId);
          if (session && roomId !== undefined && roomId !== session.roomId) {
            return { status: 400, body: errorBody(400, 'roomId does not match the session') };
          }
        } else if (roomId !== undefined) {
          session = [...sessions.values()].reverse().find((s) => s.roomId === roomId && s.end === null);
        } else {
          return { status: 400, body: errorBody(400, '"sessionId" or "roomId" is required') };
        }
      }
      if (!session) return { status: 404, body: errorBody(404, 'Session not found') };
      const participant = session.participants.find((p) => p.participantId === participantId);
      if (!participant || !isActive(participant)) {
        return { status: 404, body: errorBody(404, 'Participant not found in session') };
      }
      leave(session.id, participantId);
      call.applied = true;
      const key = `${session.id}/${participantId}`;
      removals.set(key, (removals.get(key) ?? 0) + 1);
      return { status: 200, body: view(session, version) };
    }

    const session = sessions.get(call.sessionId ?? '');
    if (!session) return { status: 404, body: errorBody(404, 'Session not found') };
    if (call.operation === 'get-session') return { status: 200, body: view(session, version) };

    // get-active (v2): paginated, `data` as [session] or session.
    const active = session.participants.filter(isActive);
    const perPage = Math.min(Math.max(Number.parseInt(query.perPage ?? '20', 10) || 20, 1), 100);
    const lastPage = Math.max(1, Math.ceil(active.length / perPage));
    const page = Math.max(Number.parseInt(query.page ?? '1', 10) || 1, 1);
    const data = view(session, 'v2', active.slice((page - 1) * perPage, page * perPage));
    return {
      status: 200,
      body: {
        pageInfo: { currentPage: page, perPage, lastPage, total: active.length },
        data: activeDataShape === 'array' ? [data] : data,
      },
    };
  }

  async function authorize(request: FastifyRequest, operation: SimOperation): Promise<Result | undefined> {
    if (!requireAuth) return undefined;
    const header = request.headers.authorization;
    if (header === undefined || header === '') return { status: 401, body: errorBody(401, 'Authorization header is missing') };
    if (/^bearer\s/i.test(header)) {
      return { status: 401, body: errorBody(401, 'Authorization must be the token itself, without "Bearer"') };
    }
    if (!credentialValid) return { status: 401, body: errorBody(401, 'Token is revoked') };
    if (secret === undefined) return undefined;
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(header, new TextEncoder().encode(secret), { algorithms: ['HS256'] }));
    } catch (err) {
      const message = err instanceof joseErrors.JWTExpired ? 'Token is expired' : 'Token is invalid';
      return { status: 401, body: errorBody(401, message) };
    }
    if (typeof payload.apikey !== 'string') return { status: 401, body: errorBody(401, 'Token has no apikey') };
    if (options.apiKey !== undefined && payload.apikey !== options.apiKey) {
      return { status: 403, body: errorBody(403, 'apikey is not allowed') };
    }
    const permissions = Array.isArray(payload.permissions) ? payload.permissions : [];
    if (operation === 'remove' && !permissions.includes('allow_mod')) {
      return { status: 403, body: errorBody(403, 'Token lacks the allow_mod permission') };
    }
    const roles = Array.isArray(payload.roles) ? payload.roles.map((r) => String(r).toLowerCase()) : [];
    if (roles.includes('rtc') && !roles.includes('crawler')) {
      return { status: 403, body: errorBody(403, 'An rtc token cannot use the REST API') };
    }
    return undefined;
  }

  function send(reply: FastifyReply, result: Result, retryAfter?: string): FastifyReply {
    if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
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
    if (!call || !route) return reply.code(404).send(errorBody(404, 'Not found'));
    const body: unknown = request.body;
    const record = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    if (typeof record.participantId === 'string') call.participantId = record.participantId;
    if (call.sessionId === undefined && typeof record.sessionId === 'string') call.sessionId = record.sessionId;
    call.body = body;

    const denied = await authorize(request, route.operation);
    if (denied) return send(reply, denied);
    call.authorized = true;

    const query = (request.query ?? {}) as Record<string, string>;
    const fault = takeFault(call, request.method);
    if (!fault) return send(reply, perform(call, route.apiVersion, body, query));

    call.faulted = true;
    const startedIn = generation;
    let result = fault.applyThenHang ? perform(call, route.apiVersion, body, query) : undefined;
    if (fault.delayMs !== undefined && fault.delayMs > 0) await sleep(fault.delayMs);
    if (closed || fault.reset || generation !== startedIn) {
      destroy(request, reply, call);
      return undefined;
    }
    if (fault.status !== undefined) {
      const statusBody = fault.body ?? errorBody(fault.status, STATUS_TEXT[fault.status] ?? 'Injected fault');
      return send(reply, { status: fault.status, body: statusBody }, fault.retryAfter);
    }
    result ??= perform(call, route.apiVersion, body, query);
    return send(reply, result);
  }

  // ---- HTTP -------------------------------------------------------------------------------

  const app = fastify({
    loggerInstance: options.logger,
    forceCloseConnections: true,
    genReqId: () => randomUUID(),
  });

  app.addHook('onRequest', async (request, reply) => {
    reply.header('x-request-id', request.id);
    const path = request.url.split('?')[0] ?? request.url;
    if (path.startsWith('/_sim/') || path === '/_sim') return;
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
    if (route) call.apiVersion = route.apiVersion;
    if (params.sessionId !== undefined) call.sessionId = params.sessionId;
    if (request.headers.authorization !== undefined) call.authorization = request.headers.authorization;
    if (request.headers['content-type'] !== undefined) call.contentType = request.headers['content-type'];
    callLog.push(call);
    // Trim in batches: one splice per request would make a long benchmark quadratic.
    if (callLog.length > maxCalls + Math.ceil(maxCalls / 10)) callLog.splice(0, callLog.length - maxCalls);
    callOf.set(request, call);
  });

  app.addHook('onSend', async (request, reply) => {
    const call = callOf.get(request);
    if (call) call.status = reply.statusCode;
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
    faults = [];
    resetCalls();
    secret = options.secret;
    credentialValid = true;
    activeDataShape = options.activeDataShape ?? 'array';
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
    reset,
  };
}
