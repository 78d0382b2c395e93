import type { Services } from '../../app/services.js';
import { UsageError } from '../../shared/errors.js';
import { parseTime } from '../../shared/parse-time.js';
import { describeJobWithAttempts, listJobs, type JobState } from '../../removals/job-view.js';
import type { AuditFilter, AuditRecord } from '../../store/audit.js';
import { countLine, detailText, printJson, table, type CommandIo } from '../format.js';
import { readShadowSummary } from '../../rules/shadow-report.js';
import { formatShadowSummary } from '../rules-format.js';

/** Parses a `--limit` value; `max` caps it. */
export function parseLimit(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max) throw new UsageError(`--limit must be a whole number from 1 to ${max}, got "${value}"`);
  return n;
}

/** `automod jobs`: removal jobs by state and session; `--json` prints the `GET /v1/jobs/:id` objects. */
export async function runJobs(
  services: Services,
  options: { state?: JobState | undefined; session?: string | undefined; limit: number; json: boolean },
  io: CommandIo,
): Promise<number> {
  const { jobs, truncated } = await listJobs(services.queues.removals, services.outcomes, {
    state: options.state,
    sessionId: options.session,
    limit: options.limit,
  });
  if (options.json) {
    printJson(jobs, io.stdout);
  } else {
    const rows = jobs.map((v) => {
      if (v.malformed !== undefined)
        return [v.id, v.state, v.attemptsMade, v.outcome ?? '', `malformed: ${v.malformed}`, '', '', detailText(v.detail)];
      const d = v.data as { sessionId?: string; participantId?: string; rule?: string; requestedBy?: string };
      return [
        v.id,
        v.state,
        v.attemptsMade,
        v.outcome ?? '',
        d.sessionId,
        d.participantId,
        d.rule ?? d.requestedBy ?? '',
        detailText(v.detail),
      ];
    });
    io.stdout.write(`${table(['job', 'state', 'tries', 'outcome', 'session', 'participant', 'rule / by', 'detail'], rows, io.columns)}\n`);
    io.stdout.write(`${jobs.length} job(s)${jobs.length ? `: ${countLine(jobs.map((j) => j.state))}` : ''}\n`);
  }
  if (truncated) io.stderr.write(`only the first ${options.limit} shown; narrow with --state or --session, or raise --limit\n`);
  return 0;
}

/** `automod job ID`: one job, with every VideoSDK call made for it. */
export async function runJob(services: Services, id: string, options: { json: boolean }, io: CommandIo): Promise<number> {
  const view = await describeJobWithAttempts(services.queues, services.outcomes, services.audit, id);
  if (!view) {
    io.stderr.write(`no job ${id} (finished jobs are kept ${services.config.jobsKeepHours} h, failed ones 7 times longer)\n`);
    return 1;
  }
  if (options.json) {
    printJson(view, io.stdout);
    return 0;
  }
  // An events job, or a removal job whose data a direct producer filled with anything.
  const data =
    view.data !== null && typeof view.data === 'object' && !Array.isArray(view.data) ? (view.data as Record<string, unknown>) : undefined;
  const lines: [string, unknown][] = [
    ['job', view.id],
    ['queue', view.queue],
    ['state', view.state],
    ['outcome', view.outcome ?? '(none yet)'],
    ['detail', detailText(view.detail)],
    ['tries', view.attemptsMade],
    ['created', view.createdAt],
    ['finished', view.finishedAt ?? ''],
    ...(view.malformed !== undefined || !data ? [['data', `malformed: ${view.malformed ?? 'not an object'}`] as [string, unknown]] : []),
    ...Object.entries(view.malformed !== undefined ? {} : (data ?? {})).map(([key, value]): [string, unknown] => [
      key,
      typeof value === 'string' ? value : JSON.stringify(value),
    ]),
  ];
  const width = Math.max(...lines.map(([k]) => k.length));
  io.stdout.write(`${lines.map(([k, v]) => `${k.padEnd(width)}  ${String(v ?? '')}`).join('\n')}\n`);
  if (view.attempts.length > 0) {
    io.stdout.write(
      `\nVideoSDK calls:\n${table(
        ['at', 'call', 'status', 'latency', 'request id'],
        view.attempts.map((a) => [
          new Date(a.at).toISOString(),
          `${a.method} ${a.operation}`,
          a.status ?? a.error ?? '',
          `${a.latencyMs} ms`,
          a.requestId ?? '',
        ]),
        io.columns,
      )}\n`,
    );
  }
  return 0;
}

