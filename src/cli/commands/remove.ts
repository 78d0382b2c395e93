import { QueueEvents } from 'bullmq';
import { Presets, SingleBar, type Options, type Params } from 'cli-progress';
import { parse as parseCsv } from 'csv-parse/sync';
import type { Services } from '../../app/services.js';
import { UsageError } from '../../shared/errors.js';
import { sleep } from '../../shared/sleep.js';
import { REMOVALS_QUEUE } from '../../removals/removal-queue.js';
import { removalItemSchema, requestRemovals, type BulkJob, type RemovalItem, type RemovalsBody } from '../../removals/bulk.js';
import { findWorkers, NO_WORKER_EXIT, noWorkerMessage } from '../../removals/worker-presence.js';
import { createRedis } from '../../store/redis.js';
import { countLine, detailText, printJson, readInput, table, type CommandIo } from '../format.js';

export interface RemoveOptions {
  session?: string | undefined;
  participant?: string[] | undefined;
  file?: string | undefined;
  all?: boolean | undefined;
  except?: string[] | undefined;
  meeting?: string | undefined;
  reason?: string | undefined;
  /** Wait for the outcomes (default); false only enqueues. */
  wait: boolean;
  json: boolean;
  /** Give up waiting after this many seconds (0 = wait until every removal ends). */
  timeout: number;
  /** Recorded with every job (`operator:NAME`). */
  requestedBy: string;
  /** Stops waiting (Ctrl-C): the removals go on in the workers, the table shows them pending. */
  signal?: AbortSignal | undefined;
  /** How often a non-terminal prints a progress line, in ms (default 5000). */
  progressEveryMs?: number;
  /** `--ban DURATION`: ban each participant removed (scope and meeting resolved by the caller). */
  ban?: { for: string; scope: 'meeting' | 'all'; meetingId?: string } | undefined;
}

/** One line of the final table (and of `--json`). */
export interface RemoveRow {
  sessionId: string;
  participantId: string;
  jobId: string | null;
  /** `removed`, `already-gone`, `rejected`, `failed`; `pending` when the wait ended first. */
  outcome: string;
  detail: string;
}

/** A line of the input that could not be used. */
export interface InputProblem {
  line: number;
  error: string;
}

/** Outcomes that count as success for the exit code. */
const SUCCESS = new Set(['removed', 'already-gone']);
const CSV_COLUMNS = ['sessionId', 'participantId', 'meetingId', 'reason'] as const;

/**
 * Reads `sessionId,participantId[,meetingId,reason]` CSV (with a header line) or JSON lines. Each
 * line stands alone: a bad one is reported with its number and the good ones are kept.
 */
export function parseRemovalFile(text: string): { items: RemovalItem[]; problems: InputProblem[] } {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const items: RemovalItem[] = [];
  const problems: InputProblem[] = [];
  const check = (candidate: unknown, line: number) => {
    const parsed = removalItemSchema.safeParse(candidate);
    if (parsed.success) items.push(parsed.data);
    else problems.push({ line, error: parsed.error.issues.map((i) => `${i.path.join('.') || 'line'} ${issueMessage(i)}`).join('; ') });
  };
  const first = lines.findIndex((line) => line.trim() !== '');
  if (first === -1) return { items, problems };

  if (lines[first]!.trimStart().startsWith('{')) {
    lines.forEach((raw, index) => {
      if (raw.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(raw);
      } catch {
        problems.push({ line: index + 1, error: 'not valid JSON' });
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value))
        problems.push({ line: index + 1, error: 'must be a JSON object' });
      else check(value, index + 1);
    });
    return { items, problems };
  }

  const header = csvLine(lines[first]!)?.map((name) => name.trim());
  const columns = header?.map((name) => CSV_COLUMNS.find((c) => c.toLowerCase() === name.toLowerCase()));
  if (!header || !columns?.includes('sessionId') || !columns.includes('participantId')) {
    throw new UsageError(`line ${first + 1}: the CSV file needs a header line: sessionId,participantId[,meetingId,reason]`);
  }
  for (let index = first + 1; index < lines.length; index++) {
    const raw = lines[index]!;
    if (raw.trim() === '') continue;
    const record = csvLine(raw);
    if (!record) {
      problems.push({ line: index + 1, error: 'not valid CSV (check the quotes)' });
      continue;
    }
    const row: Record<string, string> = {};
    columns.forEach((column, i) => {
      const value = record[i]?.trim();
      if (column && value !== undefined && value !== '') row[column] = value;
    });
    check(row, index + 1);
  }
  return { items, problems };
}

