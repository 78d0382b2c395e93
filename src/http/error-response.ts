import {
  AutomodError,
  ConflictError,
  InvalidEventError,
  InvalidRemovalError,
  issueProblems,
  NotFoundError,
  QueueAddError,
  UsageError,
  WebhookSignatureError,
  type Problem,
} from '../shared/errors.js';
import { isRedisConnectionError } from '../store/redis.js';

/** Seconds a client is told to wait (Retry-After) when Redis is unreachable. */
export const REDIS_RETRY_AFTER_SECONDS = 5;
export const REDIS_UNREACHABLE = 'Redis is unreachable';

/** A query string that does not parse, as a 400 answer naming each problem. */
export function invalidQuery(what: string, issues: readonly { path: readonly PropertyKey[]; message: string }[]): UsageError {
  return new UsageError(
    `invalid ${what} query: ${issueProblems(issues)
      .map((p) => `${p.path}: ${p.message}`)
      .join('; ')}`,
  );
}

/** Problems listed in a 400 answer; the rest are only counted (`moreProblems`). */
const MAX_PROBLEMS = 20;

/** One mapping from our errors to HTTP answers; never a stack trace. */
export function errorResponse(
  err: unknown,
  bodyLimit: number,
): { status: number; body: { error: string; code?: string; details?: readonly Problem[]; moreProblems?: number } } {
  if (err instanceof InvalidEventError || err instanceof InvalidRemovalError) {
    // A body of junk must not buy an answer many times its size: each problem is said once (in
    // details, unless it is the only one), and only the first few of them.
    const count = err.problems.length;
    const kind = err instanceof InvalidEventError ? 'invalid event' : 'invalid removal';
    return {
      status: 400,
      body: {
        error: count === 1 ? err.message : `${kind}: ${count} problems, the first ${Math.min(count, MAX_PROBLEMS)} listed in details`,
        code: err.code,
        details: err.problems.slice(0, MAX_PROBLEMS),
        ...(count > MAX_PROBLEMS ? { moreProblems: count - MAX_PROBLEMS } : {}),
      },
    };
  }
  if (err instanceof UsageError) return { status: 400, body: { error: err.message, code: err.code } };
  if (err instanceof WebhookSignatureError) return { status: 401, body: { error: err.message, code: err.code } };
  if (err instanceof NotFoundError) return { status: 404, body: { error: err.message, code: err.code } };
  if (err instanceof ConflictError) return { status: 409, body: { error: err.message, code: err.code } };
  if (err instanceof QueueAddError) return { status: 503, body: { error: err.message, code: err.code } };
  if (isRedisConnectionError(err))
    return { status: 503, body: { error: `${REDIS_UNREACHABLE}; try again shortly`, code: 'ERR_REDIS_UNREACHABLE' } };
  if (err instanceof AutomodError && err.code.startsWith('ERR_VIDEOSDK')) {
    return { status: 502, body: { error: err.message, code: err.code } };
  }
  const fastifyError = err as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const status = fastifyError.statusCode;
    const message =
      status === 413
        ? `request body is larger than the limit (${formatBytes(bodyLimit)})`
        : status === 415
          ? 'unsupported content type: send JSON with Content-Type: application/json'
          : `bad request: ${fastifyError.message ?? 'invalid request'}`;
    return { status, body: { error: message, ...(fastifyError.code ? { code: fastifyError.code } : {}) } };
  }
  return { status: 500, body: { error: 'internal error; see the worker log' } };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB` : `${Math.round(bytes / 1024)} KB`;
}
