import { Argument, Option, type Command } from 'commander';
import type { Services } from '../../app/services.js';
import { parseBanDuration } from '../../moderation/ban-params.js';
import { UsageError } from '../../shared/errors.js';
import { esc } from '../../shared/terminal-text.js';
import { REVIEW_STATES, type ReviewState } from '../../store/reviews.js';
import type { CliContext } from '../context.js';
import { printJson, table, type CommandIo } from '../format.js';
import { parseLimit } from '../options.js';

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
      esc`approved ${id}: removal of ${result.review.participantId} queued as job ${result.removalJobId}${result.review.ban ? ` (ban ${result.review.ban})` : ''}\n`,
    );
  else io.stdout.write(esc`dismissed ${id}\n`);
  return 0;
}

/** `automod reviews`, `automod review approve|dismiss ID`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('reviews')
    .description('the review queue: hits that review rules held for a moderator, newest first')
    .addOption(new Option('--state <state>', 'only items in this state').choices([...REVIEW_STATES]))
    .option('--limit <n>', 'at most this many items (up to 1000)', '100')
    .option('--json', 'print {"reviews": [...]} as GET /v1/reviews answers')
    .action(async (options: { state?: ReviewState; limit: string; json?: boolean }) => {
      const limit = parseLimit(options.limit, 100, 1000);
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runReviews(services, { state: options.state, limit, json: options.json ?? false }, ctx.io, Date.now()),
        ),
      );
    });

  program
    .command('review')
    .description('decide a review item: approve (the removal the rule asked for) or dismiss; exit 1 when already decided or expired')
    .addArgument(new Argument('<decision>', 'approve or dismiss').choices(['approve', 'dismiss']))
    .argument('<id>', 'the review item id (automod reviews)')
    .option('--note <text>', 'a note kept with the decision')
    .option('--ban <duration>', 'with approve: also ban for 10m, 24h, 7d ... or permanent')
    .option('--json', 'print {"review", "removalJobId"} as the HTTP API answers')
    .action(async (decision: 'approve' | 'dismiss', id: string, options: { note?: string; ban?: string; json?: boolean }) => {
      if (options.ban !== undefined) {
        if (decision !== 'approve') throw new UsageError('--ban goes with approve only');
        parseBanDuration(options.ban, '--ban');
      }
      if (options.note !== undefined && options.note.length > 500) throw new UsageError('--note must be at most 500 characters');
      ctx.setExitCode(
        await ctx.withServices((services) =>
          runReviewDecision(
            services,
            id,
            decision,
            { note: options.note, ban: options.ban, by: ctx.operator, json: options.json ?? false },
            ctx.io,
          ),
        ),
      );
    });
}
