import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { NotFoundError } from '../../shared/errors.js';
import { parseTime } from '../../shared/parse-time.js';
import type { RouteContext } from '../deps.js';
import { invalidQuery } from '../error-response.js';

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

/** What was recorded: a session as last read from VideoSDK, the audit trail. */
export function registerRecordRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  app.get('/v1/sessions/:id', async (request) => {
    const { id } = request.params as { id: string };
    const recorded = await deps.sessions.get(id);
    if (!recorded) throw new NotFoundError(`nothing is recorded for session ${id}`);
    return recorded;
  });

  app.get('/v1/audit', async (request) => {
    const parsed = auditQuerySchema.safeParse(request.query);
    if (!parsed.success) throw invalidQuery('audit', parsed.error.issues);
    const { since, until, ...rest } = parsed.data;
    const records = await deps.audit.query({
      ...rest,
      ...(since !== undefined ? { since: parseTime(since, 'since', now()) } : {}),
      ...(until !== undefined ? { until: parseTime(until, 'until', now()) } : {}),
    });
    return { records };
  });
}
