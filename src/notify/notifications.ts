import { createHash, createHmac, randomUUID } from 'node:crypto';
import { Queue, type JobsOptions } from 'bullmq';
import type { Logger } from '../shared/logger.js';
import type { RedisClient } from '../store/redis.js';

/** The BullMQ queue that delivers notifications (public contract). */
export const NOTIFICATIONS_QUEUE = 'notifications';

import type { NotifyType } from '../shared/notify-types.js';

export { NOTIFY_TYPES, type NotifyType } from '../shared/notify-types.js';

/**
 * One delivery: the body as it will be sent (signed as these exact bytes) and the receiver's
 * fingerprint. The body carries the notification's `id` and `at`, fixed when it was made: every
 * retry and every `automod replay --queue notifications` sends the same bytes, so a receiver
 * recognises a repeat by its id and a stale delivery by its `at` (a captured one cannot be
 * re-dated: both are under the signature).
 */
export interface NotificationJobData {
  type: NotifyType;
  /**
   * sha256 of the receiver URL (first 16 hex): a Slack or Discord webhook URL is itself a
   * credential, so it stays out of Redis; the worker finds it in `AUTOMOD_NOTIFY_URLS`.
   */
  receiver: string;
  body: string;
}

export interface NotifyConfig {
  urls: readonly string[];
  /** Undefined: every type. */
  types: readonly NotifyType[] | undefined;
  secret: string | undefined;
  /** Tries per delivery (default 8). */
  attempts?: number;
}

/** The first backoff; it doubles with each try (8 tries, the default, span about four minutes). */
const NOTIFY_BACKOFF_MS = 1000;

export function notificationJobOptions(attempts = 8): JobsOptions {
  return {
    attempts,
    backoff: { type: 'exponential', delay: NOTIFY_BACKOFF_MS },
    removeOnComplete: { age: 3600, count: 1000 },
    // Failed deliveries stay for `automod replay --queue notifications`, bounded.
    removeOnFail: { age: 7 * 86_400, count: 10_000 },
  };
}

export function receiverId(url: string): string {
  return createHash('sha256').update(url).digest('hex').slice(0, 16);
}

/** `sha256=<hex HMAC-SHA256 of the raw body>`, the `X-Automod-Signature` header. */
export function signBody(body: string, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
}

export function openNotificationsQueue(connection: RedisClient, keyPrefix: string, attempts?: number): Queue<NotificationJobData> {
  return new Queue<NotificationJobData>(NOTIFICATIONS_QUEUE, {
    connection,
    prefix: keyPrefix,
    defaultJobOptions: notificationJobOptions(attempts),
  });
}

/**
 * `notify(type, record, text)`: what the product (and the bans work) calls. It never rejects;
 * moderation does not await it (`void notify(...)`), a one-shot command does before it exits.
 */
export type Notify = (type: NotifyType, record: Record<string, unknown>, text: string) => Promise<void>;

/** A notify that does nothing (no receivers configured). */
export const notifyNobody: Notify = () => Promise.resolve();

/**
 * Builds `notify`: one job per receiver on the `notifications` queue. The job is added in the
 * background (moderation never waits for it) and a failure to add is logged, not thrown.
 */
export function createNotifier(deps: {
  config: NotifyConfig;
  queue: Pick<Queue<NotificationJobData>, 'addBulk'> | undefined;
  logger: Logger;
  now?: () => number;
  /** The id of a new notification (default: a random UUID); one id for every receiver and try. */
  newId?: () => string;
}): Notify {
  const { config, queue, logger } = deps;
  if (!queue || config.urls.length === 0) return notifyNobody;
  const now = deps.now ?? Date.now;
  const newId = deps.newId ?? randomUUID;
  const wanted = config.types === undefined ? undefined : new Set<string>(config.types);
  const receivers = config.urls.map(receiverId);
  return (type, record, text) => {
    if (wanted && !wanted.has(type)) return Promise.resolve();
    // The record's own fields never replace the envelope's: `id` and `at` are what receivers trust.
    const { type: _type, id: _id, at: _at, text: _text, ...rest } = record;
    const body = JSON.stringify({ type, id: newId(), at: new Date(now()).toISOString(), text, ...rest });
    return queue.addBulk(receivers.map((receiver) => ({ name: type, data: { type, receiver, body } }))).then(
      () => undefined,
      (err: unknown) => logger.warn({ err, type }, 'could not queue a notification'),
    );
  };
}
