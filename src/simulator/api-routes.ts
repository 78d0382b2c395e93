import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { authorize, type AuthContext } from './auth.js';
import type { createFaults } from './faults.js';
import { asRecord, errorBody, statusText, type SimResult } from './http-shapes.js';
import { apiVersionOf, ROUTES } from './routes.js';
import type { SimCall, SimRemoveAnswer } from './types.js';
import type { World } from './world.js';
import { RAW_JSON } from './world-views.js';

/** What the API routes need of the simulator. */
export interface ApiRoutesOptions {
  world: Pick<World, 'perform'>;
  faults: ReturnType<typeof createFaults>;
  now: () => number;
  /** Adds a call to the call log. */
  record(call: SimCall): void;
  /** The token check's settings as they stand (the secret and the credential change at run time). */
  auth(): AuthContext;
  /** Whether the simulator is closing: a request held by a fault's delay then has its connection reset. */
  closed(): boolean;
  /** Bumped by a reset: a request held by a fault's delay across one is dropped, not applied to new state. */
  generation(): number;
}

/** What the official SDK types a remove answer as ("Returns a confirmation message"). */
const REMOVE_MESSAGE = 'Participant removed successfully';

/**
 * The simulated VideoSDK API over HTTP: every request outside `/_sim/` is logged as a call, its
 * token checked before routing (as VideoSDK does), an injected fault applied when one matches,
 * and the world's answer sent.
 */
export function registerApiRoutes(app: FastifyInstance, options: ApiRoutesOptions): void {
  const { world, faults, now } = options;
  const callOf = new WeakMap<FastifyRequest, SimCall>();
  /** The token's refusal, decided in `onRequest` before routing and sent once the body is read. */
  const deniedOf = new WeakMap<FastifyRequest, SimResult>();

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
    if (denied) return sendResult(reply, denied);
    call.authorized = true;

    const query = (request.query ?? {}) as Record<string, string | undefined>;
    const params = (request.params ?? {}) as Record<string, string | undefined>;
    const run = (): SimResult => world.perform(call, route.apiVersion, body, query, params);
    const fault = faults.take(call, request.method);
    if (!fault) return sendResult(reply, run());

    call.faulted = true;
    const startedIn = options.generation();
    // An answer that does not carry the removal out (a proxy's page): the session is only read.
    const applies = !(fault.removeApplied === false && call.operation === 'remove');
    const perform = (): SimResult =>
      applies ? run() : world.perform({ ...call, operation: 'get-session' }, route.apiVersion, body, query, params);
    let result = fault.applyThenHang ? perform() : undefined;
    if (fault.delayMs !== undefined && fault.delayMs > 0) await faults.sleep(fault.delayMs);
    if (options.closed() || fault.reset || options.generation() !== startedIn) {
      destroy(request, reply, call);
      return undefined;
    }
    if (fault.status !== undefined) {
      const statusBody = fault.body ?? errorBody(fault.status, statusText(fault.status) ?? 'Injected fault');
      return sendResult(reply, { status: fault.status, body: statusBody }, fault.retryAfter);
    }
    result ??= perform();
    if (fault.removeAnswer !== undefined && fault.removeAnswer !== 'session' && result.status >= 200 && result.status < 300) {
      result = removeAnswer(fault.removeAnswer, request);
    }
    return sendResult(reply, result);
  }

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
    options.record(call);
    callOf.set(request, call);
    // The token is checked before the route matters, as VideoSDK does: a bad token gets 401/403 on
    // every path, known or not, and only an accepted one learns that a path does not exist.
    const denied = await authorize(request.headers.authorization, options.auth(), { operation: call.operation, apiVersion });
    if (denied) deniedOf.set(request, denied);
  });

  app.addHook('onSend', async (request, reply) => {
    const call = callOf.get(request);
    if (call) call.status = reply.statusCode;
  });

  app.setNotFoundHandler((request, reply) => {
    const denied = deniedOf.get(request);
    if (denied) return sendResult(reply, denied);
    const call = callOf.get(request);
    if (call) call.authorized = true;
    return reply.code(404).send(errorBody(404, 'Route not found'));
  });

  app.setErrorHandler((error: { statusCode?: number; message: string }, request, reply) => {
    // A body that does not parse must not tell a caller without a valid token more than a 401.
    const denied = deniedOf.get(request);
    if (denied) return sendResult(reply, denied);
    const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 600 ? error.statusCode : 500;
    return reply.code(status).send(errorBody(status, status === 500 ? 'Internal error' : error.message));
  });

  for (const key of Object.keys(ROUTES)) {
    const [method, path] = key.split(' ') as ['GET' | 'POST', string];
    app.route({ method, url: path, handler: handleApi });
  }
}

function sendResult(reply: FastifyReply, result: SimResult, retryAfter?: string): FastifyReply {
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