/** One CSV line as fields; undefined when it does not parse (a stray quote). */
function csvLine(line: string): string[] | undefined {
  try {
    const [record] = parseCsv(line, { relax_column_count: true }) as string[][];
    return record ?? [];
  } catch {
    return undefined;
  }
}

function issueMessage(issue: { code: string; message: string; input?: unknown }): string {
  return issue.code === 'invalid_type' && issue.input === undefined ? 'is missing' : issue.message;
}

/** Turns the options into a removal request, refusing combinations that say two things. */
export async function removalBody(
  options: RemoveOptions,
  io: CommandIo,
): Promise<{ body: RemovalsBody | undefined; problems: InputProblem[] }> {
  const extras = (item: { reason?: string | undefined; meetingId?: string | undefined }) => ({
    ...(options.meeting && !item.meetingId ? { meetingId: options.meeting } : {}),
    ...(options.reason && !item.reason ? { reason: options.reason } : {}),
  });
  if (options.except?.length && !options.all) throw new UsageError('--except only goes with --all');
  if (options.file !== undefined) {
    if (options.session || options.participant?.length || options.all) {
      throw new UsageError('--file names the sessions itself: do not combine it with --session, --participant or --all');
    }
    const parsed = parseRemovalFile(await readInput(options.file, io));
    const items = parsed.items.map((item) => ({ ...item, ...extras(item) }));
    return { body: items.length > 0 ? { removals: items } : undefined, problems: parsed.problems };
  }
  if (!options.session) {
    throw new UsageError('say whom to remove: --session S --participant P..., --file FILE, or --session S --all [--except P...]');
  }
  if (options.all) {
    if (options.participant?.length) throw new UsageError('use either --participant or --all, not both');
    return {
      body: { sessionId: options.session, all: true, except: options.except ?? [], ...extras({}) },
      problems: [],
    };
  }
  if (!options.participant?.length) throw new UsageError('--session needs --participant P... or --all');
  const session = options.session;
  return {
    body: { removals: options.participant.map((participantId) => ({ sessionId: session, participantId, ...extras({}) })) },
    problems: [],
  };
}

/**
 * `automod remove`: enqueues the removals (in chunks, with `addBulk`), shows a progress bar while
 * the outcomes come in (QueueEvents), ends with a per-participant table (or JSON). Returns the
 * exit code: 0 only when every input line was valid and every removal ended `removed` or
 * `already-gone`.
 */
