import { AutomodError, ERROR_CODES, ForbiddenError, ProblemsError, type Problem } from '../shared/errors.js';
import { isRedisConnectionError } from '../store/redis.js';

/** Seconds a client is told to wait (Retry-After) when Redis is unreachable. */
export const REDIS_RETRY_AFTER_SECONDS = 5;
export const REDIS_UNREACHABLE = 'Redis is unreachable';

/** The body of an error answer (the public shape: `{"error", "code"?, "details"?, "role"?}`). */
export interface ErrorBody {
  error: string;
  code?: string;
  /** A 403's: the role the route needs. */
  role?: string;
  details?: readonly Problem[];
  moreProblems?: number;
}

/** The answer while Redis is down, whichever request met it. */
export const REDIS_DOWN_ANSWER = {
  status: ERROR_CODES.ERR_REDIS_UNREACHABLE,
  body: { error: `${REDIS_UNREACHABLE}; try again shortly`, code: 'ERR_REDIS_UNREACHABLE' },
} as const satisfies { status: number; body: ErrorBody };

/** Problems listed in a 400 answer; the rest are only counted (`moreProblems`). */
const MAX_PROBLEMS = 20;

/**
 * One mapping from errors to HTTP answers, never a stack trace. Our errors carry their status (the
 * registry in shared/errors.ts); fastify's own 4xx errors carry theirs; anything else is a 500
 * that says only "internal error".
 */
export function errorResponse(err: unknown, bodyLimit: number): { status: number; body: ErrorBody } {
  if (err instanceof AutomodError) {
    const status = err.statusCode;
    // A 500 of ours is a fault of the worker (configuration, rules): the log has it, the client learns nothing from it.
    if (status === 500) return internalError();
    if (err instanceof ProblemsError) {
      // A body of junk must not buy an answer many times its size: each problem is said once (in
      // details, unless it is the only one), and only the first few of them.
      const count = err.problems.length;
      return {
        status,
        body: {
          error:
            count === 1 ? err.message : `${err.prefix}: ${count} problems, the first ${Math.min(count, MAX_PROBLEMS)} listed in details`,
          code: err.code,
          details: err.problems.slice(0, MAX_PROBLEMS),
          ...(count > MAX_PROBLEMS ? { moreProblems: count - MAX_PROBLEMS } : {}),
        },
      };
    }
    return { status, body: { error: err.message, code: err.code, ...(err instanceof ForbiddenError ? { role: err.role } : {}) } };
  }
  if (isRedisConnectionError(err)) return REDIS_DOWN_ANSWER;
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
  return internalError();
}

function internalError(): { status: number; body: ErrorBody } {
  return { status: 500, body: { error: 'internal error; see the worker log' } };
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${Math.round((bytes / 1024 / 1024) * 10) / 10} MB` : `${Math.round(bytes / 1024)} KB`;
}
