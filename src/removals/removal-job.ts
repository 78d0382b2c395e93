import { z } from 'zod';
import { InvalidRemovalError, issueProblems } from '../shared/errors.js';
import { idSchema as id } from '../shared/ids.js';

/** Data of a removal job on the `removals` queue (public contract). */
export interface RemovalJobData {
  sessionId: string;
  participantId: string;
  meetingId?: string;
  reason: string;
  /** The rule that asked for the removal, when a rule did. */
  rule?: string;
  /** The event that broke the rule, when one did. */
  eventId?: string;
  /** `rule:NAME`, `operator:NAME`, `replay`, `api`... */
  requestedBy: string;
  /** Check the session before sending (operator removals and replays always do). */
  verifyFirst?: boolean;
}

export const removalJobSchema = z.object({
  sessionId: id,
  participantId: id,
  meetingId: id.optional(),
  reason: z.string().max(500, 'must be at most 500 characters').default('removed by moderation'),
  rule: z.string().max(200).optional(),
  eventId: z.string().max(200).optional(),
  requestedBy: z.string().min(1).max(200).default('unknown'),
  verifyFirst: z.boolean().optional(),
});

/** Validates removal job data, naming every problem. */
export function parseRemovalJob(input: unknown): RemovalJobData {
  const result = removalJobSchema.safeParse(input);
  if (!result.success) throw new InvalidRemovalError(issueProblems(result.error.issues));
  const data: RemovalJobData = { ...result.data };
  for (const key of Object.keys(data) as (keyof RemovalJobData)[]) if (data[key] === undefined) delete data[key];
  return data;
}

/**
 * Reads the data of a job found on the removals queue, which a direct producer may have filled
 * with anything (`null`, a string, a wrong shape): never throws. `malformed` says what is wrong.
 */
export function readRemovalJob(input: unknown): { data: RemovalJobData; malformed?: undefined } | { data?: undefined; malformed: string } {
  const result = removalJobSchema.safeParse(input);
  if (result.success) return { data: result.data as RemovalJobData };
  return {
    malformed: issueProblems(result.error.issues)
      .map((p) => `${p.path}: ${p.message}`)
      .join('; ')
      .slice(0, 500),
  };
}

/** Removal outcomes recorded per job (public contract). */
export type RemovalOutcome = 'removed' | 'already-gone' | 'rejected' | 'failed';
