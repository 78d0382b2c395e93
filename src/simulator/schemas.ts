import { z } from 'zod';
import { fail, type SimResult } from './http-shapes.js';
import { SIM_OPERATIONS, SIM_REMOVE_ANSWERS } from './types.js';

/** Request bodies of the control surface and of the v2 API (zod), and the 400 answer they give. */
const timesSchema = z
  .union([z.number().int().positive(), z.literal('Infinity'), z.literal(-1), z.null()])
  .transform((v) => (v === null || v === 'Infinity' || v === -1 ? Infinity : v));
export const faultSchema = z
  .object({
    method: z.enum(['GET', 'POST']).optional(),
    operation: z.enum(SIM_OPERATIONS).optional(),
    sessionId: z.string().optional(),
    participantId: z.string().optional(),
    status: z.number().int().min(100).max(599).optional(),
    body: z.unknown().optional(),
    retryAfter: z.string().optional(),
    delayMs: z.number().min(0).optional(),
    applyThenHang: z.boolean().optional(),
    reset: z.boolean().optional(),
    removeAnswer: z.enum(SIM_REMOVE_ANSWERS).optional(),
    removeApplied: z.boolean().optional(),
    times: timesSchema.optional(),
    probability: z.number().min(0).max(1).optional(),
  })
  .refine((fault) => fault.removeApplied === undefined || fault.removeAnswer !== undefined, {
    message: 'removeApplied needs removeAnswer',
    path: ['removeApplied'],
  });
export const participantSchema = z.object({ participantId: z.string().min(1), name: z.string().optional() });
export const sessionSchema = z.object({
  id: z.string().min(1).optional(),
  meetingId: z.string().min(1).optional(),
  roomId: z.string().min(1).optional(),
  participants: z.array(participantSchema).optional(),
});
const httpUrl = z
  .string()
  .url()
  .refine((u) => /^https?:\/\//i.test(u), 'must be an http(s) URL');
export const optionsSchema = z
  .object({
    activeDataShape: z.enum(['array', 'object']).optional(),
    v2Claims: z.enum(['strict', 'lenient']).optional(),
    /** Where webhooks go; null stops them. */
    webhookUrl: httpUrl.nullable().optional(),
  })
  .strict();
/** `POST /_sim/webhooks`: a VideoSDK webhook body, and where to send it when not where the room's go. */
export const webhookSchema = z
  .object({
    webhookType: z.string().min(1),
    data: z.record(z.string(), z.unknown()).default({}),
    url: httpUrl.optional(),
  })
  .strict();

// Request bodies of the v2 API; unknown fields are ignored, as a real API would.
export const createRoomSchema = z.object({
  customRoomId: z.string().min(1).optional(),
  geoFence: z.string().min(1).optional(),
  webhook: z.object({ endPoint: z.string().url().max(512), events: z.array(z.string().min(1)) }).optional(),
  autoCloseConfig: z.record(z.string(), z.unknown()).optional(),
  allowedParticipantIds: z.array(z.string().min(1)).optional(),
});
export const updateRoomSchema = z.object({ status: z.enum(['enabled', 'disabled']) });
export const deactivateRoomSchema = z.object({ roomId: z.string().min(1) });
export const endSessionSchema = z.object({
  roomId: z.string().min(1).optional(),
  meetingId: z.string().min(1).optional(),
  customRoomId: z.string().min(1).optional(),
  sessionId: z.string().min(1).optional(),
  vsdkForceKill: z.boolean().optional(),
  ignoreClosed: z.boolean().optional(),
});
export const listSessionsSchema = z.object({
  roomId: z.string().optional(),
  customRoomId: z.string().optional(),
  query: z.string().optional(),
  status: z.enum(['ongoing', 'ended']).optional(),
  startDate: z.coerce.number().finite().optional(),
  endDate: z.coerce.number().finite().optional(),
});

/** A v2 request body that does not parse, answered as VideoSDK would (400, one message). */
export function invalid(error: z.ZodError): SimResult {
  return fail(400, error.issues.map((i) => `${i.path.length > 0 ? `"${i.path.join('.')}"` : 'body'}: ${i.message}`).join('; '));
}
