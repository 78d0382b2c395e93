import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NotFoundError } from '../../shared/errors.js';
import { parseTime } from '../../shared/parse-time.js';
import type { RouteContext } from '../deps.js';
import { invalidInput } from '../route-input.js';

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

const idParams = z.object({ id: z.string() });

/** What was recorded: a session as last read from VideoSDK, the audit trail. */
export function registerRecordRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/v1/sessions/:id', { schema: { params: idParams } }, async (request) => {
    const { id } = request.params;
    const recorded = await deps.sessions.get(id);
    if (!recorded) throw new NotFoundError(`nothing is recorded for session ${id}`);
    return recorded;
  });

  api.get('/v1/audit', { schema: { querystring: auditQuerySchema }, schemaErrorFormatter: invalidInput('audit') }, async (request) => {
    const { since, until, ...rest } = request.query;
    const records = await deps.audit.query({
      ...rest,
      ...(since !== undefined ? { since: parseTime(since, 'since', now()) } : {}),
      ...(until !== undefined ? { until: parseTime(until, 'until', now()) } : {}),
    });
    return { records };
  });
}