export async function runRemove(services: Services, options: RemoveOptions, io: CommandIo): Promise<number> {
  const { body, problems } = await removalBody(options, io);
  for (const p of problems) io.stderr.write(`line ${p.line}: ${p.error}\n`);
  if (problems.length > 0) io.stderr.write(`${problems.length} invalid line(s) skipped; the valid ones are carried out\n`);
  if (!body) {
    io.stderr.write('nothing to remove: no valid line in the input\n');
    return 1;
  }
  // A CLI on another AUTOMOD_PREFIX than the workers queues where nobody listens.
  const presence = await findWorkers(services.queues.removals, services.redis);
  if (presence.here === 0) {
    io.stderr.write(`${noWorkerMessage(services.config.prefix, presence)}\n`);
    if (options.wait) {
      io.stderr.write('nothing queued: the wait would never end; --no-wait queues them for a worker that starts later\n');
      return NO_WORKER_EXIT;
    }
  }

  // Read events from just before enqueueing (Redis's clock, like the stream ids), so no outcome is missed.
  const connection = options.wait ? createRedis(services.config.redis, { blocking: true, name: 'automod-remove' }) : undefined;
  const queueEvents = connection
    ? new QueueEvents(REMOVALS_QUEUE, { connection, prefix: services.config.keyPrefix, lastEventId: await streamIdNow(services) })
    : undefined;
  try {
    await queueEvents?.waitUntilReady();
    const { jobs, skipped } = await requestRemovals(body, {
      requester: services.requester,
      client: services.client,
      requestedBy: options.requestedBy,
    });
    if (skipped.length > 0) io.stderr.write(`kept (--except): ${skipped.join(', ')}\n`);
    if (options.ban) await banRemoved(services, jobs, options.ban, options, io);
    if (jobs.length === 0) {
      io.stderr.write('nobody to remove\n');
      if (options.json) printJson([], io.stdout);
      return problems.length > 0 ? 1 : 0;
    }
    if (!queueEvents) {
      if (options.json) printJson(jobs, io.stdout);
      else {
        io.stdout.write(
          `${table(
            ['session', 'participant', 'job', 'note'],
            jobs.map((j) => [j.sessionId, j.participantId, j.jobId, j.collapsed ? 'joined a pending removal' : 'queued']),
            io.columns,
          )}\n`,
        );
        const sessions = [...new Set(jobs.map((j) => j.sessionId))];
        io.stdout.write(
          `queued ${jobs.length} removal(s); follow them with: automod jobs --session ${sessions.length === 1 ? sessions[0] : '<id>'}\n`,
        );
      }
      return problems.length > 0 ? 1 : 0;
    }
    const rows = await waitForOutcomes(services, queueEvents, jobs, options, io);
    if (options.json) printJson(rows, io.stdout);
    else {
      io.stdout.write(
        `${table(
          ['session', 'participant', 'outcome', 'job', 'detail'],
          rows.map((r) => [r.sessionId, r.participantId, r.outcome, r.jobId, r.detail]),
          io.columns,
        )}\n`,
      );
      io.stdout.write(`${rows.length} participant(s): ${countLine(rows.map((r) => r.outcome)) || 'none'}\n`);
      if (rows.some((r) => r.outcome === 'failed'))
        io.stdout.write('failed removals stay in the failed set: automod replay --dry-run, then automod replay\n');
    }
    return rows.every((r) => SUCCESS.has(r.outcome)) && problems.length === 0 ? 0 : 1;
  } finally {
    await queueEvents?.close().catch(() => undefined);
    connection?.disconnect();
  }
}

