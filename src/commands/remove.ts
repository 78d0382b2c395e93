import { readFile } from 'node:fs/promises';
import { QueueEvents } from 'bullmq';
import { SingleBar, Presets } from 'cli-progress';
import { parse as parseCsv } from 'csv-parse/sync';
import { UsageError } from '../errors.js';
import type { Services } from '../automod.js';
import { REMOVALS_QUEUE } from '../queues.js';
import { removalItemSchema, requestRemovals, type BulkJob, type RemovalItem, type RemovalsBody } from '../removals/bulk.js';
import { createRedis } from '../store/redis.js';
import { printJson, table } from './format.js';

export interface RemoveOptions {
  session?: string;
  participant?: string[];
  file?: string;
  all?: boolean;
  except?: string[];
  meeting?: string;
  reason?: string;
  wait: boolean;
  json: boolean;
  /** Give up waiting after this many seconds (0 = wait until every removal ends). */
  timeout: number;
}

export interface RemoveRow {
  sessionId: string;
  participantId: string;
  jobId: string | null;
  outcome: string;
  detail: string;
}

/** Reads `sessionId,participantId[,meetingId,reason]` CSV (with header) or JSON lines; bad lines are reported, good ones kept. */
export function parseRemovalFile(text: string): { items: RemovalItem[]; problems: string[] } {
  const items: RemovalItem[] = [];
  const problems: string[] = [];
  const firstChar = text.trimStart()[0];
  const check = (candidate: unknown, line: number) => {
    const parsed = removalItemSchema.safeParse(candidate);
    if (parsed.success) items.push(parsed.data);
    else problems.push(`line ${line}: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'row'} ${i.message}`).join('; ')}`);
  };
  if (firstChar === '{') {
    text.split('\n').forEach((raw, index) => {
      if (raw.trim() === '') return;
      try {
        check(JSON.parse(raw), index + 1);
      } catch {
        problems.push(`line ${index + 1}: not valid JSON`);
      }
    });
    return { items, problems };
  }
  const rows = parseCsv(text, { relax_column_count: true, skip_empty_lines: true, trim: true, info: true }) as unknown as {
    record: string[];
    info: { lines: number };
  }[];
  const header = rows.shift()?.record.map((h) => h.trim());
  if (!header || !header.includes('sessionId') || !header.includes('participantId')) {
    throw new UsageError('the CSV file needs a header line: sessionId,participantId[,meetingId,reason]');
  }
  for (const { record, info } of rows) {
    const row: Record<string, string> = {};
    header.forEach((name, i) => {
      const value = record[i];
      if (value !== undefined && value !== '') row[name] = value;
    });
    check(row, info.lines);
  }
  return { items, problems };
}

/**
 * `automod remove`: enqueues the removals, shows a progress bar while outcomes come in, ends with a
 * per-participant table (or JSON). Returns the exit code: 0 only when every removal ended
 * `removed` or `already-gone` and every input line was valid.
 */
export async function runRemove(services: Services, options: RemoveOptions, io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream }): Promise<number> {
  let body: RemovalsBody;
  let problems: string[] = [];
  if (options.file) {
    const text = options.file === '-' ? await readStdin() : await readFile(options.file, 'utf8');
    const parsed = parseRemovalFile(text);
    problems = parsed.problems;
    for (const p of problems) io.stderr.write(`invalid: ${p}\n`);
    if (parsed.items.length === 0) {
      io.stderr.write('no valid removals in the file\n');
      return 1;
    }
    body = { removals: parsed.items.map((i) => ({ ...i, ...(options.reason && !i.reason ? { reason: options.reason } : {}) })) };
  } else if (options.session && options.all) {
    body = {
      sessionId: options.session,
      all: true,
      except: options.except ?? [],
      ...(options.meeting ? { meetingId: options.meeting } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
    };
  } else if (options.session && options.participant?.length) {
    const items = options.participant.map((participantId) => ({
      sessionId: options.session!,
      participantId,
      ...(options.meeting ? { meetingId: options.meeting } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
    }));
    body = { removals: items };
  } else {
    throw new UsageError('say whom to remove: --session S --participant P..., --file FILE, or --session S --all [--except P...]');
  }

  // Listen before enqueueing so no outcome is missed.
  const connection = options.wait ? createRedis(services.config.redis, { blocking: true }) : undefined;
  const queueEvents = connection ? new QueueEvents(REMOVALS_QUEUE, { connection, prefix: services.config.keyPrefix }) : undefined;
  try {
    if (queueEvents) await queueEvents.waitUntilReady();
    const { jobs, skipped } = await requestRemovals(body, { requester: services.requester, client: services.client, requestedBy: 'operator:cli' });
    if (skipped.length > 0 && !options.json) io.stderr.write(`kept (--except): ${skipped.join(', ')}\n`);
    if (!options.wait || !queueEvents) {
      if (options.json) printJson(jobs, io.stdout);
      else io.stdout.write(`${table(['session', 'participant', 'job', 'note'], jobs.map((j) => [j.sessionId, j.participantId, j.jobId, j.collapsed ? 'joined a pending removal' : 'queued']))}\n`);
      return problems.length > 0 ? 1 : 0;
    }
    const rows = await waitForOutcomes(services, queueEvents, jobs, options, io);
    if (options.json) printJson(rows, io.stdout);
    else {
      io.stdout.write(`${table(['session', 'participant', 'outcome', 'job', 'detail'], rows.map((r) => [r.sessionId, r.participantId, r.outcome, r.jobId, r.detail]))}\n`);
      const counts = new Map<string, number>();
      for (const r of rows) counts.set(r.outcome, (counts.get(r.outcome) ?? 0) + 1);
      io.stdout.write(`${[...counts].map(([o, n]) => `${o}: ${n}`).join(', ')}\n`);
    }
    const ok = rows.every((r) => r.outcome === 'removed' || r.outcome === 'already-gone');
    return ok && problems.length === 0 ? 0 : 1;
  } finally {
    await queueEvents?.close();
    connection?.disconnect();
  }
}

async function waitForOutcomes(
  services: Services,
  queueEvents: QueueEvents,
  jobs: readonly BulkJob[],
  options: RemoveOptions,
  io: { stdout: NodeJS.WriteStream; stderr: NodeJS.WriteStream },
): Promise<RemoveRow[]> {
  const pending = new Map<string, BulkJob[]>();
  for (const job of jobs) pending.set(job.jobId, [...(pending.get(job.jobId) ?? []), job]);
  const done = new Map<string, { outcome: string; detail: string }>();
  const bar = io.stderr.isTTY && !options.json ? new SingleBar({ format: 'removing [{bar}] {value}/{total} | {note}', hideCursor: true }, Presets.shades_classic) : undefined;
  bar?.start(pending.size, 0, { note: '' });

  const settle = async (jobId: string) => {
    if (!pending.has(jobId) || done.has(jobId)) return;
    const outcome = await services.outcomes.getOutcome(jobId);
    const state = await services.queues.removals.getJobState(jobId);
    if (!outcome && state !== 'failed' && state !== 'completed') return;
    done.set(jobId, {
      outcome: outcome?.outcome ?? (state === 'failed' ? 'failed' : 'unknown'),
      detail: [outcome?.status, outcome?.message].filter((x) => x !== undefined).join(' '),
    });
    bar?.update(done.size);
  };
  queueEvents.on('completed', ({ jobId }) => void settle(jobId));
  queueEvents.on('failed', ({ jobId }) => void settle(jobId));

  const deadline = options.timeout > 0 ? Date.now() + options.timeout * 1000 : Infinity;
  let lastPauseNote = 0;
  while (done.size < pending.size && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Events can be missed (jobs that finished before we listened, reconnections): poll as a backstop.
    for (const jobId of [...pending.keys()].filter((id) => !done.has(id)).slice(0, 200)) await settle(jobId);
    if (Date.now() - lastPauseNote > 5000) {
      lastPauseNote = Date.now();
      const paused = await services.pause.get();
      const note = paused ? `removals paused: ${paused.reason}` : '';
      if (bar) bar.update(done.size, { note });
      else if (paused && !options.json) io.stderr.write(`waiting: ${note}\n`);
    }
  }
  bar?.stop();
  return jobs.map((job) => {
    const result = done.get(job.jobId);
    return {
      sessionId: job.sessionId,
      participantId: job.participantId,
      jobId: job.jobId,
      outcome: result?.outcome ?? 'pending',
      detail: result?.detail ?? (job.collapsed ? 'joined a pending removal' : 'still queued when the wait ended'),
    };
  });
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}
