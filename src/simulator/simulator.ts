import { randomUUID } from 'node:crypto';
import { fastify, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import { authorize } from './auth.js';
import { createFaults } from './faults.js';
import { asRecord, errorBody, statusText, type SimResult } from './http-shapes.js';
import { apiVersionOf, ROUTES } from './routes.js';
import { faultSchema, optionsSchema, participantSchema, sessionSchema, webhookSchema } from './schemas.js';
import type { SimCall, SimRemoveAnswer, SimStats, SimV2Claims, SimWebhook, Simulator, SimulatorOptions } from './types.js';
import { createWebhookSender, roomWants, signWebhookBody, webhookKeys, type WebhookKeys } from './webhooks.js';
import { copy, createWorld, RAW_JSON, SimNotFound } from './world.js';

export type {
  SimCall,
  SimFault,
  SimOperation,
  SimParticipantInput,
  SimRemoveAnswer,
  SimRoom,
  SimSession,
  SimSessionInput,
  SimStats,
  SimV2Claims,
  SimWebhook,
  SimWebhookDelivery,
  Simulator,
  SimulatorOptions,
} from './types.js';

/** What the official SDK types a remove answer as ("Returns a confirmation message"). */
const REMOVE_MESSAGE = 'Participant removed successfully';

/**
 * A 200 remove answer other than the session object. The `html` page echoes the request's
 * headers, as some proxies' error pages do: what the worker does with an answer it cannot read
 * must not spread them.
 */
function removeAnswer(kind: Exclude<SimRemoveAnswer, 'session'>, request: FastifyRequest): SimResult {
  switch (kind) {
    case 'message':
      return { status: 200, body: REMOVE_MESSAGE, text: true };
    case 'success-false':
      return { status: 200, body: { success: false, error: 'Participant could not be removed' } };
    case 'empty':
      return { status: 200, body: '', text: true };
    case 'html': {
      const headers = Object.entries(request.headers)
        .map(([name, value]) => `<tr><td>${name}</td><td>${String(value)}</td></tr>`)
        .join('');
      return {
        status: 200,
        text: true,
        contentType: 'text/html; charset=utf-8',
        body: `<!DOCTYPE html><html><head><title>Service unavailable</title></head><body><h1>The upstream did not answer</h1><table>${headers}</table></body></html>`,
      };
    }
  }
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

  let callLog: SimCall[] = [];
  const faults = createFaults();
  const callOf = new WeakMap<FastifyRequest, SimCall>();
  /** The token's refusal, decided in `onRequest` before routing and sent once the body is read. */
  const deniedOf = new WeakMap<FastifyRequest, SimResult>();
  // Made on first use: a 2048-bit key costs tens of milliseconds that most runs never need.
  let signingKeys: WebhookKeys | undefined = options.webhookPrivateKey === undefined ? undefined : webhookKeys(options.webhookPrivateKey);
  let webhookUrl = options.webhookUrl;
  const webhooks = createWebhookSender({ sign: (body) => signWebhookBody(body, keys().privateKey), now });

  /** Where VideoSDK sends this room's webhooks: the room's own endpoint (for the events it lists), else the simulator's. */
  function webhookTarget(webhook: SimWebhook): string | undefined {
    const roomId = webhook.data.meetingId ?? webhook.data.roomId;
    const room = typeof roomId === 'string' ? rooms.get(roomId) : undefined;
    if (room?.webhook) return roomWants(room.webhook.events, webhook.webhookType) ? room.webhook.endPoint : undefined;
    return webhookUrl;
  }

  const world = createWorld({
    now,
    url: () => url,
    activeDataShape: () => activeDataShape,
    publicKeyPem: () => keys().publicKeyPem,
    onWebhook(webhook) {
      const target = webhookTarget(webhook);
      if (target !== undefined) void webhooks.deliver(webhook, target);
    },
  });
  const { sessions, rooms, addSession, join, leave } = world;

  function stats(): SimStats {
    const byOperation: Record<string, number> = {};
    const byStatus: Record<string, number> = {};
    for (const call of callLog) {
      byOperation[call.operation] = (byOperation[call.operation] ?? 0) + 1;
      const status = String(call.status ?? 'none');
      byStatus[status] = (byStatus[status] ?? 0) + 1;
    }
    let removalsApplied = 0;
    for (const n of world.removals().values()) removalsApplied += n;
    return {
      requests: callLog.length,
      byOperation,
      byStatus,
      removalsApplied,
      removalsByParticipant: Object.fromEntries(world.removals()),
    };
  }

  function keys(): WebhookKeys {
    signingKeys ??= webhookKeys();
    return signingKeys;
  }

  function send(reply: FastifyReply, result: SimResult, retryAfter?: string): FastifyReply {
    if (retryAfter !== undefined) reply.header('retry-after', retryAfter);
    if (result.text)
      return reply
        .code(result.status)
        .type(result.contentType ?? 'text/plain; charset=utf-8')
        .send(String(result.body));
    const raw = typeof result.body === 'object' && result.body !== null ? (result.body as { [RAW_JSON]?: string })[RAW_JSON] : undefined;
    if (raw !== undefined) return reply.code(result.status).type('application/json; charset=utf-8').send(raw);
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
    const run = (): SimResult => world.perform(call, route.apiVersion, body, query, params);
    const fault = faults.take(call, request.method);
    if (!fault) return send(reply, run());

    call.faulted = true;
    const startedIn = generation;
    // An answer that does not carry the removal out (a proxy's page): the session is only read.
    const applies = !(fault.removeApplied === false && call.operation === 'remove');
    const perform = (): SimResult =>
      applies ? run() : world.perform({ ...call, operation: 'get-session' }, route.apiVersion, body, query, params);
    let result = fault.applyThenHang ? perform() : undefined;
    if (fault.delayMs !== undefined && fault.delayMs > 0) await faults.sleep(fault.delayMs);
    if (closed || fault.reset || generation !== startedIn) {
      destroy(request, reply, call);
      return undefined;
    }
    if (fault.status !== undefined) {
      const statusBody = fault.body ?? errorBody(fault.status, statusText(fault.status) ?? 'Injected fault');
      return send(reply, { status: fault.status, body: statusBody }, fault.retryAfter);
    }
    result ??= perform();
    if (fault.removeAnswer !== undefined && fault.removeAnswer !== 'session' && result.status >= 200 && result.status < 300) {
      result = removeAnswer(fault.removeAnswer, request);
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

  // A change made through the control API answers once its webhooks are sent, so a script that
  // joins someone and then looks at the worker finds the event there.
  app.post('/_sim/sessions', async (request, reply) => {
    const parsed = sessionSchema.safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    const session = addSession(parsed.data);
    await webhooks.settled();
    return reply.code(201).send(session);
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
      const session = join(request.params.id, parsed.data.participantId, parsed.data.name);
      await webhooks.settled();
      return session;
    } catch (err) {
      return notFound(reply, err);
    }
  });
  app.delete<{ Params: { id: string; participantId: string } }>(
    '/_sim/sessions/:id/participants/:participantId',
    async (request, reply) => {
      try {
        const left = leave(request.params.id, request.params.participantId);
        await webhooks.settled();
        return { left };
      } catch (err) {
        return notFound(reply, err);
      }
    },
  );
  app.get('/_sim/rooms', async () => ({ rooms: [...rooms.values()].map(copy) }));
  app.post('/_sim/faults', async (request, reply) => {
    // One schema or the other, not a union: the error then names the field that is wrong.
    const parsed = (Array.isArray(request.body) ? z.array(faultSchema) : faultSchema).safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    const list = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
    for (const fault of list) faults.add(fault);
    return reply.code(201).send({ faults: faults.count });
  });
  app.delete('/_sim/faults', async () => {
    faults.clear();
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
    if (parsed.data.webhookUrl !== undefined) webhookUrl = parsed.data.webhookUrl ?? undefined;
    return { activeDataShape, v2Claims, webhookUrl: webhookUrl ?? null };
  });
  app.post('/_sim/webhooks', async (request, reply) => {
    const parsed = webhookSchema.safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    const { url: given, ...webhook } = parsed.data;
    const delivery = await deliverWebhook(webhook, given);
    if (!delivery) {
      return reply.code(400).send({
        error: 'nowhere to send it: give "url", set one with POST /_sim/options {"webhookUrl": ...}, or create the room with a webhook',
      });
    }
    return delivery;
  });
  app.get('/_sim/webhooks', async () => ({ webhooks: webhooks.deliveries() }));
  app.delete('/_sim/webhooks', async () => {
    webhooks.clear();
    return { webhooks: 0 };
  });
  app.get('/_sim/webhooks/public-key', async (_request, reply) => reply.type('text/plain; charset=utf-8').send(keys().publicKeyPem));
  app.post('/_sim/reset', async () => {
    reset();
    return { ok: true };
  });

  function deliverWebhook(webhook: SimWebhook, given?: string) {
    const target = given ?? webhookTarget(webhook) ?? webhookUrl;
    return target === undefined ? Promise.resolve(undefined) : webhooks.deliver(webhook, target);
  }

  function resetCalls(): void {
    callLog = [];
    world.resetRemovals();
  }

  function reset(): void {
    generation += 1;
    faults.wakeSleepers();
    world.clear();
    faults.clear();
    resetCalls();
    secret = options.secret;
    credentialValid = true;
    activeDataShape = options.activeDataShape ?? 'array';
    v2Claims = options.v2Claims ?? 'strict';
    webhookUrl = options.webhookUrl;
    webhooks.clear();
  }

  return {
    async listen(port = 0, host = '127.0.0.1') {
      url = await app.listen({ port, host });
      return url;
    },
    async close() {
      closed = true;
      faults.wakeSleepers();
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
    addFault: (fault) => faults.add(fault),
    clearFaults: () => faults.clear(),
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
    signWebhook: (body) => signWebhookBody(body, keys().privateKey),
    webhookPublicKey: () => keys().publicKeyPem,
    setWebhookUrl(next) {
      webhookUrl = next;
    },
    deliverWebhook,
    webhookDeliveries: () => webhooks.deliveries(),
    webhooksSettled: () => webhooks.settled(),
    reset,
  };
}