/** Waits until every job has an outcome (or the timeout, or the signal), showing progress. */
export async function waitForOutcomes(
  services: Services,
  queueEvents: QueueEvents,
  jobs: readonly BulkJob[],
  options: Pick<RemoveOptions, 'json' | 'timeout' | 'signal' | 'progressEveryMs'>,
  io: CommandIo,
): Promise<RemoveRow[]> {
  const pending = new Set(jobs.map((j) => j.jobId));
  const done = new Map<string, { outcome: string; detail: string }>();
  const tally = new Map<string, number>();
  const summary = () => [...tally].map(([outcome, n]) => `${outcome} ${n}`).join(', ');
  const bar = io.stderr.isTTY
    ? new SingleBar({ format: barLine, hideCursor: true, etaBuffer: 200, stream: io.stderr, barsize: 30 }, Presets.shades_classic)
    : undefined;
  bar?.start(pending.size, 0, { summary: '', note: '' });
  let note = '';

  const record = (jobId: string, outcome: string, detail: string) => {
    if (!pending.has(jobId) || done.has(jobId)) return;
    done.set(jobId, { outcome, detail });
    tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
    bar?.update(done.size, { summary: summary(), note });
  };
  const fromStore = async (jobId: string, state: string) => {
    let outcome = await services.outcomes.getOutcome(jobId);
    if (!outcome && state === 'failed') {
      // The outcome of a job that failed is written just after BullMQ fails it.
      await sleep(300, undefined);
      outcome = await services.outcomes.getOutcome(jobId);
    }
    const detail = detailText({ status: outcome?.status, message: outcome?.message });
    record(
      jobId,
      outcome?.outcome ?? (state === 'failed' ? 'failed' : state === 'unknown' ? 'unknown' : 'completed'),
      state === 'unknown' ? 'the job no longer exists' : detail,
    );
  };
  queueEvents.on('completed', ({ jobId, returnvalue }) => {
    if (!pending.has(jobId)) return;
    const result = returnvalue as { outcome?: unknown; status?: unknown; message?: unknown } | null;
    if (result && typeof result.outcome === 'string') {
      record(
        jobId,
        result.outcome,
        detailText({
          status: typeof result.status === 'number' ? result.status : undefined,
          message: typeof result.message === 'string' ? result.message : undefined,
        }),
      );
    } else void fromStore(jobId, 'completed').catch(() => undefined);
  });
  queueEvents.on('failed', ({ jobId }) => {
    if (pending.has(jobId)) void fromStore(jobId, 'failed').catch(() => undefined);
  });

  const started = Date.now();
  const deadline = options.timeout > 0 ? started + options.timeout * 1000 : Infinity;
  const progressEvery = options.progressEveryMs ?? 5000;
  let lastCheck = 0;
  let lastProgress = started;
  let lastReported = 0;
  let lastNote = '';
  let lastDetail = '';
  let cursor = 0;
  while (done.size < pending.size && Date.now() < deadline && !options.signal?.aborted) {
    await sleep(200, options.signal);
    const now = Date.now();
    if (now - lastCheck < 2000) continue;
    lastCheck = now;
    // Events can be missed (a reconnection, a job removed by hand): look at a slice of the
    // unsettled jobs each time, round-robin, as a backstop.
    const open = [...pending].filter((id) => !done.has(id));
    for (let i = 0; i < Math.min(100, open.length); i++) {
      const jobId = open[(cursor + i) % open.length]!;
      const state = await services.queues.removals.getJobState(jobId);
      if (state === 'completed' || state === 'failed' || state === 'unknown') await fromStore(jobId, state);
    }
    cursor += 100;
    const paused = await services.pause.get();
    const queuePaused = paused ? true : await services.queues.removals.isPaused();
    note = queuePaused ? ` | PAUSED: ${paused?.reason ?? 'the removals queue is paused'}` : '';
    if (bar) bar.update(done.size, { summary: summary(), note });
    else {
      // Without a terminal (a log, CI), a line per pending job says why it is pending: during an
      // outage "0/3 done" for minutes tells nothing.
      const open = jobs.filter((j) => !done.has(j.jobId));
      const details = await pendingDetails(services, open.slice(0, PENDING_SHOWN));
      const detail = details.map((d) => d.key).join('\n');
      if (
        (now - lastProgress >= progressEvery && (done.size !== lastReported || note !== lastNote || detail !== lastDetail)) ||
        now - lastProgress >= progressEvery * 6
      ) {
        // A line when something changed (at most every 5 s), else a sign of life every 30 s.
        lastProgress = now;
        lastReported = done.size;
        lastNote = note;
        lastDetail = detail;
        io.stderr.write(`progress: ${done.size}/${pending.size} done${tally.size ? ` (${summary()})` : ''}${note}\n`);
        for (const d of details) io.stderr.write(`  ${d.line(Date.now())}\n`);
        if (open.length > PENDING_SHOWN) io.stderr.write(`  ... and ${open.length - PENDING_SHOWN} more pending\n`);
      }
    }
  }
  bar?.stop();
  if (done.size < pending.size) {
    const why = options.signal?.aborted ? 'interrupted' : 'timed out';
    io.stderr.write(`${why}: ${pending.size - done.size} removal(s) still pending; they go on in the workers (automod jobs)\n`);
  }
  return jobs.map((job) => {
    const result = done.get(job.jobId);
    return {
      sessionId: job.sessionId,
      participantId: job.participantId,
      jobId: job.jobId,
      outcome: result?.outcome ?? 'pending',
      detail:
        result?.detail ??
        (note
          ? `still queued:${note.replace(/^ \|/, '')}`
          : job.collapsed
            ? 'joined a pending removal'
            : 'still queued when the wait ended'),
    };
  });
}

