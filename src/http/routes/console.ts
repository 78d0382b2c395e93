import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { readRemovalHealth, removalProblems } from '../../removals/removal-health.js';
import type { AuditRecord } from '../../store/audit.js';
import type { RouteContext } from '../deps.js';

/** Where the console is served; the page and its assets need no token (auth.ts), its data calls do. */
export const CONSOLE = '/console';

/** The console's files, shipped in the package (`console/`): from src/http/routes or dist/http/routes alike. */
const ASSETS_DIR = fileURLToPath(new URL('../../../console/', import.meta.url));
const ASSETS: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/**
 * Scripts and styles from this origin only, no inline script: even if a meeting's text slipped
 * into the page as markup, the browser would not run it.
 */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/** The moderation console: its files, and the two summaries it reads besides the public API. */
export function registerConsoleRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const send = async (name: string, reply: FastifyReply) => {
    const body = await readFile(`${ASSETS_DIR}${name}`);
    return reply
      .header('content-type', ASSETS[name]!)
      .header('content-security-policy', CSP)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header('cache-control', 'no-cache')
      .send(body);
  };
  app.get(CONSOLE, async (_request, reply) => send('index.html', reply));
  app
    .withTypeProvider<ZodTypeProvider>()
    .get(`${CONSOLE}/:file`, { schema: { params: z.object({ file: z.string() }) } }, async (request, reply) => {
      const { file } = request.params;
      if (!Object.hasOwn(ASSETS, file)) return reply.code(404).send({ error: `no console file ${file}` });
      return send(file, reply);
    });

  app.get('/v1/console/overview', async () => {
    const t = now();
    const [removals, pending, paused, queuePaused, events, health, counts] = await Promise.all([
      deps.audit.query({ kind: 'removal', since: t - 60_000, limit: 1000 }),
      deps.reviews?.pendingCount(t) ?? 0,
      deps.pause.get(),
      deps.queues.removals.isPaused(),
      countEvents(t),
      readRemovalHealth(
        { queue: deps.queues.removals, redis: deps.redis, outcomes: deps.outcomes, pause: deps.pause, budgets: deps.budgets },
        t,
      ),
      deps.queues.removals.getJobCounts('delayed', 'failed'),
    ]);
    const byOutcome: Record<string, number> = {};
    for (const r of removals) byOutcome[r.outcome ?? 'unknown'] = (byOutcome[r.outcome ?? 'unknown'] ?? 0) + 1;
    const rules = deps.rules?.status();
    return {
      at: new Date(t).toISOString(),
      eventsPerSecond: events === undefined ? null : Math.round((events / 60) * 100) / 100,
      removalsLastMinute: byOutcome,
      pendingReviews: pending,
      paused: paused ?? (queuePaused ? { reason: 'the removals queue is paused without a recorded reason', kind: 'unrecorded' } : null),
      // What `automod status` names about removals, as counts and sentences for the cards.
      removalQueue: {
        delayed: counts.delayed ?? 0,
        failed: counts.failed ?? 0,
        retrying: health.retrying.count,
        failedLastHour: health.failedRecently.count,
        rateLimitedUntil: health.rateLimitedUntil ?? null,
        problems: removalProblems({ ...health, paused: undefined }),
      },
      tripped: health.tripped,
      rules: rules
        ? {
            version: rules.version ?? null,
            count: rules.rules,
            loadedAt: rules.loadedAt ?? null,
            problems: rules.lastError ?? null,
            missingLists: rules.missingLists ?? [],
          }
        : null,
    };
  });

  app.get('/v1/console/rules', async () => {
    const active = deps.rules?.current();
    const since = now() - 3_600_000;
    const perRule = new Map<string, { hits: number; shadow: number; outcomes: Record<string, number> }>();
    let seen = 0;
    for await (const record of deps.audit.scan({ kind: 'rule-hit', since }) as AsyncIterable<AuditRecord>) {
      if (++seen > 100_000 || !record.rule) break;
      const row = perRule.get(record.rule) ?? { hits: 0, shadow: 0, outcomes: {} };
      row.hits++;
      if (record.mode === 'shadow') row.shadow++;
      const outcome = record.outcome ?? 'unknown';
      row.outcomes[outcome] = (row.outcomes[outcome] ?? 0) + 1;
      perRule.set(record.rule, row);
    }
    return {
      version: active?.ruleSet.version ?? null,
      since: new Date(since).toISOString(),
      rules: (active?.ruleSet.rules ?? []).map((rule) => {
        const row = perRule.get(rule.name);
        return {
          name: rule.name,
          mode: rule.mode,
          action: rule.action,
          reason: rule.reason,
          hitsLastHour: row?.hits ?? 0,
          // What a shadow rule would have done: its hits, had it been enforced.
          wouldHaveLastHour: row?.shadow ?? 0,
          outcomes: row?.outcomes ?? {},
        };
      }),
    };
  });

  /** Events processed in the last minute, from the processed-event log (undefined when it is off). */
  async function countEvents(t: number): Promise<number | undefined> {
    if (!deps.eventLog?.enabled) return undefined;
    let n = 0;
    for await (const _ of deps.eventLog.read({ since: t - 60_000 })) if (++n >= 100_000) break;
    return n;
  }
}
