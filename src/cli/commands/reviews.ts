import type { Job } from 'bullmq';
import type { Services } from '../../app/services.js';
import type { NotificationJobData } from '../../notify/notifications.js';
import type { ReviewState } from '../../store/reviews.js';
import { printJson, table, type CommandIo } from '../format.js';

/** `automod reviews [--state S] [--json]`: the review queue, newest first. */
export async function runReviews(
  services: Pick<Services, 'reviews'>,
  options: { state?: ReviewState | undefined; limit: number; json: boolean },
  io: CommandIo,
  now: number,
): Promise<number> {
  const reviews = await services.reviews.list({ ...(options.state ? { state: options.state } : {}), limit: options.limit }, now);
  if (options.json) {
    printJson({ reviews }, io.stdout);
    return 0;
  }
  if (reviews.length === 0) {
    io.stdout.write(`no ${options.state ?? ''} review items\n`.replace('  ', ' '));
    return 0;
  }
  const rows = reviews.map((r) => [
    r.id,
    r.state,
    r.rule,
    r.participantName ?? '',
    r.participantId,
    r.sessionId,
    r.hits,
    r.createdAt,
    r.state === 'pending' ? r.expiresAt : (r.decidedBy ?? ''),
    r.evidence.at(-1)?.text ?? r.reason,
  ]);
  io.stdout.write(
    `${table(['id', 'state', 'rule', 'name', 'participant', 'session', 'hits', 'created', 'expires/by', 'evidence'], rows, io.columns)}\n`,
  );
  return 0;
}

/** `automod review approve|dismiss ID [--note T] [--ban D]`: exit 1 when the item is decided, expired or unknown. */
export async function runReviewDecision(
  services: Pick<Services, 'decisions'>,
  id: string,
  action: 'approve' | 'dismiss',
  options: { note?: string | undefined; ban?: string | undefined; by: string; json: boolean },
  io: CommandIo,
): Promise<number> {
  const result = await services.decisions.decide(id, action, { by: options.by, note: options.note, ban: options.ban });
  if (options.json) printJson(result, io.stdout);
  else if (action === 'approve')
    io.stdout.write(
      `approved ${id}: removal of ${result.review.participantId} queued as job ${result.removalJobId}${result.review.ban ? ` (ban ${result.review.ban})` : ''}\n`,
    );
  else io.stdout.write(`dismissed ${id}\n`);
  return 0;
}

/** `automod replay --queue notifications`: sends failed deliveries again (fresh tries). */
export async function runNotificationReplay(
  services: Pick<Services, 'notifications'>,
  options: { dryRun: boolean; limit: number; json: boolean },
  io: CommandIo,
): Promise<number> {
  const failed = (await services.notifications.getFailed(0, options.limit - 1)) as (Job<NotificationJobData> | undefined)[];
  const jobs = failed.filter((j): j is Job<NotificationJobData> => j?.id !== undefined);
  if (!options.dryRun) for (const job of jobs) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
  const rows = jobs.map((j) => ({ jobId: j.id!, type: j.data.type, receiver: j.data.receiver, failedReason: j.failedReason }));
  if (options.json) printJson({ dryRun: options.dryRun, replayed: rows }, io.stdout);
  else {
    io.stdout.write(`${options.dryRun ? 'would replay' : 'replayed'} ${rows.length} notification(s)\n`);
    if (rows.length > 0)
      io.stdout.write(
        `${table(
          ['job', 'type', 'receiver', 'last failure'],
          rows.map((r) => [r.jobId, r.type, r.receiver, r.failedReason]),
          io.columns,
        )}\n`,
      );
  }
  return 0;
}
