import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { replayDeadLetter, viewDeadLetter } from '../../events/dead-letter-replay.js';
import { actorOf } from '../auth.js';
import type { RouteContext } from '../deps.js';
import { invalidInput } from '../route-input.js';

const deadLettersQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

const idParams = z.object({ id: z.string() });

/** Events that failed for good: list them, replay one. */
export function registerDeadLetterRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get(
    '/v1/dead-letters',
    { schema: { querystring: deadLettersQuerySchema }, schemaErrorFormatter: invalidInput('dead-letters') },
    async (request) => ({ deadLetters: (await deps.deadLetters.list(request.query.limit ?? 100)).map(viewDeadLetter) }),
  );

  // The body is the corrected event: replayDeadLetter validates it as every ingest path does.
  api.post('/v1/dead-letters/:id/replay', { schema: { params: idParams } }, async (request, reply) => {
    const { id } = request.params;
    const replayed = await replayDeadLetter(id, request.body, actorOf(request), {
      deadLetters: deps.deadLetters,
      ingest: deps.ingest,
      audit: deps.audit,
      now,
    });
    await reply.code(202).send(replayed);
  });
}
