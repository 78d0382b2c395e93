import { parse as parseCsv } from 'csv-parse/sync';
import { UsageError } from '../../shared/errors.js';
import { parseTime } from '../../shared/parse-time.js';
import { removalItemSchema, type RemovalItem, type RemovalsBody } from '../../removals/bulk.js';
import { readInput, type CommandIo } from '../format.js';

/** Whom `automod remove` is asked to remove, as given on the command line. */
export interface RemovalInput {
  session?: string | undefined;
  participant?: string[] | undefined;
  file?: string | undefined;
  all?: boolean | undefined;
  /** `--joined-since`: everyone still in the session whose first join is at or after this (ISO or a duration back from now). */
  joinedSince?: string | undefined;
  except?: string[] | undefined;
  meeting?: string | undefined;
  reason?: string | undefined;
}

/** A line of the input that could not be used. */
export interface InputProblem {
  line: number;
  error: string;
}

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
  options: RemovalInput,
  io: CommandIo,
  now: () => number = Date.now,
): Promise<{ body: RemovalsBody | undefined; problems: InputProblem[] }> {
  const extras = (item: { reason?: string | undefined; meetingId?: string | undefined }) => ({
    ...(options.meeting && !item.meetingId ? { meetingId: options.meeting } : {}),
    ...(options.reason && !item.reason ? { reason: options.reason } : {}),
  });
  if (options.except?.length && !options.all && options.joinedSince === undefined)
    throw new UsageError('--except only goes with --all or --joined-since');
  if (options.file !== undefined) {
    if (options.session || options.participant?.length || options.all || options.joinedSince !== undefined) {
      throw new UsageError('--file names the sessions itself: do not combine it with --session, --participant, --all or --joined-since');
    }
    const parsed = parseRemovalFile(await readInput(options.file, io));
    const items = parsed.items.map((item) => ({ ...item, ...extras(item) }));
    return { body: items.length > 0 ? { removals: items } : undefined, problems: parsed.problems };
  }
  if (!options.session) {
    throw new UsageError(
      'say whom to remove: --session S --participant P..., --file FILE, --session S --all [--except P...] or --session S --joined-since TIME',
    );
  }
  if (options.joinedSince !== undefined) {
    if (options.participant?.length || options.all) throw new UsageError('use one of --participant, --all and --joined-since');
    const since = parseTime(options.joinedSince, '--joined-since', now());
    return {
      body: { sessionId: options.session, joinedSince: new Date(since).toISOString(), except: options.except ?? [], ...extras({}) },
      problems: [],
    };
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
