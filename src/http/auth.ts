import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ForbiddenError } from '../shared/errors.js';
import type { Caller, Credentials } from './credentials.js';
import { roleAllows, type Access } from './roles.js';
import { accessOf } from './route-roles.js';
import { DASHBOARD } from './routes/dashboard.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Who called, set by the token check before the route runs; null on open routes and on an API without credentials. */
    caller: Caller | null;
  }
}

/** What an action a request makes records as its actor: `token:<name>`, or `api` on an API that takes no token. */
export function actorOf(request: FastifyRequest): string {
  return request.caller ? `token:${request.caller.name}` : 'api';
}

function bearerOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  return /^Bearer /i.test(header ?? '') ? header!.slice(7).trim() : undefined;
}

/** The password of HTTP Basic (any user name): how a browser sends a token to Bull Board. */
function basicPasswordOf(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (!/^Basic /i.test(header ?? '')) return undefined;
  const decoded = Buffer.from(header!.slice(6).trim(), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon >= 0 ? decoded.slice(colon + 1) : undefined;
}

const isDashboard = (route: string | undefined) => route !== undefined && (route === DASHBOARD || route.startsWith(`${DASHBOARD}/`));

/**
 * Every route asks for the access its row of `ROUTE_ROLES` gives it; a route without a row is
 * refused when it is registered, so none can be served unguarded. On each request, before any
 * route work: an unknown token is a 401, a known one whose role does not reach the route a 403
 * naming the role needed. The webhook checks its own credential; the probes and the console's
 * files are open.
 */
export function addTokenCheck(app: FastifyInstance, credentials: Credentials): void {
  app.decorateRequest('caller', null);
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat())
      if (accessOf(method, route.url) === undefined)
        throw new Error(`${method} ${route.url} has no row in ROUTE_ROLES (src/http/route-roles.ts): say which role may call it`);
  });

  // Decided on the matched route, not the raw URL, so no spelling of a path slips past.
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    // An unknown path needs a known token (of any role) before it learns that nothing is there.
    const access: Access = route === undefined ? 'any' : (accessOf(request.method, route) ?? 'admin');
    if (access === 'open' || access === 'webhook' || !credentials.required) return;
    // A browser cannot send a bearer token to Bull Board: it takes HTTP Basic with the token as the
    // password too, which the browser asks for once and then resends.
    const dashboard = isDashboard(route);
    const caller = credentials.identify(bearerOf(request)) ?? (dashboard ? credentials.identify(basicPasswordOf(request)) : undefined);
    if (!caller) {
      await reply
        .code(401)
        .header('www-authenticate', dashboard ? 'Basic realm="automod dashboard", charset="UTF-8"' : 'Bearer realm="automod"')
        .send({
          error: dashboard
            ? 'a valid API token is required: Authorization: Bearer <token>, or in a browser any user name with the token as password'
            : 'a valid API token is required (Authorization: Bearer <token>: AUTOMOD_API_TOKEN or one of AUTOMOD_TOKENS_FILE)',
        });
      return;
    }
    if (!roleAllows(caller.role, access)) {
      throw new ForbiddenError(
        `token "${caller.name}" has role ${caller.role}: ${request.method} ${route} needs role ${access} (or one that includes it)`,
        access,
      );
    }
    request.caller = caller;
  });
}
