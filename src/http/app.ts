import { fastify, type FastifyInstance } from 'fastify';
import { InvalidEventError } from '../shared/errors.js';
import { addTokenCheck } from './auth.js';
import type { HttpDeps } from './deps.js';
import { errorResponse, REDIS_RETRY_AFTER_SECONDS, REDIS_UNREACHABLE } from './error-response.js';
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
  const onRoute = deps.onRoute;
  if (onRoute) app.addHook('onRoute', (route) => onRoute({ method: route.method, url: route.url }));
  const now = deps.now ?? Date.now;
  addTokenCheck(app, deps.apiToken);

  // Requests that need Redis answer at once while it is down, instead of waiting on the connection.
  app.addHook('onRequest', async (request, reply) => {
    const route = request.routeOptions.url;
    if (reply.sent || !deps.redisReady || deps.redisReady() || route === '/healthz' || route === '/readyz' || route === '/metrics') return;
    return reply
      .code(503)
      .header('retry-after', String(REDIS_RETRY_AFTER_SECONDS))
      .send({ error: `${REDIS_UNREACHABLE}; try again shortly`, code: 'ERR_REDIS_UNREACHABLE' });
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

  const context = { deps, now };
  registerHealthRoutes(app, context);
  await registerEventRoutes(app, context);
  registerRemovalRoutes(app, context);
  registerDeadLetterRoutes(app, context);
  registerRecordRoutes(app, context);
  registerBanRoutes(app, context);
  registerReviewRoutes(app, context);
  registerRuleRoutes(app, context);
  registerConsoleRoutes(app, context);
  await registerDashboard(app, context);
  return app;
}
