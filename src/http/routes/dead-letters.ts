import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { replayDeadLetter, viewDeadLetter } from '../../events/dead-letter-replay.js';
import type { RouteContext } from '../deps.js';
import { invalidQuery } from '../error-response.js';

const deadLettersQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

/** Events that failed for good: list them, replay one. */
export function registerDeadLetterRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  app.get('/v1/dead-letters', async (request) => {
    const parsed = deadLettersQuerySchema.safeParse(request.query);
    if (!parsed.success) throw invalidQuery('dead-letters', parsed.error.issues);
    return { deadLetters: (await deps.deadLetters.list(parsed.data.limit ?? 100)).map(viewDeadLetter) };
  });

  app.post('/v1/dead-letters/:id/replay', async (request, reply) => {
    const { id } = request.params as { id: string };
    const replayed = await replayDeadLetter(id, request.body, 'api', {
      deadLetters: deps.deadLetters,
      ingest: deps.ingest,
      audit: deps.audit,
      now,
    });
    await reply.code(202).send(replayed);
  });
}
