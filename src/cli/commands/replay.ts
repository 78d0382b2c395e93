import { QueueEvents } from 'bullmq';
import type { Services } from '../../app/services.js';
import { REMOVALS_QUEUE } from '../../removals/removal-queue.js';
import { replayRemovals, type ReplayFilter } from '../../removals/replay.js';
import { findWorkers, NO_WORKER_EXIT, noWorkerMessage } from '../../removals/worker-presence.js';
import { createRedis } from '../../store/redis.js';
import { countLine, printJson, table, type CommandIo } from '../format.js';
import { streamIdNow, waitForOutcomes, type RemoveRow } from './remove.js';

/**
 * `automod replay`: re-runs the failed (or delayed) removals that match, or lists them with
 * `--dry-run`. With `--wait` it follows them to their outcomes like `automod remove` and exits 1
 * unless every one ends `removed` or `already-gone`.
 */
export async function runReplay(
  services: Services,
  filter: ReplayFilter,
  options: { json: boolean; wait: boolean; timeout: number; requestedBy: string; signal?: AbortSignal | undefined },
  io: CommandIo,
): Promise<number> {
  const wait = options.wait && !filter.dryRun;
  if (!filter.dryRun) {
    const presence = await findWorkers(services.queues.removals, services.redis);
    if (presence.here === 0) {
      io.stderr.write(`${noWorkerMessage(services.config.prefix, presence)}\n`);
      if (wait) {
        io.stderr.write(
          'nothing replayed: the wait would never end; without --wait the replayed jobs wait for a worker that starts later\n',
        );
        return NO_WORKER_EXIT;
      }
    }
  }
  const connection = wait ? createRedis(services.config.redis, { blocking: true, name: 'automod-replay' }) : undefined;
  const queueEvents = connection
    ? new QueueEvents(REMOVALS_QUEUE, { connection, prefix: services.config.keyPrefix, lastEventId: await streamIdNow(services) })
    : undefined;
  try {
    await queueEvents?.waitUntilReady();
    const result = await replayRemovals(filter, {
      queue: services.queues.removals,
      claims: services.claims,
      outcomes: services.outcomes,
      audit: services.audit,
      requestedBy: options.requestedBy,
    });
    let rows: RemoveRow[] | undefined;
    if (queueEvents && result.replayed.length > 0) {
      rows = await waitForOutcomes(
        services,
        queueEvents,
        result.replayed.map((r) => ({
          jobId: r.replayJobId ?? r.jobId,
          sessionId: r.sessionId,
          participantId: r.participantId,
          collapsed: false,
        })),
        { json: options.json, timeout: options.timeout, signal: options.signal },
        io,
      );
    }
    if (options.json) {
      printJson(rows ? { ...result, outcomes: rows } : result, io.stdout);
    } else {
      const verb = result.dryRun ? 'would replay' : 'replayed';
      if (result.replayed.length > 0) {
        const outcomeOf = new Map(rows?.map((r) => [r.jobId, r.outcome]));
        // A delayed job is replayed as a new job: its id gets a column of its own.
        const renamed = result.replayed.some((r) => r.replayJobId !== undefined);
        io.stdout.write(
          `${table(
            [
              'job',
              'session',
              'participant',
              'rule',
              'tries',
              'was',
              'status',
              ...(renamed ? ['replayed as'] : []),
              ...(rows ? ['now'] : []),
            ],
            result.replayed.map((r) => [
              r.jobId,
              r.sessionId,
              r.participantId,
              r.rule ?? '',
              r.attemptsMade,
              r.previousOutcome ?? '',
              r.status ?? '',
              ...(renamed ? [r.replayJobId ?? ''] : []),
              ...(rows ? [outcomeOf.get(r.replayJobId ?? r.jobId) ?? ''] : []),
            ]),
            io.columns,
          )}\n`,
        );
      }
      for (const s of result.skipped) io.stdout.write(`skipped ${s.jobId} (${s.participantId} in ${s.sessionId}): ${s.why}\n`);
      for (const m of result.malformed) {
        io.stdout.write(`${m.discarded ? 'discarded' : 'not replayable'} ${m.jobId} (${m.state}): malformed: ${m.reason}\n`);
      }
      const kept = result.malformed.filter((m) => !m.discarded).length;
      if (kept > 0) io.stdout.write(`${kept} malformed job(s) left alone; remove them with automod replay --discard-malformed\n`);
      io.stdout.write(
        `${verb} ${result.replayed.length} ${filter.state} job(s)${result.skipped.length ? `, skipped ${result.skipped.length}` : ''}\n`,
      );
      if (rows) io.stdout.write(`${countLine(rows.map((r) => r.outcome))}\n`);
      else if (result.dryRun && result.replayed.length > 0) io.stdout.write('run again without --dry-run to replay them\n');
    }
    if (rows) return rows.every((r) => r.outcome === 'removed' || r.outcome === 'already-gone') ? 0 : 1;
    return 0;
  } finally {
    await queueEvents?.close().catch(() => undefined);
    connection?.disconnect();
  }
}
