import { z } from 'zod';
import { issueProblems } from '../shared/errors.js';
import type { NotificationJobData } from './notifications.js';

// The type only labels a delivery (a newer version's type is still delivered): any name will do.
const notificationJobSchema = z.object({
  type: z.string().min(1).max(100),
  receiver: z.string().min(1).max(200),
  body: z.string(),
});

/**
 * Reads the data of a job found on the `notifications` queue, which anyone with the Redis
 * credentials may have filled with anything (`null`, a string, a wrong shape): never throws.
 * `malformed` says what is wrong.
 */
export function readNotificationJob(
  input: unknown,
): { data: NotificationJobData; malformed?: undefined } | { data?: undefined; malformed: string } {
  const result = notificationJobSchema.safeParse(input);
  if (result.success) return { data: result.data as NotificationJobData };
  return {
    malformed: issueProblems(result.error.issues)
      .map((p) => `${p.path}: ${p.message}`)
      .join('; ')
      .slice(0, 500),
  };
}