/** Pending jobs described one per line under a progress line. */
const PENDING_SHOWN = 10;

/**
 * Where each pending job stands: its state, tries made of allowed, the last VideoSDK answer and,
 * for a job waiting out a backoff, when it tries next. `key` leaves out the countdown, so an
 * unchanged situation is not printed again.
 */
async function pendingDetails(services: Services, open: readonly BulkJob[]): Promise<{ key: string; line: (now: number) => string }[]> {
  const queue = services.queues.removals;
  return Promise.all(
    open.map(async (j) => {
      const job = await queue.getJob(j.jobId);
      const state = job ? await job.getState() : 'unknown';
      const last = (await services.outcomes.attempts(j.jobId)).at(-1);
      const lastText = last ? `last ${last.method} ${last.status ?? last.error ?? '?'}` : 'no call yet';
      let next: number | undefined;
      const delayedKey = queue.keys.delayed;
      if (state === 'delayed' && delayedKey) {
        // BullMQ scores a delayed job by its due time in ms, times 0x1000 plus a counter.
        const score = await services.redis.zscore(delayedKey, j.jobId);
        if (score !== null) next = Math.floor(Number(score) / 0x1000);
      }
      const tries = job ? `tries ${job.attemptsMade}/${job.opts.attempts ?? 1}` : '';
      const key = `${j.participantId} in ${j.sessionId} (job ${j.jobId}): ${state}${tries ? `, ${tries}` : ''}, ${lastText}${next !== undefined ? `, next try at ${new Date(next).toISOString()}` : ''}`;
      return { key, line: (now: number) => (next !== undefined ? `${key} (in ${Math.max(0, Math.ceil((next - now) / 1000))}s)` : key) };
    }),
  );
}

/** One line of the bar: `removing [████░░] 120/500 | removed 118, failed 2 | 4s, about 6s left`. */
function barLine(options: Options, params: Params, payload: { summary?: string; note?: string }): string {
  const size = options.barsize ?? 30;
  const done = Math.round(params.progress * size);
  const bar = `${(options.barCompleteString ?? '#').slice(0, done)}${(options.barIncompleteString ?? '-').slice(0, size - done)}`;
  const elapsed = Math.round((Date.now() - params.startTime) / 1000);
  const left = params.value > 0 && Number.isFinite(params.eta) && params.value < params.total ? `, about ${params.eta}s left` : '';
  return `removing [${bar}] ${params.value}/${params.total}${payload.summary ? ` | ${payload.summary}` : ''}${payload.note ?? ''} | ${elapsed}s${left}`;
}

/** A stream id for "now" by Redis's own clock. */
export async function streamIdNow(services: Pick<Services, 'redis'>): Promise<string> {
  const [seconds, micros] = await services.redis.time();
  return `${Number(seconds) * 1000 + Math.floor(Number(micros) / 1000) - 1}-0`;
}

/** `remove --ban`: each participant asked to be removed is banned too (the bans are in the audit trail). */
async function banRemoved(
  services: Services,
  jobs: readonly { participantId: string }[],
  ban: NonNullable<RemoveOptions['ban']>,
  options: RemoveOptions,
  io: CommandIo,
): Promise<void> {
  for (const participantId of new Set(jobs.map((j) => j.participantId))) {
    const made = await services.banActions.ban({
      participantId,
      scope: ban.scope,
      ...(ban.meetingId !== undefined ? { meetingId: ban.meetingId } : {}),
      for: ban.for,
      reason: options.reason ?? 'removed and banned by an operator',
      by: options.requestedBy,
    });
    const where = made.ban.scope === 'all' ? 'every meeting' : `meeting ${made.ban.meetingId}`;
    io.stderr.write(`banned ${participantId} from ${where} ${made.ban.until === null ? 'permanently' : `until ${made.ban.until}`}\n`);
  }
}
