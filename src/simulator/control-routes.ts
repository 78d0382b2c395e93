import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { errorBody } from './http-shapes.js';
import { faultSchema, optionsSchema, participantSchema, sessionSchema, webhookSchema } from './schemas.js';
import type { SimV2Claims, Simulator } from './types.js';
import { SimNotFound } from './world.js';

/** What the control routes drive: the programmatic surface, and what only they read or clear. */
export interface ControlRoutesOptions {
  simulator: Simulator;
  /** Faults armed now (answered by `POST /_sim/faults`). */
  faultCount(): number;
  clearWebhooks(): void;
  /** The options as they stand (answered by `POST /_sim/options`). */
  options(): { activeDataShape: 'array' | 'object'; v2Claims: SimV2Claims; webhookUrl: string | null };
}

/** The control surface under `/_sim/` (no token), mirrored from the programmatic one. */
export function registerControlRoutes(
  app: FastifyInstance,
  { simulator: sim, faultCount, clearWebhooks, options }: ControlRoutesOptions,
): void {
  const bad = (reply: FastifyReply, error: z.ZodError): FastifyReply =>
    reply.code(400).send({ error: 'invalid request', details: error.issues.map((i) => `${i.path.join('.')}: ${i.message}`) });
  const notFound = (reply: FastifyReply, err: unknown): FastifyReply => {
    if (err instanceof SimNotFound) return reply.code(404).send(errorBody(404, err.message));
    throw err;
  };

  // A change made through the control API answers once its webhooks are sent, so a script that
  // joins someone and then looks at the worker finds the event there.
  app.post('/_sim/sessions', async (request, reply) => {
    const parsed = sessionSchema.safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    const session = sim.addSession(parsed.data);
    await sim.webhooksSettled();
    return reply.code(201).send(session);
  });
  app.get('/_sim/sessions', async () => ({ sessions: sim.listSessions() }));
  app.get<{ Params: { id: string } }>('/_sim/sessions/:id', async (request, reply) => {
    return sim.getSession(request.params.id) ?? reply.code(404).send(errorBody(404, 'Session not found'));
  });
  app.post<{ Params: { id: string } }>('/_sim/sessions/:id/participants', async (request, reply) => {
    const parsed = participantSchema.safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    try {
      const session = sim.join(request.params.id, parsed.data.participantId, parsed.data.name);
      await sim.webhooksSettled();
      return session;
    } catch (err) {
      return notFound(reply, err);
    }
  });
  app.delete<{ Params: { id: string; participantId: string } }>(
    '/_sim/sessions/:id/participants/:participantId',
    async (request, reply) => {
      try {
        const left = sim.leave(request.params.id, request.params.participantId);
        await sim.webhooksSettled();
        return { left };
      } catch (err) {
        return notFound(reply, err);
      }
    },
  );
  app.get('/_sim/rooms', async () => ({ rooms: sim.listRooms() }));
  app.post('/_sim/faults', async (request, reply) => {
    // One schema or the other, not a union: the error then names the field that is wrong.
    const parsed = (Array.isArray(request.body) ? z.array(faultSchema) : faultSchema).safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    const list = Array.isArray(parsed.data) ? parsed.data : [parsed.data];
    for (const fault of list) sim.addFault(fault);
    return reply.code(201).send({ faults: faultCount() });
  });
  app.delete('/_sim/faults', async () => {
    sim.clearFaults();
    return { faults: 0 };
  });
  app.get('/_sim/calls', async () => ({ calls: sim.calls() }));
  app.delete('/_sim/calls', async () => {
    sim.resetCalls();
    return { calls: 0 };
  });
  app.get('/_sim/stats', async () => sim.stats());
  app.post('/_sim/secret', async (request, reply) => {
    const parsed = z.object({ secret: z.string().min(1) }).safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    sim.setSecret(parsed.data.secret);
    return { ok: true };
  });
  app.post('/_sim/credential', async (request, reply) => {
    const parsed = z.object({ valid: z.boolean() }).safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    sim.setCredentialValid(parsed.data.valid);
    return { valid: parsed.data.valid };
  });
  app.post('/_sim/options', async (request, reply) => {
    const parsed = optionsSchema.safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    if (parsed.data.activeDataShape !== undefined) sim.setActiveDataShape(parsed.data.activeDataShape);
    if (parsed.data.v2Claims !== undefined) sim.setV2Claims(parsed.data.v2Claims);
    if (parsed.data.webhookUrl !== undefined) sim.setWebhookUrl(parsed.data.webhookUrl ?? undefined);
    return options();
  });
  app.post('/_sim/webhooks', async (request, reply) => {
    const parsed = webhookSchema.safeParse(request.body);
    if (!parsed.success) return bad(reply, parsed.error);
    const { url: given, ...webhook } = parsed.data;
    const delivery = await sim.deliverWebhook(webhook, given);
    if (!delivery) {
      return reply.code(400).send({
        error: 'nowhere to send it: give "url", set one with POST /_sim/options {"webhookUrl": ...}, or create the room with a webhook',
      });
    }
    return delivery;
  });
  app.get('/_sim/webhooks', async () => ({ webhooks: sim.webhookDeliveries() }));
  app.delete('/_sim/webhooks', async () => {
    clearWebhooks();
    return { webhooks: 0 };
  });
  app.get('/_sim/webhooks/public-key', async (_request, reply) => reply.type('text/plain; charset=utf-8').send(sim.webhookPublicKey()));
  app.post('/_sim/reset', async () => {
    sim.reset();
    return { ok: true };
  });
}
