import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NotFoundError } from '../../shared/errors.js';
import { decisionBodySchema } from '../../removals/review-decisions.js';
import { REVIEW_STATES } from '../../store/reviews.js';
import { actorOf } from '../auth.js';
import type { RouteContext } from '../deps.js';
import { bodyOrEmpty, invalidInput } from '../route-input.js';

const listQuerySchema = z.strictObject({
  state: z.enum(REVIEW_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

const idParams = z.object({ id: z.string() });

/** The review queue: items a `review` rule held for a moderator, and their decisions. */
export function registerReviewRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const { reviews, decisions } = deps;
  if (!reviews || !decisions) return;
  const api = app.withTypeProvider<ZodTypeProvider>();

  api.get('/v1/reviews', { schema: { querystring: listQuerySchema }, schemaErrorFormatter: invalidInput('reviews') }, async (request) => ({
    reviews: await reviews.list({ ...request.query }, now()),
  }));

  api.get('/v1/reviews/:id', { schema: { params: idParams } }, async (request) => {
    const { id } = request.params;
    const item = await reviews.get(id, now());
    if (!item) throw new NotFoundError(`no review item ${id}`);
    return item;
  });

  for (const action of ['approve', 'dismiss'] as const) {
    api.post(
      `/v1/reviews/:id/${action}`,
      {
        schema: { params: idParams, body: bodyOrEmpty(decisionBodySchema) },
        schemaErrorFormatter: invalidInput('decision', 'the body takes "note" and "ban"'),
      },
      async (request) =>
        decisions.decide(request.params.id, action, { note: request.body.note, ban: request.body.ban, by: actorOf(request) }),
    );
  }
}
