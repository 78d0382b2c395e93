import type { QueueEvents } from 'bullmq';
import { Presets, SingleBar, type Options, type Params } from 'cli-progress';
import type { Services } from '../../app/services.js';
import type { BulkJob } from '../../removals/bulk.js';
import { sleep } from '../../shared/sleep.js';
import { terminalText } from '../../shared/terminal-text.js';
import { detailText, type CommandIo } from '../format.js';

/** One line of the final table (and of `--json`). */
export interface RemoveRow {
  sessionId: string;
  participantId: string;
  jobId: string | null;
  /** `removed`, `already-gone`, `rejected`, `failed`; `pending` when the wait ended first. */
  outcome: string;
  detail: string;
}

/** How a wait for outcomes goes. */
export interface WaitOptions {
  /** Give up waiting after this many seconds (0 = wait until every removal ends). */
  timeout: number;
  /** Stops waiting (Ctrl-C): the removals go on in the workers, the table shows them pending. */
  signal?: AbortSignal | undefined;
  /** How often a non-terminal prints a progress line, in ms (default 5000). */
  progressEveryMs?: number | undefined;
}

/** Waits until every job has an outcome (or the timeout, or the signal), showing progress. */
export async function waitForOutcomes(
  services: Services,
  queueEvents: QueueEvents,
  jobs: readonly BulkJob[],
  options: WaitOptions,
  io: CommandIo,
): Promise<RemoveRow[]> {
  const pending = new Set(jobs.map((j) => j.jobId));
  const done = new Map<string, { outcome: string; detail: string }>();
  const tally = new Map<string, number>();
  const summary = () => [...tally].map(([outcome, n]) => `${outcome} ${n}`).join(', ');
  const bar = io.progress
    ? new SingleBar({ format: barLine, hideCursor: true, etaBuffer: 200, stream: io.progress, barsize: 30 }, Presets.shades_classic)
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
    // The bar is drawn raw on the terminal: the reason (anyone's text) is escaped here.
    note = queuePaused ? ` | PAUSED: ${terminalText(paused?.reason ?? 'the removals queue is paused')}` : '';
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
  // What each pending removal waits on: the queue's pause or VideoSDK's hold, else its own state.
  const open = jobs.filter((j) => !done.has(j.jobId));
  const hold = open.length > 0 ? await holdNote(services) : undefined;
  const why = new Map((await pendingDetails(services, open.slice(0, PENDING_DESCRIBED))).map((d) => [d.jobId, d.why]));
  return jobs.map((job) => {
    const result = done.get(job.jobId);
    const waiting = [job.collapsed ? 'joined a pending removal' : undefined, why.get(job.jobId), hold].filter(Boolean).join('; ');
    return {
      sessionId: job.sessionId,
      participantId: job.participantId,
      jobId: job.jobId,
      outcome: result?.outcome ?? 'pending',
      detail: result?.detail ?? (waiting || 'still queued when the wait ended'),
    };
  });
}

/** Pending jobs whose state the final table describes (past it: "still queued when the wait ended"). */
const PENDING_DESCRIBED = 1000;

/** Why nothing moves, whatever the job: the removals queue is paused, or VideoSDK asked to wait. */
async function holdNote(services: Services): Promise<string | undefined> {
  const paused = await services.pause.get();
  if (paused) return `removals are paused (${paused.kind}): ${paused.reason}`;
  if (await services.queues.removals.isPaused()) return 'the removals queue is paused (automod resume starts it)';
  const until = await services.pause.rateLimitedUntil(Date.now());
  return until === undefined ? undefined : `held by VideoSDK's Retry-After until ${new Date(until).toISOString()}`;
}

/** Pending jobs described one per line under a progress line. */
const PENDING_SHOWN = 10;

/**
 * Where each pending job stands: its state, tries made of allowed, the last VideoSDK answer and,
 * for a job waiting out a backoff, when it tries next. `key` leaves out the countdown, so an
 * unchanged situation is not printed again.
 */
async function pendingDetails(
  services: Services,
  open: readonly BulkJob[],
): Promise<{ jobId: string; key: string; why: string; line: (now: number) => string }[]> {
  const queue = services.queues.removals;
  return Promise.all(
    open.map(async (j) => {
      const job = await queue.getJob(j.jobId);
      const found = job ? await job.getState() : 'unknown';
      // A bulk list's job is prioritized (behind rules' removals): to an operator it is waiting.
      const state = found === 'prioritized' ? 'waiting' : found;
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
      const why = `${state}${tries ? `, ${tries}` : ''}, ${lastText}${next !== undefined ? `, next try at ${new Date(next).toISOString()}` : ''}`;
      const key = `${terminalText(j.participantId)} in ${terminalText(j.sessionId)} (job ${j.jobId}): ${why}`;
      return {
        jobId: j.jobId,
        key,
        why,
        line: (now: number) => (next !== undefined ? `${key} (in ${Math.max(0, Math.ceil((next - now) / 1000))}s)` : key),
      };
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
