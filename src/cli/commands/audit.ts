import { Option, type Command } from 'commander';
import type { Services } from '../../app/services.js';
import { parseTime } from '../../shared/parse-time.js';
import { readShadowSummary } from '../../rules/shadow-report.js';
import type { AuditFilter, AuditRecord } from '../../store/audit.js';
import type { CliContext } from '../context.js';
import { printJson, table, type CommandIo } from '../format.js';
import { parseLimit } from '../options.js';
import { formatShadowSummary } from '../rules-format.js';

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

/** `automod audit`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('audit')
    .description('read the audit trail, newest first: rule hits, removals with their API calls, replays, pauses')
    .option('--session <id>')
    .option('--participant <id>')
    .option('--rule <name>')
    .addOption(new Option('--mode <mode>').choices(['enforce', 'shadow']))
    .option('--kind <kind>', 'rule-hit, removal, replay, pause, resume, rules-reload, dead-letter')
    .option('--outcome <outcome>', 'removed, already-gone, rejected, failed, flagged, skipped-shadow, ...')
    .option('--since <time>', 'ISO time or 30m, 24h, 7d')
    .option('--until <time>')
    .option('--limit <n>', 'at most this many records (up to 1000)', '100')
    .option('--json', 'print {"records": [...]} as GET /v1/audit answers')
    .action(async (options: Omit<AuditOptions, 'limit' | 'json'> & { limit: string; json?: boolean }) => {
      const limit = parseLimit(options.limit, 100, 1000);
      ctx.setExitCode(
        await ctx.withServices((services) => runAudit(services, { ...options, limit, json: options.json ?? false }, ctx.io, Date.now())),
      );
    });
}
