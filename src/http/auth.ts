import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { CONSOLE } from './routes/console.js';
import { DASHBOARD } from './routes/dashboard.js';

/** Digests compared in constant time: equal lengths whatever the token given. */
export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * Requires `AUTOMOD_API_TOKEN` (when set) on every route but the probes and the webhook, which
 * checks its own credential.
 */
export function addTokenCheck(app: FastifyInstance, apiToken: string | undefined): void {
  const tokenDigest = apiToken ? sha256(apiToken) : undefined;

  const tokenMatches = (given: string | undefined): boolean =>
    given !== undefined && tokenDigest !== undefined && timingSafeEqual(sha256(given), tokenDigest);
  const bearerMatches = (request: FastifyRequest): boolean => {
    if (!tokenDigest) return true;
    const header = request.headers.authorization;
    return tokenMatches(/^Bearer /i.test(header ?? '') ? header!.slice(7).trim() : undefined);
  };
  // A browser cannot send a bearer token to the dashboard: it also takes HTTP Basic with the API
  // token as the password (any user name), which the browser asks for once and then resends.
  const basicMatches = (request: FastifyRequest): boolean => {
    const header = request.headers.authorization;
    if (!/^Basic /i.test(header ?? '')) return false;
    const decoded = Buffer.from(header!.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && tokenMatches(decoded.slice(colon + 1));
  };

  // Decided on the matched route, not the raw URL, so no spelling of a path slips past.
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === '/healthz' || route === '/readyz' || route === '/v1/webhooks/videosdk' || !tokenDigest) return;
    // The console's page and files hold no data: they show a sign-in form, and every data call carries the token.
    if (route === CONSOLE || route === `${CONSOLE}/:file`) return;
    const dashboard = route !== undefined && (route === DASHBOARD || route.startsWith(`${DASHBOARD}/`));
    if (bearerMatches(request) || (dashboard && basicMatches(request))) return;
    await reply
      .code(401)
      .header('www-authenticate', dashboard ? 'Basic realm="automod dashboard", charset="UTF-8"' : 'Bearer realm="automod"')
      .send({
        error: dashboard
          ? 'a valid API token is required: Authorization: Bearer <AUTOMOD_API_TOKEN>, or in a browser any user name with the token as password'
          : 'a valid API token is required (Authorization: Bearer <AUTOMOD_API_TOKEN>)',
      });
  });
}
