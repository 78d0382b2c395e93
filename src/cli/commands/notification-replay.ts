import type { Job, Queue } from 'bullmq';
import type { Services } from '../../app/services.js';
import { readNotificationJob } from '../../notify/notification-job.js';
import { printJson, table, type CommandIo } from '../format.js';

/** A failed delivery sent again (or, with `dryRun`, that would be). */
export interface NotificationReplayItem {
  jobId: string;
  type: string;
  receiver: string;
  failedReason: string;
}

/** A failed job on the notifications queue whose data is not a delivery: never replayed. */
export interface MalformedNotification {
  jobId: string;
  /** What is wrong with its data. */
  reason: string;
  failedReason: string;
  /** Removed from the queue by this call (`discardMalformed`, not a dry run). */
  discarded: boolean;
}

export interface NotificationReplayResult {
  dryRun: boolean;
  replayed: NotificationReplayItem[];
  malformed: MalformedNotification[];
}

/**
 * `automod replay --queue notifications`: sends failed deliveries again with fresh tries. A job
 * whose data is not a delivery (anything a hand or a script put on the queue) is listed with what
 * is wrong, never replayed, removed with `discardMalformed`; the healthy ones beside it replay.
 */
export async function runNotificationReplay(
  services: Pick<Services, 'notifications' | 'audit'>,
  options: { dryRun: boolean; discardMalformed?: boolean; limit: number; json: boolean; requestedBy?: string; now?: () => number },
  io: CommandIo,
): Promise<number> {
  const result = await replayNotifications(services.notifications as Queue, services.audit, options);
  if (options.json) {
    printJson(result, io.stdout);
    return 0;
  }
  const rows = result.replayed;
  io.stdout.write(`${result.dryRun ? 'would replay' : 'replayed'} ${rows.length} notification(s)\n`);
  if (rows.length > 0)
    io.stdout.write(
      `${table(
        ['job', 'type', 'receiver', 'last failure'],
        rows.map((r) => [r.jobId, r.type, r.receiver, r.failedReason]),
        io.columns,
      )}\n`,
    );
  if (result.malformed.length > 0) {
    io.stdout.write(
      `${table(
        ['job', 'malformed: what is wrong', 'last failure', 'result'],
        result.malformed.map((m) => [m.jobId, m.reason, m.failedReason, m.discarded ? 'discarded' : 'not replayable']),
        io.columns,
      )}\n`,
    );
    const kept = result.malformed.filter((m) => !m.discarded).length;
    if (kept > 0)
      io.stdout.write(`${kept} malformed job(s) left alone; remove them with automod replay --queue notifications --discard-malformed\n`);
  }
  return 0;
}

async function replayNotifications(
  queue: Queue,
  audit: Services['audit'],
  options: { dryRun: boolean; discardMalformed?: boolean; limit: number; requestedBy?: string; now?: () => number },
): Promise<NotificationReplayResult> {
  const now = options.now ?? Date.now;
  const failed = (await queue.getFailed(0, options.limit - 1)) as (Job | undefined)[];
  const result: NotificationReplayResult = { dryRun: options.dryRun, replayed: [], malformed: [] };
  for (const job of failed) {
    if (job?.id === undefined) continue;
    const read = readNotificationJob(job.data);
    const failedReason = job.failedReason ?? '';
    if (read.malformed !== undefined) {
      const discard = (options.discardMalformed ?? false) && !options.dryRun;
      if (discard) {
        await job.remove();
        await audit.append({
          at: new Date(now()).toISOString(),
          kind: 'discard',
          jobId: job.id,
          outcome: 'discarded',
          reason: `malformed notification job: ${read.malformed}`,
          requestedBy: options.requestedBy ?? 'operator',
        });
      }
      result.malformed.push({ jobId: job.id, reason: read.malformed, failedReason, discarded: discard });
      continue;
    }
    if (!options.dryRun) await job.retry('failed', { resetAttemptsMade: true, resetAttemptsStarted: true });
    result.replayed.push({ jobId: job.id, type: read.data.type, receiver: read.data.receiver, failedReason });
  }
  return result;
}
