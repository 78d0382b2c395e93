import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { UsageError } from '../../shared/errors.js';
import { parseTime } from '../../shared/parse-time.js';
import type { BanActions } from '../../removals/ban-actions.js';
import { banCheckOf } from '../../store/bans.js';
import type { RouteContext } from '../deps.js';
import { invalidQuery } from '../error-response.js';

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

function invalidBody(what: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): UsageError {
  return new UsageError(`invalid ${what}: ${issues.map((i) => `${i.path.map(String).join('.') || '$'}: ${i.message}`).join('; ')}`);
}

/** Bans, the token gate and undo. */
export function registerBanRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const actions = (): BanActions => {
    if (!deps.banActions) throw new Error('bans are not available in this process');
    return deps.banActions;
  };

  // The token gate: one MGET (the meeting's ban and the every-meeting ban share a hash tag).
  app.get('/v1/bans/check', async (request) => {
    const parsed = checkQuerySchema.safeParse(request.query);
    if (!parsed.success) throw invalidQuery('bans check', parsed.error.issues);
    return banCheckOf(await actions().lookup(parsed.data.meetingId, parsed.data.participantId));
  });

  app.get('/v1/bans', async (request) => {
    const parsed = listQuerySchema.safeParse(request.query);
    if (!parsed.success) throw invalidQuery('bans', parsed.error.issues);
    const { bans } = await actions().list(parsed.data);
    return { bans };
  });

  app.post('/v1/bans', async (request, reply) => {
    const parsed = banBodySchema.safeParse(request.body ?? {});
    if (!parsed.success) throw invalidBody('ban', parsed.error.issues);
    const body = parsed.data;
    const scope = body.scope ?? (body.meetingId === undefined ? undefined : 'meeting');
    if (scope === undefined) throw new UsageError('invalid ban: give "meetingId" (a ban in one meeting) or "scope": "all" (every meeting)');
    if (scope === 'all' && body.meetingId !== undefined) throw new UsageError('invalid ban: "scope": "all" takes no "meetingId"');
    const made = await actions().ban({
      participantId: body.participantId,
      scope,
      ...(body.meetingId !== undefined ? { meetingId: body.meetingId } : {}),
      for: body.for,
      reason: body.reason ?? '',
      by: 'api',
      ...(body.sessionId !== undefined ? { removeFromSession: body.sessionId } : {}),
    });
    await reply.code(201).send({ ban: made.ban, ...(made.removal ? { removalJobId: made.removal.jobId } : {}) });
  });

  // `all` in place of a meeting id names the every-meeting ban.
  app.delete('/v1/bans/:meeting/:participantId', async (request, reply) => {
    const { meeting, participantId } = request.params as { meeting: string; participantId: string };
    await actions().unban(meeting === 'all' ? 'all' : 'meeting', meeting === 'all' ? undefined : meeting, participantId, 'api');
    await reply.code(204).send();
  });

  app.post('/v1/undo', async (request) => {
    const parsed = undoBodySchema.safeParse(request.body ?? {});
    if (!parsed.success) throw invalidBody('undo', parsed.error.issues);
    const body = parsed.data;
    return actions().undo({
      rule: body.rule,
      ...(body.rulesVersion !== undefined ? { rulesVersion: body.rulesVersion } : {}),
      ...(body.since !== undefined ? { since: parseTime(body.since, 'since', now()) } : {}),
      ...(body.until !== undefined ? { until: parseTime(body.until, 'until', now()) } : {}),
      dryRun: body.dryRun ?? false,
      by: 'api',
    });
  });
}
