import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError, UsageError, issueProblems } from '../../shared/errors.js';
import { decisionBodySchema } from '../../removals/review-decisions.js';
import { REVIEW_STATES } from '../../store/reviews.js';
import type { RouteContext } from '../deps.js';
import { invalidQuery } from '../error-response.js';

const listQuerySchema = z.strictObject({
  state: z.enum(REVIEW_STATES).optional(),
  limit: z.coerce.number().int().min(1).max(1000).optional(),
});

/** The review queue: items a `review` rule held for a moderator, and their decisions. */
export function registerReviewRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const { reviews, decisions } = deps;
  if (!reviews || !decisions) return;

  app.get('/v1/reviews', async (request) => {
    const parsed = listQuerySchema.safeParse(request.query);
    if (!parsed.success) throw invalidQuery('reviews', parsed.error.issues);
    return { reviews: await reviews.list({ ...parsed.data }, now()) };
  });

  app.get('/v1/reviews/:id', async (request) => {
    const { id } = request.params as { id: string };
    const item = await reviews.get(id, now());
    if (!item) throw new NotFoundError(`no review item ${id}`);
    return item;
  });

  for (const action of ['approve', 'dismiss'] as const) {
    app.post(`/v1/reviews/:id/${action}`, async (request) => {
      const { id } = request.params as { id: string };
      const parsed = decisionBodySchema.safeParse(request.body ?? {});
      if (!parsed.success)
        throw new UsageError(
          `invalid decision: ${issueProblems(parsed.error.issues)
            .map((p) => `${p.path}: ${p.message}`)
            .join('; ')} (the body takes "note", "ban" and "by")`,
        );
      const { by, ...rest } = parsed.data;
      return decisions.decide(id, action, { ...rest, by: by ? `moderator:${by}` : 'api' });
    });
  }
}
