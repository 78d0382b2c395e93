import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { UsageError } from '../../shared/errors.js';
import { parseTime } from '../../shared/parse-time.js';
import type { BanActions } from '../../removals/ban-actions.js';
import { banCheckOf } from '../../store/bans.js';
import { actorOf } from '../auth.js';
import type { RouteContext } from '../deps.js';
import { bodyOrEmpty, invalidInput } from '../route-input.js';

const id = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters');

const checkQuerySchema = z.object({ meetingId: id, participantId: id });
const listQuerySchema = z.object({ meetingId: id.optional(), participantId: id.optional() });
const banBodySchema = z.strictObject({
  participantId: id,
  meetingId: id.optional(),
  scope: z.enum(['meeting', 'all'], { error: 'must be "meeting" or "all"' }).optional(),
  for: z.string({ error: (i) => (i.input === undefined ? 'is required ("10m", "24h", "7d" or "permanent")' : 'must be a string') }),
  reason: z.string({ error: 'must be a string' }).max(300, 'must be at most 300 characters').optional(),
  /** Remove the participant from this session now too. */
  sessionId: id.optional(),
});
const undoBodySchema = z.strictObject({
  rule: id,
  rulesVersion: id.optional(),
  since: z.union([z.string(), z.number()]).optional(),
  until: z.union([z.string(), z.number()]).optional(),
  dryRun: z.boolean({ error: 'must be true or false' }).optional(),
});

const unbanParamsSchema = z.object({ meeting: z.string(), participantId: z.string() });

/** Bans, the token gate and undo. */
export function registerBanRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const actions = (): BanActions => {
    if (!deps.banActions) throw new Error('bans are not available in this process');
    return deps.banActions;
  };

  // The token gate: one MGET (the meeting's ban and the every-meeting ban share a hash tag).
  api.get(
    '/v1/bans/check',
    { schema: { querystring: checkQuerySchema }, schemaErrorFormatter: invalidInput('bans check') },
    async (request) => banCheckOf(await actions().lookup(request.query.meetingId, request.query.participantId)),
  );

  api.get('/v1/bans', { schema: { querystring: listQuerySchema }, schemaErrorFormatter: invalidInput('bans') }, async (request) => {
    const { bans } = await actions().list(request.query);
    return { bans };
  });

  api.post(
    '/v1/bans',
    { schema: { body: bodyOrEmpty(banBodySchema) }, schemaErrorFormatter: invalidInput('ban') },
    async (request, reply) => {
      const body = request.body;
      const scope = body.scope ?? (body.meetingId === undefined ? undefined : 'meeting');
      if (scope === undefined)
        throw new UsageError('invalid ban: give "meetingId" (a ban in one meeting) or "scope": "all" (every meeting)');
      if (scope === 'all' && body.meetingId !== undefined) throw new UsageError('invalid ban: "scope": "all" takes no "meetingId"');
      const made = await actions().ban({
        participantId: body.participantId,
        scope,
        ...(body.meetingId !== undefined ? { meetingId: body.meetingId } : {}),
        for: body.for,
        reason: body.reason ?? '',
        by: actorOf(request),
        ...(body.sessionId !== undefined ? { removeFromSession: body.sessionId } : {}),
      });
      await reply.code(201).send({ ban: made.ban, ...(made.removal ? { removalJobId: made.removal.jobId } : {}) });
    },
  );

  // `all` in place of a meeting id names the every-meeting ban.
  api.delete('/v1/bans/:meeting/:participantId', { schema: { params: unbanParamsSchema } }, async (request, reply) => {
    const { meeting, participantId } = request.params;
    await actions().unban(meeting === 'all' ? 'all' : 'meeting', meeting === 'all' ? undefined : meeting, participantId, actorOf(request));
    await reply.code(204).send();
  });

  api.post('/v1/undo', { schema: { body: bodyOrEmpty(undoBodySchema) }, schemaErrorFormatter: invalidInput('undo') }, async (request) => {
    const body = request.body;
    return actions().undo({
      rule: body.rule,
      ...(body.rulesVersion !== undefined ? { rulesVersion: body.rulesVersion } : {}),
      ...(body.since !== undefined ? { since: parseTime(body.since, 'since', now()) } : {}),
      ...(body.until !== undefined ? { until: parseTime(body.until, 'until', now()) } : {}),
      dryRun: body.dryRun ?? false,
      by: actorOf(request),
    });
  });
}
