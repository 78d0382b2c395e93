import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { alreadyLocked, parseAdmitJoinedBefore, type LockdownActions } from '../../consequences/lockdowns.js';
import { parseLockdownFor } from '../../moderation/lockdown-params.js';
import { UsageError } from '../../shared/errors.js';
import { actorOf } from '../auth.js';
import type { RouteContext } from '../deps.js';
import { bodyOrEmpty, invalidInput } from '../route-input.js';

const id = z
  .string({ error: (i) => (i.input === undefined ? 'is required' : 'must be a string') })
  .trim()
  .min(1, 'must not be empty')
  .max(200, 'must be at most 200 characters');

const lockBodySchema = z.strictObject({
  meetingId: id,
  for: z.string({ error: (i) => (i.input === undefined ? 'is required (a duration like "10m" or "2h")' : 'must be a string') }),
  mode: z.enum(['closed', 'ask'], { error: 'must be "closed" or "ask"' }).optional(),
  reason: z.string({ error: 'must be a string' }).max(300, 'must be at most 300 characters').optional(),
  admit: z.array(id).max(10_000, 'must hold at most 10000 participant ids').optional(),
  admitJoinedBefore: z.string({ error: 'must be an ISO time or a duration before now like "5m"' }).optional(),
  endSession: z.boolean({ error: 'must be true or false' }).optional(),
  /** The live session to purge or end, when no worker has seen a join in it. */
  sessionId: id.optional(),
});
const admitBodySchema = z.strictObject({ participantIds: z.array(id).min(1, 'must hold at least one id').max(10_000) });
const gateQuerySchema = z.object({ meetingId: id, participantId: id });
const meetingParams = z.object({ meetingId: id });

/** How long `POST /v1/lockdowns` waits for the meeting to be made to match before it answers. */
const EFFECTS_WAIT_MS = 5000;

/** Lockdowns (raid mode) and the gate a token server asks on every join. */
export function registerLockdownRoutes(app: FastifyInstance, { deps }: RouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  const actions = (): LockdownActions => {
    if (!deps.lockdownActions) throw new Error('lockdowns are not available in this process');
    return deps.lockdownActions;
  };

  // One script run: the meeting's and every meeting's ban, the lockdown and the admission.
  api.get('/v1/gate', { schema: { querystring: gateQuerySchema }, schemaErrorFormatter: invalidInput('gate') }, async (request) =>
    actions().gate(request.query.meetingId, request.query.participantId),
  );

  api.get('/v1/lockdowns', async () => ({ lockdowns: await actions().list() }));

  api.post(
    '/v1/lockdowns',
    { schema: { body: bodyOrEmpty(lockBodySchema) }, schemaErrorFormatter: invalidInput('lockdown') },
    async (request, reply) => {
      const body = request.body;
      const duration = parseLockdownFor(body.for);
      if ('problem' in duration) throw new UsageError(`invalid lockdown: $.for: ${duration.problem}`);
      const result = await actions().lock({
        meetingId: body.meetingId,
        forMs: duration.ms,
        mode: body.mode ?? 'closed',
        reason: body.reason?.trim() || 'locked by an operator',
        by: actorOf(request),
        ...(body.admit !== undefined ? { admit: body.admit } : {}),
        ...(body.admitJoinedBefore !== undefined ? { cutoff: parseAdmitJoinedBefore(body.admitJoinedBefore, 'admitJoinedBefore') } : {}),
        ...(body.endSession ? { endSession: true } : {}),
        ...(body.sessionId !== undefined ? { sessionId: body.sessionId } : {}),
      });
      if (!result.created) throw alreadyLocked(result.lockdown);
      // The lockdown stands already (the gate refuses); the answer says what was done to the meeting
      // when that is done soon, else it goes on in the background.
      const effects = await Promise.race([
        result.effects,
        new Promise<undefined>((r) => setTimeout(() => r(undefined), EFFECTS_WAIT_MS).unref()),
      ]);
      await reply.code(201).send({ lockdown: result.lockdown, ...(effects ? { effects } : {}) });
    },
  );

  api.delete(
    '/v1/lockdowns/:meetingId',
    { schema: { params: meetingParams }, schemaErrorFormatter: invalidInput('lockdown') },
    async (request, reply) => {
      await actions().lift(request.params.meetingId, actorOf(request));
      await reply.code(204).send();
    },
  );

  api.post(
    '/v1/lockdowns/:meetingId/admit',
    { schema: { params: meetingParams, body: bodyOrEmpty(admitBodySchema) }, schemaErrorFormatter: invalidInput('admit') },
    async (request) => actions().admit(request.params.meetingId, request.body.participantIds, actorOf(request)),
  );
}
