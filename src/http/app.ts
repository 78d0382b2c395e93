import { createHash, timingSafeEqual } from 'node:crypto';
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { fastify, type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  AutomodError,
  InvalidEventError,
  InvalidRemovalError,
  NotFoundError,
  UsageError,
  WebhookSignatureError,
  type Problem,
  QueueAddError,
  issueProblems,
} from '../errors.js';
import { replayDeadLetter, viewDeadLetter } from '../events/dead-letter-replay.js';
import { parseEvent, parseEvents } from '../events/event-schema.js';
import type { Ingest } from '../events/ingest.js';
import type { Presence } from '../store/presence.js';
import { createSignatureVerifier, mapWebhook, webhookEventId } from '../events/webhook.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { parseTime } from '../parse-time.js';
import type { Queues } from '../events/queues.js';
import { describeJob, JOB_STATES, listJobs } from '../removals/job-view.js';
import { parseRemovalsBody, requestRemovals } from '../removals/bulk.js';
import { replayRemovals, replayFilterSchema } from '../removals/replay.js';
import type { RemovalRequester } from '../removals/removal-requester.js';
import type { RulesRuntime } from '../rules/rules-runtime.js';
import type { AuditStore } from '../store/audit.js';
import type { DeadLetters } from '../store/dead-letter.js';
import type { JobOutcomeStore } from '../store/job-outcomes.js';
import type { PauseState } from '../store/pause-state.js';
import type { RemovalClaims } from '../store/removal-claims.js';
import { isRedisConnectionError, type RedisClient } from '../store/redis.js';
import type { SessionStore } from '../store/session-store.js';
import type { VideoSdkClient } from '../videosdk/client.js';
import { offlineDashboardViews } from './dashboard-views.js';
import { InvalidJsonBodyError, parseJsonBody } from './json-body.js';

export interface HttpDeps {
  apiToken: string | undefined;
  /** The webhook's own credential; when unset the API token is taken on the webhook route. */
  webhookToken?: string | undefined;
  webhookPublicKey: string | undefined;
  /** Most events one `POST /v1/events` may carry (default 1000); checked before any validation. */
  ingestMaxEvents?: number;
  redis: RedisClient;
  queues: Queues;
  ingest: Ingest;
  /** Presence-aware webhook ids (a rejoin's byte-identical join is not a duplicate). */
  presence?: Presence | undefined;
  requester: RemovalRequester;
  claims: RemovalClaims;
  client: VideoSdkClient;
  outcomes: JobOutcomeStore;
  sessions: SessionStore;
  audit: AuditStore;
  deadLetters: DeadLetters;
  pause: PauseState;
  /** Absent in a removals-only process, which decides nothing. */
  rules?: RulesRuntime | undefined;
  metrics: Metrics;
  logger: Logger;
  /** Largest accepted body (default 1 MB). */
  bodyLimit?: number;
  /** Told about every route as it is registered (the dashboard's too): lets tests reach them all. */
  onRoute?: (route: { method: string | string[]; url: string }) => void;
  now?: () => number;
  /** Whether the Redis connections are up right now: requests fail fast (503) when not. */
  redisReady?: () => boolean;
  /** Reasons the process is not ready besides Redis, pause and rules (starting, no credential). */
  notReady?: () => readonly string[];
}

/** Seconds a client is told to wait (Retry-After) when Redis is unreachable. */
const REDIS_RETRY_AFTER_SECONDS = 5;
const REDIS_UNREACHABLE = 'Redis is unreachable';

/** Where Bull Board is served. */
export const DASHBOARD = '/admin/queues';

