import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { InvalidEventError, TooManyEventsError } from '../../shared/errors.js';
import { parseEvent, parseEvents } from '../../shared/event-schema.js';
import { createSignatureVerifier, mapWebhook, nothingToModerate, webhookEventId, type WebhookIgnoreReason } from '../../events/webhook.js';
import { sha256 } from '../credentials.js';
import { roleAllows } from '../roles.js';
import type { RouteContext } from '../deps.js';
import { InvalidJsonBodyError, parseJsonBody } from '../json-body.js';

/** What the webhook reads of its query: the token, when the URL carries it (any value a query can hold, so nothing is refused before the token check). */
const webhookQuerySchema = z.object({ token: z.union([z.string(), z.array(z.string())]).optional() });

/** `POST /v1/events` and the VideoSDK webhook: both put events on the queue. */
export async function registerEventRoutes(app: FastifyInstance, { deps, now, credentials }: RouteContext): Promise<void> {
  const ingestMaxEvents = deps.ingestMaxEvents ?? 1000;
  const verifySignature = deps.webhookPublicKey ? createSignatureVerifier(deps.webhookPublicKey) : undefined;
  // A leaked webhook URL must not be able to queue removals: with its own token, the webhook takes
  // only that one, and that one opens nothing else (it never equals another token; config checks).
  // Without one it takes any token whose role puts events in (ingest, admin: AUTOMOD_API_TOKEN).
  const webhookDigest = deps.webhookToken ? sha256(deps.webhookToken) : undefined;
  const webhookTokenMatches = (token: string): boolean => {
    if (webhookDigest) return timingSafeEqual(sha256(token), webhookDigest);
    const caller = credentials.identify(token);
    return caller !== undefined && roleAllows(caller.role, 'ingest');
  };
  const webhookNeedsToken = webhookDigest !== undefined || credentials.required;
  // Once per reason and process: the counter tells how many, the log only that it happens.
  const ignoredLogged = new Set<WebhookIgnoreReason>();

  // The body is read by parseEvents, after a count that must come before any validation.
  app.post('/v1/events', async (request, reply) => {
    // Counted before anything is validated: a huge batch of junk costs no more than its parse.
    if (Array.isArray(request.body) && request.body.length > ingestMaxEvents)
      throw new TooManyEventsError(request.body.length, ingestMaxEvents);
    const events = parseEvents(request.body, new Date(now()));
    const result = await deps.ingest.ingest(events);
    await reply.code(202).send(result);
  });

  // The webhook needs the raw bytes: VideoSDK signs the body exactly as sent, whatever its content
  // type (its SDK verifies the raw bytes), so every type, or none, is read as bytes here.
  await app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope
      .withTypeProvider<ZodTypeProvider>()
      .post('/v1/webhooks/videosdk', { schema: { querystring: webhookQuerySchema } }, async (request, reply) => {
        const raw = Buffer.isBuffer(request.body) ? request.body : Buffer.from('');
        if (verifySignature) {
          const header = request.headers['videosdk-signature'];
          verifySignature(raw, Array.isArray(header) ? header[0] : header);
        } else if (webhookNeedsToken) {
          const { token } = request.query;
          const header = request.headers.authorization;
          const given = [
            typeof token === 'string' ? token : undefined,
            /^Bearer /i.test(header ?? '') ? header!.slice(7).trim() : undefined,
          ];
          if (!given.some((token) => token !== undefined && webhookTokenMatches(token))) {
            await reply.code(401).send({
              error: deps.webhookToken
                ? 'a valid webhook token is required (AUTOMOD_WEBHOOK_TOKEN as ?token= or bearer)'
                : 'a valid API token is required (a token with role ingest or admin, as bearer or ?token=)',
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
        const mapped = mapWebhook(body);
        const ignored = nothingToModerate(mapped);
        if (ignored) {
          deps.metrics.webhooksIgnored.inc({ reason: ignored.reason });
          if (!ignoredLogged.has(ignored.reason)) {
            ignoredLogged.add(ignored.reason);
            deps.logger.info(
              { reason: ignored.reason, webhookType: String(mapped.type).slice(0, 100) },
              'webhook ignored: it carries nothing to moderate (counted in automod_webhooks_ignored_total; logged once per reason)',
            );
          }
          await reply.code(200).send({ ignored: true, ...ignored });
          return;
        }
        // Replays and redeliveries of one webhook are one event: its id is the digest of its bytes,
        // plus, for joins and leaves, how many of the other kind came before (a rejoin is new).
        const event = parseEvent({ ...mapped, id: webhookEventId(raw) }, new Date(now()));
        if (deps.presence) event.id = await deps.presence.webhookId(event.id, event);
        const result = await deps.ingest.ingest([event]);
        await reply.code(202).send(result);
      });
  });
}
