import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { NotFoundError } from '../../shared/errors.js';
import { parseRemovalsBody, requestRemovals } from '../../removals/bulk.js';
import { describeJob, JOB_STATES, listJobs } from '../../removals/job-view.js';
import { replayFilterSchema, replayRemovals } from '../../removals/replay.js';
import { actorOf } from '../auth.js';
import type { RouteContext } from '../deps.js';
import { bodyOrEmpty, invalidInput, invalidRemovalInput } from '../route-input.js';

const jobsQuerySchema = z.object({
  state: z.enum(JOB_STATES).optional(),
  sessionId: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

const idParams = z.object({ id: z.string() });

/** Removals: request them, look at their jobs, replay failed ones. */
export function registerRemovalRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  // The body takes two forms, chosen by its keys so each problem is named at its own path:
  // parseRemovalsBody (shared with the CLI's removal files) reads it.
  api.post('/v1/removals', async (request, reply) => {
    const body = parseRemovalsBody(request.body);
    const result = await requestRemovals(body, {
      requester: deps.requester,
      client: deps.client,
      requestedBy: actorOf(request),
      ...(deps.lockdowns ? { staff: deps.lockdowns.staffAmong } : {}),
    });
    await reply.code(202).send({ jobs: result.jobs.map((j) => j.jobId), details: result.jobs, skipped: result.skipped });
  });

  api.get('/v1/jobs', { schema: { querystring: jobsQuerySchema }, schemaErrorFormatter: invalidInput('jobs') }, async (request) =>
    listJobs(deps.queues.removals, deps.outcomes, {
      state: request.query.state,
      sessionId: request.query.sessionId,
      limit: request.query.limit ?? 100,
    }),
  );

  api.get('/v1/jobs/:id', { schema: { params: idParams } }, async (request) => {
    const { id } = request.params;
    const view = await describeJob(deps.queues, deps.outcomes, id);
    if (!view) throw new NotFoundError(`no job ${id}`);
    return view;
  });

  api.post(
    '/v1/replay',
    { schema: { body: bodyOrEmpty(replayFilterSchema) }, schemaErrorFormatter: invalidRemovalInput },
    async (request) =>
      replayRemovals(request.body, {
        queue: deps.queues.removals,
        claims: deps.claims,
        outcomes: deps.outcomes,
        audit: deps.audit,
        requestedBy: actorOf(request),
        now,
      }),
  );
}
