import type { FastifyInstance } from 'fastify';
import type { PauseState } from '../../store/pause-state.js';
import type { RouteContext } from '../deps.js';
import { REDIS_UNREACHABLE } from '../error-response.js';

/** `/healthz` (the process lives), `/readyz` (why it would not do its work now) and `/metrics`. */
export function registerHealthRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const reasons: string[] = [...(deps.notReady?.() ?? [])];
    let paused: Awaited<ReturnType<PauseState['get']>>;
    let rateLimitedUntil: string | undefined;
    try {
      if (deps.redisReady && !deps.redisReady()) throw new Error(REDIS_UNREACHABLE);
      await withTimeout(deps.redis.ping(), 1000);
      paused = await withTimeout(deps.pause.get(), 1000);
      if (paused) reasons.push(`removals paused (${paused.kind}): ${paused.reason}`);
      else if (await withTimeout(deps.queues.removals.isPaused(), 1000)) {
        reasons.push(
          'removals paused: the removals queue is paused without a recorded reason (from the dashboard?); automod resume starts it',
        );
      }
      // Removals are not running while VideoSDK's Retry-After holds them: not ready until it ends.
      const until = await withTimeout(deps.pause.rateLimitedUntil(now()), 1000);
      if (until !== undefined) {
        rateLimitedUntil = new Date(until).toISOString();
        reasons.push(`removals rate-limited by VideoSDK until ${rateLimitedUntil}`);
      }
    } catch {
      reasons.push(REDIS_UNREACHABLE);
    }
    const rules = deps.rules?.status();
    if (deps.rules && rules?.version === undefined) reasons.push('no valid rule set has been loaded');
    if (rules?.emptyPolicy) reasons.push(`${rules.emptyPolicy} (set AUTOMOD_ALLOW_EMPTY_RULES=true if that is intended)`);
    const body = {
      status: reasons.length === 0 ? 'ready' : 'unavailable',
      reasons,
      ...(paused ? { paused } : {}),
      ...(rateLimitedUntil ? { rateLimitedUntil } : {}),
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
