import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { InvalidRemovalError, issueProblems, NotFoundError } from '../../shared/errors.js';
import { parseRemovalsBody, requestRemovals } from '../../removals/bulk.js';
import { describeJob, JOB_STATES, listJobs } from '../../removals/job-view.js';
import { replayFilterSchema, replayRemovals } from '../../removals/replay.js';
import type { RouteContext } from '../deps.js';
import { invalidQuery } from '../error-response.js';

const jobsQuerySchema = z.object({
  state: z.enum(JOB_STATES).optional(),
  sessionId: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(10_000).optional(),
});

/** Removals: request them, look at their jobs, replay failed ones. */
export function registerRemovalRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  app.post('/v1/removals', async (request, reply) => {
    const body = parseRemovalsBody(request.body);
    const result = await requestRemovals(body, { requester: deps.requester, client: deps.client, requestedBy: 'api' });
    await reply.code(202).send({ jobs: result.jobs.map((j) => j.jobId), details: result.jobs, skipped: result.skipped });
  });

  app.get('/v1/jobs', async (request) => {
    const parsed = jobsQuerySchema.safeParse(request.query);
    if (!parsed.success) throw invalidQuery('jobs', parsed.error.issues);
    return listJobs(deps.queues.removals, deps.outcomes, {
      state: parsed.data.state,
      sessionId: parsed.data.sessionId,
      limit: parsed.data.limit ?? 100,
    });
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
    return replayRemovals(parsed.data, {
      queue: deps.queues.removals,
      claims: deps.claims,
      outcomes: deps.outcomes,
      audit: deps.audit,
      requestedBy: 'api',
      now,
    });
  });
}
