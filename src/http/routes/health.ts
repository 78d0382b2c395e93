import type { FastifyInstance } from 'fastify';
import { readRemovalHealth, removalProblems, type RemovalHealth } from '../../removals/removal-health.js';
import type { RouteContext } from '../deps.js';
import { REDIS_UNREACHABLE } from '../error-response.js';

/** `/healthz` (the process lives), `/readyz` (why it would not do its work now) and `/metrics`. */
export function registerHealthRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  /**
   * 503 only for what keeps this process from its work until someone acts: Redis unreachable,
   * removals paused (by an operator, or for a refused credential), no valid rule set, still
   * starting. Trouble on VideoSDK's side that passes by itself (a `Retry-After` hold, removals
   * retrying or failed) and rules tripped past their budget are `warnings` of a 200 `degraded`
   * answer: a failing readiness probe takes the pod out of the load balancer, and events must keep
   * coming in while VideoSDK has a bad minute (docs/operations.md).
   */
  app.get('/readyz', async (_request, reply) => {
    const reasons: string[] = [...(deps.notReady?.() ?? [])];
    const warnings: string[] = [...(deps.warnings?.() ?? [])];
    let health: RemovalHealth | undefined;
    try {
      if (deps.redisReady && !deps.redisReady()) throw new Error(REDIS_UNREACHABLE);
      await withTimeout(deps.redis.ping(), 1000);
      health = await withTimeout(
        readRemovalHealth(
          { queue: deps.queues.removals, redis: deps.redis, outcomes: deps.outcomes, pause: deps.pause, budgets: deps.budgets },
          now(),
        ),
        1000,
      );
    } catch {
      reasons.push(REDIS_UNREACHABLE);
    }
    const paused = health?.paused;
    if (paused) {
      reasons.push(
        paused.kind === 'unrecorded'
          ? 'removals paused: the removals queue is paused without a recorded reason (from the dashboard?); automod resume starts it'
          : `removals paused (${paused.kind}): ${paused.reason}`,
      );
    }
    // The pause is a reason already; the rest of what is in the way of removals is a warning.
    if (health) warnings.push(...removalProblems({ ...health, paused: undefined }));
    const rules = deps.rules?.status();
    if (deps.rules && rules?.version === undefined) reasons.push('no valid rule set has been loaded');
    if (rules?.emptyPolicy) reasons.push(`${rules.emptyPolicy} (set AUTOMOD_ALLOW_EMPTY_RULES=true if that is intended)`);
    const body = {
      status: reasons.length > 0 ? 'unavailable' : warnings.length > 0 ? 'degraded' : 'ready',
      reasons,
      warnings,
      ...(paused && paused.kind !== 'unrecorded' ? { paused } : {}),
      ...(health?.rateLimitedUntil ? { rateLimitedUntil: health.rateLimitedUntil } : {}),
      ...(health
        ? {
            removals: {
              retrying: health.retrying.count,
              failedRecently: health.failedRecently.count,
              tripped: health.tripped.map((t) => t.rule),
            },
          }
        : {}),
      ...(rules ? { rules } : {}),
    };
    await reply.code(reasons.length === 0 ? 200 : 503).send(body);
  });

  app.get('/metrics', async (_request, reply) => {
    const text = await deps.metrics.registry.metrics();
    await reply.header('content-type', deps.metrics.registry.contentType).send(text);
  });
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}
