import { fastify, type FastifyInstance } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { InvalidEventError } from '../shared/errors.js';
import { addTokenCheck } from './auth.js';
import { createCredentials } from './credentials.js';
import type { HttpDeps } from './deps.js';
import { errorResponse, REDIS_DOWN_ANSWER, REDIS_RETRY_AFTER_SECONDS } from './error-response.js';
import { parseJsonBody } from './json-body.js';
import { registerBanRoutes } from './routes/bans.js';
import { registerConsoleRoutes } from './routes/console.js';
import { registerDashboard } from './routes/dashboard.js';
import { registerDeadLetterRoutes } from './routes/dead-letters.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes } from './routes/health.js';
import { registerRecordRoutes } from './routes/records.js';
import { registerRemovalRoutes } from './routes/removals.js';
import { registerReviewRoutes } from './routes/reviews.js';
import { registerRuleRoutes } from './routes/rules.js';
import { registerLockdownRoutes } from './routes/lockdowns.js';
import { registerPauseRoutes } from './routes/pause.js';
import { registerWhoamiRoute } from './routes/whoami.js';

/**
 * The HTTP API (fastify). `buildHttpApp` only builds: the caller listens, so tests use `inject`
 * or a port of their choice.
 */
export async function buildHttpApp(deps: HttpDeps): Promise<FastifyInstance> {
  const bodyLimit = deps.bodyLimit ?? 1024 * 1024;
  const app = fastify({
    bodyLimit,
    logger: false,
    trustProxy: false,
    // Prototype-polluting keys are refused at parse time instead of being carried along.
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  // Our own JSON parser, to say what is refused and why (fastify's calls a __proto__ key "not valid JSON").
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseJsonBody(body as string));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  // Routes declare their query, params and body as zod schemas: validated before the handler, typed
  // in it, and refused in the one error shape (each route's schemaErrorFormatter, route-input.ts).
  app.setValidatorCompiler(validatorCompiler);
  // No page or answer of the worker may be framed by another site (clickjacking the console's or
  // Bull Board's buttons): X-Frame-Options for older browsers, CSP frame-ancestors for the rest. A
  // route with a CSP of its own (the console) includes frame-ancestors in it.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('content-security-policy')) reply.header('content-security-policy', "frame-ancestors 'none'");
    return payload;
  });
  const onRoute = deps.onRoute;
  if (onRoute) app.addHook('onRoute', (route) => onRoute({ method: route.method, url: route.url }));
  const now = deps.now ?? Date.now;
  const credentials = createCredentials({ apiToken: deps.apiToken, tokens: deps.tokens });
  addTokenCheck(app, credentials);

  // Requests that need Redis answer at once while it is down, instead of waiting on the connection.
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (
      reply.sent ||
      !deps.redisReady ||
      deps.redisReady() ||
      route === '/healthz' ||
      route === '/readyz' ||
      route === '/metrics' ||
      route === '/v1/whoami'
    )
      return;
    return reply.code(REDIS_DOWN_ANSWER.status).header('retry-after', String(REDIS_RETRY_AFTER_SECONDS)).send(REDIS_DOWN_ANSWER.body);
  });

  app.setErrorHandler(async (err: unknown, request, reply) => {
    const { status, body } = errorResponse(err, bodyLimit);
    if (status === 503) reply.header('retry-after', String(REDIS_RETRY_AFTER_SECONDS));
    if (err instanceof InvalidEventError) deps.metrics.invalidEvents.inc({ source: 'http' });
    if (status >= 500 && status !== 503)
      deps.logger.error({ err, method: request.method, url: request.url.split('?')[0] }, 'request failed');
    await reply.code(status).send(body);
  });
  app.setNotFoundHandler(async (request, reply) => {
    await reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  const context = { deps, now, credentials };
  registerHealthRoutes(app, context);
  registerWhoamiRoute(app);
  await registerEventRoutes(app, context);
  registerRemovalRoutes(app, context);
  registerDeadLetterRoutes(app, context);
  registerRecordRoutes(app, context);
  registerBanRoutes(app, context);
  registerReviewRoutes(app, context);
  registerRuleRoutes(app, context);
  registerLockdownRoutes(app, context);
  registerPauseRoutes(app, context);
  registerConsoleRoutes(app, context);
  await registerDashboard(app, context);
  return app;
}