/** `automod session ID`: the recorded session state and its removals. */
export async function runSession(services: Services, sessionId: string, options: { json: boolean }, io: CommandIo): Promise<number> {
  const recorded = await services.sessions.get(sessionId);
  if (!recorded) {
    io.stderr.write(`nothing is recorded for session ${sessionId}\n`);
    return 1;
  }
  if (options.json) {
    printJson(recorded, io.stdout);
    return 0;
  }
  io.stdout.write(
    `session ${recorded.sessionId} (state recorded ${recorded.updatedAt}${recorded.jobId ? ` by job ${recorded.jobId}` : ''})\n`,
  );
  const participants = sessionParticipants(recorded.session);
  if (participants.length > 0) {
    io.stdout.write(
      `\n${table(
        ['participant', 'name', 'in session'],
        participants.map((p) => [p.participantId, p.name, p.active ? 'yes' : 'no']),
        io.columns,
      )}\n`,
    );
    io.stdout.write(`${participants.filter((p) => p.active).length} of ${participants.length} still in the session\n`);
  }
  io.stdout.write(
    `\nremovals:\n${table(
      ['participant', 'outcome', 'rule', 'reason', 'job', 'at'],
      recorded.removals.map((r) => [r.participantId, r.outcome, r.rule ?? '', r.reason, r.jobId, r.at]),
      io.columns,
    )}\n`,
  );
  return 0;
}

/** Options of `automod audit`, as given on the command line. */
export interface AuditOptions {
  session?: string | undefined;
  participant?: string | undefined;
  rule?: string | undefined;
  mode?: 'enforce' | 'shadow' | undefined;
  kind?: string | undefined;
  outcome?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
  limit: number;
  json: boolean;
}

/** `automod audit`: the audit trail, newest first; `--json` prints what `GET /v1/audit` answers. */
export async function runAudit(services: Services, options: AuditOptions, io: CommandIo, now: number): Promise<number> {
  const filter: AuditFilter = {
    ...(options.session ? { sessionId: options.session } : {}),
    ...(options.participant ? { participantId: options.participant } : {}),
    ...(options.rule ? { rule: options.rule } : {}),
    ...(options.mode ? { mode: options.mode } : {}),
    ...(options.kind ? { kind: options.kind } : {}),
    ...(options.outcome ? { outcome: options.outcome } : {}),
    ...(options.since ? { since: parseTime(options.since, '--since', now) } : {}),
    ...(options.until ? { until: parseTime(options.until, '--until', now) } : {}),
    limit: options.limit,
  };
  const records = await services.audit.query(filter);
  if (options.kind === 'dead-letter') {
    // Invalid events are kept on the dead-letter list, not in the audit trail.
    io.stderr.write(
      `invalid events taken from the queue are not audit records: automod dead-letters (GET /v1/dead-letters) lists them (${await services.deadLetters.count()} kept)\n`,
    );
  }
  // With --mode shadow, a per-rule summary of every matching shadow hit (not only --limit of them).
  const shadow = options.mode === 'shadow' ? await readShadowSummary(services.audit, filter) : undefined;
  if (options.json) {
    printJson({ records, ...(shadow ? { summary: shadow } : {}) }, io.stdout);
    return 0;
  }
  io.stdout.write(
    `${table(
      ['at', 'kind', 'outcome', 'session', 'participant', 'rule / by', 'mode', 'job', 'api calls', 'reason'],
      records.map((r) => [
        r.at,
        r.kind,
        r.outcome ?? '',
        r.sessionId ?? '',
        r.participantId ?? '',
        r.rule ?? r.requestedBy ?? '',
        r.mode ?? '',
        r.jobId ?? '',
        apiCalls(r),
        r.reason ?? '',
      ]),
      io.columns,
    )}\n`,
  );
  io.stdout.write(
    `${records.length} record(s)${records.length === options.limit ? ` (the newest ${options.limit}; raise --limit or narrow the filters for more)` : ''}\n`,
  );
  if (shadow) io.stdout.write(`\n${formatShadowSummary(shadow)}\n`);
  return 0;
}

function apiCalls(record: AuditRecord): string {
  return (record.attempts ?? []).map((a) => `${a.method} ${a.status ?? a.error ?? '?'} ${a.latencyMs}ms`).join(', ');
}

function sessionParticipants(session: unknown): { participantId: string; name: string; active: boolean }[] {
  const participants = (session as { participants?: unknown } | null)?.participants;
  if (!Array.isArray(participants)) return [];
  return participants.flatMap((p: unknown) => {
    const item = p as { participantId?: unknown; name?: unknown; timelog?: { end?: unknown }[] };
    if (typeof item.participantId !== 'string') return [];
    const last = Array.isArray(item.timelog) ? item.timelog[item.timelog.length - 1] : undefined;
    return [
      {
        participantId: item.participantId,
        name: typeof item.name === 'string' ? item.name : '',
        active: last !== undefined && (last.end ?? null) === null,
      },
    ];
  });
}
