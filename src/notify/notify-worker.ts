import { UnrecoverableError, Worker, type Job } from 'bullmq';
import { got } from 'got';
import type { Logger } from '../shared/logger.js';
import type { RedisClient } from '../store/redis.js';
import { readNotificationJob } from './notification-job.js';
import { NOTIFICATIONS_QUEUE, receiverId, signBody, type NotificationJobData, type NotifyConfig } from './notifications.js';

/** How long one delivery may take: a slow receiver holds a notifications slot, never moderation. */
const DELIVERY_TIMEOUT_MS = 5000;

/** POSTs one notification, signed; throws (so BullMQ retries with backoff) on anything but 2xx. */
export function createNotificationProcessor(deps: { config: NotifyConfig; logger: Logger; timeoutMs?: number }) {
  const byReceiver = new Map(deps.config.urls.map((url) => [receiverId(url), url]));
  return async (job: Job<NotificationJobData>): Promise<{ status: number }> => {
    // Anyone with the Redis credentials can add a job: data that is not a delivery fails once, not eight times.
    const read = readNotificationJob(job.data);
    if (read.malformed !== undefined) throw new UnrecoverableError(`not a notification delivery: ${read.malformed}`);
    const data = read.data;
    const url = byReceiver.get(data.receiver);
    if (url === undefined) throw new UnrecoverableError('the receiver of this notification is no longer in AUTOMOD_NOTIFY_URLS');
    const headers: Record<string, string> = { 'content-type': 'application/json', 'user-agent': 'meeting-automod' };
    const id = deliveryId(data.body);
    if (id !== undefined) headers['x-automod-delivery'] = id;
    if (deps.config.secret !== undefined) headers['x-automod-signature'] = signBody(data.body, deps.config.secret);
    try {
      const response = await got.post(url, {
        body: data.body,
        headers,
        timeout: { request: deps.timeoutMs ?? DELIVERY_TIMEOUT_MS },
        retry: { limit: 0 },
        throwHttpErrors: false,
        followRedirect: false,
      });
      if (response.statusCode < 200 || response.statusCode >= 300) {
        throw new Error(`the receiver answered ${response.statusCode}`);
      }
      return { status: response.statusCode };
    } catch (err) {
      // The URL may carry a credential (Slack, Discord): the message names the receiver by fingerprint only.
      const reason = err instanceof Error && /^the receiver answered/.test(err.message) ? err.message : 'the receiver could not be reached';
      deps.logger.warn({ type: data.type, receiver: data.receiver, attempt: job.attemptsMade + 1 }, 'notification not delivered');
      // The cause (got's error) names the URL: left out on purpose.
      // eslint-disable-next-line preserve-caught-error
      throw new Error(`${reason} (receiver ${data.receiver})`);
    }
  };
}

/**
 * The notification's id, read from the body it is signed in (so the header can never say another);
 * undefined for a body made before notifications had ids.
 */
export function deliveryId(body: unknown): string | undefined {
  if (typeof body !== 'string') return undefined;
  try {
    const parsed: unknown = JSON.parse(body);
    const id = typeof parsed === 'object' && parsed !== null ? (parsed as { id?: unknown }).id : undefined;
    return typeof id === 'string' && /^[\x21-\x7e]{1,200}$/.test(id) ? id : undefined;
  } catch {
    return undefined;
  }
}

/** The notifications worker (not yet running); a blocking connection of its own, closed by the caller. */
export function createNotificationWorker(deps: { config: NotifyConfig; keyPrefix: string; connection: RedisClient; logger: Logger }) {
  return new Worker<NotificationJobData>(NOTIFICATIONS_QUEUE, createNotificationProcessor(deps), {
    connection: deps.connection,
    prefix: deps.keyPrefix,
    concurrency: 5,
    autorun: false,
  });
}