const jobsQuerySchema = z.object({
  state: z.enum(JOB_STATES).optional(),
  sessionId: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

const deadLettersQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

const auditQuerySchema = z.object({
  sessionId: z.string().max(200).optional(),
  participantId: z.string().max(200).optional(),
  rule: z.string().max(200).optional(),
  mode: z.enum(['enforce', 'shadow']).optional(),
  kind: z.string().max(50).optional(),
  outcome: z.string().max(50).optional(),
  since: z.string().optional(),
  until: z.string().optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

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
  const tokenDigest = deps.apiToken ? sha256(deps.apiToken) : undefined;
  // A leaked webhook URL must not be able to queue removals: with its own token, the webhook takes
  // only that one, and that one opens nothing else (it never equals the API token; config checks).
  const webhookDigest = deps.webhookToken ? sha256(deps.webhookToken) : tokenDigest;
  const ingestMaxEvents = deps.ingestMaxEvents ?? 1000;
  const verifySignature = deps.webhookPublicKey ? createSignatureVerifier(deps.webhookPublicKey) : undefined;

  const tokenMatches = (given: string | undefined): boolean => given !== undefined && tokenDigest !== undefined && timingSafeEqual(sha256(given), tokenDigest);
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
    if (status >= 500 && status !== 503) deps.logger.error({ err, method: request.method, url: request.url.split('?')[0] }, 'request failed');
    await reply.code(status).send(body);
  });
  app.setNotFoundHandler(async (request, reply) => {
    await reply.code(404).send({ error: `no route ${request.method} ${request.url.split('?')[0]}` });
  });

  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const reasons: string[] = [...(deps.notReady?.() ?? [])];
    let paused: Awaited<ReturnType<PauseState['get']>>;
    let rateLimitedUntil: string | undefined;
    try {
      if (deps.redisReady && !deps.redisReady()) throw new Error(REDIS_UNREACHABLE);
      await withTimeout(deps.redis.ping(), 1000);
      paused = await withTimeout(deps.pause.get(), 1000);
      if (paused) reasons.push(`removals paused (${paused.kind}): ${paused.reason}`);
      else if (await withTimeout(deps.queues.removals.isPaused(), 1000)) {
        reasons.push('removals paused: the removals queue is paused without a recorded reason (from the dashboard?); automod resume starts it');
      }
      // Removals are not running while VideoSDK's Retry-After holds them: not ready until it ends.
      const until = await withTimeout(deps.pause.rateLimitedUntil(now()), 1000);
      if (until !== undefined) {
        rateLimitedUntil = new Date(until).toISOString();
        reasons.push(`removals rate-limited by VideoSDK until ${rateLimitedUntil}`);
      }
    } catch {
      reasons.push(REDIS_UNREACHABLE);
    }
    const rules = deps.rules?.status();
    if (deps.rules && rules?.version === undefined) reasons.push('no valid rule set has been loaded');
    if (rules?.emptyPolicy) reasons.push(`${rules.emptyPolicy} (set AUTOMOD_ALLOW_EMPTY_RULES=true if that is intended)`);
    const body = {
      status: reasons.length === 0 ? 'ready' : 'unavailable',
      reasons,
      ...(paused ? { paused } : {}),
      ...(rateLimitedUntil ? { rateLimitedUntil } : {}),
      ...(rules ? { rules } : {}),
    };
    await reply.code(reasons.length === 0 ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    await reply.header('content-type', deps.metrics.registry.contentType).send(text);
  });

  app.post('/v1/events', async (request, reply) => {
    // Counted before anything is validated: a huge batch of junk costs no more than its parse.
    if (Array.isArray(request.body) && request.body.length > ingestMaxEvents) {
      await reply.code(413).send({
        error: `too many events in one request: ${request.body.length}, at most ${ingestMaxEvents} (AUTOMOD_INGEST_MAX_EVENTS); send smaller batches`,
        code: 'ERR_TOO_MANY_EVENTS',
      });
      return;
    }
    const events = parseEvents(request.body, new Date(now()));
    const result = await deps.ingest.ingest(events);
    await reply.code(202).send(result);
  });

  // The webhook needs the raw bytes: VideoSDK signs the body exactly as sent, whatever its content
  // type (its SDK verifies the raw bytes), so every type, or none, is read as bytes here.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.post('/v1/webhooks/videosdk', async (request, reply) => {
      const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.from('');
      if (verifySignature) {
        const header = request.headers['videosdk-signature'];
        verifySignature(raw, Array.isArray(header) ? header[0] : header);
      } else if (webhookDigest) {
        const query = request.query as Record<string, unknown>;
        const header = request.headers.authorization;
        const given = [typeof query.token === 'string' ? query.token : undefined, /^Bearer /i.test(header ?? '') ? header!.slice(7).trim() : undefined];
        if (!given.some((token) => token !== undefined && timingSafeEqual(sha256(token), webhookDigest))) {
          await reply.code(401).send({
            error: deps.webhookToken
              ? 'a valid webhook token is required (AUTOMOD_WEBHOOK_TOKEN as ?token= or bearer)'
              : 'a valid API token is required (bearer or ?token=)',
          });
          return;
        }
      }
      let body: unknown;
      try {
        body = parseJsonBody(raw.toString('utf8'));
      } catch (err) {
        if (!(err instanceof InvalidJsonBodyError)) throw err;
        throw new InvalidEventError([{ path: '$', message: err.message }]);
      }
      // Replays and redeliveries of one webhook are one event: its id is the digest of its bytes,
      // plus, for joins and leaves, how many of the other kind came before (a rejoin is new).
      const event = parseEvent({ ...mapWebhook(body), id: webhookEventId(raw) }, new Date(now()));
      if (deps.presence) event.id = await deps.presence.webhookId(event.id, event);
      const result = await deps.ingest.ingest([event]);
      await reply.code(202).send(result);
    });
  });

  app.post('/v1/removals', async (request, reply) => {
    const body = parseRemovalsBody(request.body);
    const result = await requestRemovals(body, { requester: deps.requester, client: deps.client, requestedBy: 'api' });
    await reply.code(202).send({ jobs: result.jobs.map((j) => j.jobId), details: result.jobs, skipped: result.skipped });
  });

  app.get('/v1/jobs', async (request) => {
    const parsed = jobsQuerySchema.safeParse(request.query);
    if (!parsed.success) throw new UsageError(`invalid jobs query: ${issueProblems(parsed.error.issues).map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    return listJobs(deps.queues.removals, deps.outcomes, { state: parsed.data.state, sessionId: parsed.data.sessionId, limit: parsed.data.limit ?? 100 });
  });

  app.get('/v1/jobs/:id', async (request) => {
    const { id } = request.params as { id: string };
    const view = await describeJob(deps.queues, deps.outcomes, id);
    if (!view) throw new NotFoundError(`no job ${id}`);
    return view;
  });

  app.post('/v1/replay', async (request) => {
    const parsed = replayFilterSchema.safeParse(request.body ?? {});
    if (!parsed.success) throw new InvalidRemovalError(issueProblems(parsed.error.issues));
    return replayRemovals(parsed.data, { queue: deps.queues.removals, claims: deps.claims, outcomes: deps.outcomes, audit: deps.audit, requestedBy: 'api', now });
  });

  app.get('/v1/dead-letters', async (request) => {
    const parsed = deadLettersQuerySchema.safeParse(request.query);
    if (!parsed.success) throw new UsageError(`invalid dead-letters query: ${issueProblems(parsed.error.issues).map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    return { deadLetters: (await deps.deadLetters.list(parsed.data.limit ?? 100)).map(viewDeadLetter) };
  });

  app.post('/v1/dead-letters/:id/replay', async (request, reply) => {
    const { id } = request.params as { id: string };
    const replayed = await replayDeadLetter(id, request.body, 'api', { deadLetters: deps.deadLetters, ingest: deps.ingest, audit: deps.audit, now });
    await reply.code(202).send(replayed);
  });

  app.get('/v1/sessions/:id', async (request) => {
    const { id } = request.params as { id: string };
    const recorded = await deps.sessions.get(id);
    if (!recorded) throw new NotFoundError(`nothing is recorded for session ${id}`);
    return recorded;
  });

  app.get('/v1/audit', async (request) => {
    const parsed = auditQuerySchema.safeParse(request.query);
    if (!parsed.success) throw new UsageError(`invalid audit query: ${issueProblems(parsed.error.issues).map((p) => `${p.path}: ${p.message}`).join('; ')}`);
    const { since, until, ...rest } = parsed.data;
    const records = await deps.audit.query({
      ...rest,
      ...(since !== undefined ? { since: parseTime(since, 'since', now()) } : {}),
      ...(until !== undefined ? { until: parseTime(until, 'until', now()) } : {}),
    });
    return { records };
  });

  const board = new FastifyAdapter();
  board.setBasePath(DASHBOARD);
  createBullBoard({
    queues: [
      new BullMQAdapter(deps.queues.events, { description: 'meeting events waiting for the rules' }),
      new BullMQAdapter(deps.queues.removals, {
        description: 'remove-participant calls to VideoSDK; paused = removals stopped (see /readyz for why); replay failed ones with automod replay',
      }),
    ],
    serverAdapter: board,
    options: { uiConfig: { boardTitle: 'meeting-automod' } },
  });
  board.setViewsPath(await offlineDashboardViews());
  await app.register(board.registerPlugin(), { prefix: DASHBOARD });

  return app;
}

/** Problems listed in a 400 answer; the rest are only counted (`moreProblems`). */
const MAX_PROBLEMS = 20;

/** One mapping from our errors to HTTP answers; never a stack trace. */
function errorResponse(
  err: unknown,
  bodyLimit: number,
): { status: number; body: { error: string; code?: string; details?: readonly Problem[]; moreProblems?: number } } {
  if (err instanceof InvalidEventError || err instanceof InvalidRemovalError) {
    // A body of junk must not buy an answer many times its size: each problem is said once (in
    // details, unless it is the only one), and only the first few of them.
    const count = err.problems.length;
    const kind = err instanceof InvalidEventError ? 'invalid event' : 'invalid removal';
    return {
      status: 400,
      body: {
        error: count === 1 ? err.message : `${kind}: ${count} problems, the first ${Math.min(count, MAX_PROBLEMS)} listed in details`,
        code: err.code,
        details: err.problems.slice(0, MAX_PROBLEMS),
        ...(count > MAX_PROBLEMS ? { moreProblems: count - MAX_PROBLEMS } : {}),
      },
    };
  }
  if (err instanceof UsageError) return { status: 400, body: { error: err.message, code: err.code } };
  if (err instanceof WebhookSignatureError) return { status: 401, body: { error: err.message, code: err.code } };
  if (err instanceof NotFoundError) return { status: 404, body: { error: err.message, code: err.code } };
  if (err instanceof QueueAddError) return { status: 503, body: { error: err.message, code: err.code } };
  if (isRedisConnectionError(err)) return { status: 503, body: { error: `${REDIS_UNREACHABLE}; try again shortly`, code: 'ERR_REDIS_UNREACHABLE' } };
  if (err instanceof AutomodError && err.code.startsWith('ERR_VIDEOSDK')) {
    return { status: 502, body: { error: err.message, code: err.code } };
  }
  const fastifyError = err as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const message =
      status === 413
        ? `request body is larger than the limit (${formatBytes(bodyLimit)})`
        : status === 415
          ? 'unsupported content type: send JSON with Content-Type: application/json'
          : `bad request: ${fastifyError.message ?? 'invalid request'}`;
    return { status, body: { error: message, ...(fastifyError.code ? { code: fastifyError.code } : {}) } };
  }
  return { status: 500, body: { error: 'internal error; see the worker log' } };
}


function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB` : `${Math.round(bytes / 1024)} KB`;
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

