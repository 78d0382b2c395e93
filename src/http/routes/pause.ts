import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { notifyNobody } from '../../notify/notifications.js';
import { pauseRemovals, resumeRemovals, type PauseDeps } from '../../removals/pause-removals.js';
import { actorOf } from '../auth.js';
import type { RouteContext } from '../deps.js';
import { bodyOrEmpty, invalidInput } from '../route-input.js';

const pauseBodySchema = z.strictObject({
  reason: z.string({ error: 'must be a string' }).trim().min(1, 'must not be empty').max(300, 'must be at most 300 characters').optional(),
});

/** `POST /v1/pause` and `POST /v1/resume`: `automod pause` and `automod resume` over HTTP. */
export function registerPauseRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const pauseDeps: PauseDeps = {
    pause: deps.pause,
    removals: deps.queues.removals,
    audit: deps.audit,
    notify: deps.notify ?? notifyNobody,
  };

  api.post(
    '/v1/pause',
    { schema: { body: bodyOrEmpty(pauseBodySchema) }, schemaErrorFormatter: invalidInput('pause') },
    async (request) => {
      const done = await pauseRemovals(pauseDeps, {
        reason: request.body.reason ?? 'paused by an operator',
        by: actorOf(request),
        at: new Date(now()).toISOString(),
      });
      return { paused: true, pause: done.pause, wasPaused: done.wasPaused ?? null, waiting: done.waiting };
    },
  );

  api.post('/v1/resume', async (request) => {
    const done = await resumeRemovals(pauseDeps, { by: actorOf(request), at: new Date(now()).toISOString() });
    return {
      paused: false,
      wasPaused: done.wasPaused ?? (done.queueWasPaused ? { reason: null, kind: 'unrecorded' } : null),
      waiting: done.waiting,
    };
  });
}
