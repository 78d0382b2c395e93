/**
 * Every error code the worker gives, with the HTTP status of an API answer that carries it: the one
 * registry. Codes are a contract (clients, scripts and alerts match on them), so a code is never
 * renamed or reused. docs/reference.md ("Errors") says what each means, and
 * test/shared/errors.test.ts keeps the two in step. An error whose status is 500 never reaches an
 * answer as itself: the API says "internal error" and the log has it.
 */
export const ERROR_CODES = {
  ERR_USAGE: 400,
  ERR_INVALID_EVENT: 400,
  ERR_INVALID_REMOVAL: 400,
  ERR_WEBHOOK_SIGNATURE: 401,
  ERR_FORBIDDEN: 403,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_TOO_MANY_EVENTS: 413,
  ERR_VIDEOSDK_TRANSIENT: 502,
  ERR_VIDEOSDK_REJECTED: 502,
  ERR_VIDEOSDK_CREDENTIAL: 502,
  ERR_VIDEOSDK_NO_CREDENTIAL: 502,
  ERR_REMOVAL_UNCONFIRMED: 502,
  ERR_QUEUE_ADD: 503,
  ERR_REDIS_UNREACHABLE: 503,
  ERR_GATE_UNAVAILABLE: 503,
  ERR_CONFIG: 500,
  ERR_RULES: 500,
  ERR_INTERNAL: 500,
} as const satisfies Record<string, number>;

/** A code of the registry. */
export type ErrorCode = keyof typeof ERROR_CODES;

/**
 * One error hierarchy for the whole worker. Every error has a stable `code` from the registry, the
 * HTTP `statusCode` the registry gives it (fastify's name, so fastify-shaped handlers read it too),
 * a `retryable` flag and an optional `cause`. Messages stand alone because BullMQ keeps only
 * `message` and `stack` of a failed job; secrets and user text never go into them.
 */
export class AutomodError extends Error {
  readonly code: ErrorCode;
  readonly statusCode: number;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.statusCode = ERROR_CODES[code];
    this.retryable = options.retryable ?? false;
  }
}

/** One line of a configuration, event or rule problem: where it is and what is wrong. */
export interface Problem {
  /** Where: an environment variable, a JSON path, `file#rule at path`. */
  path: string;
  message: string;
}

/** Problems spelled out in a message; a message stays bounded however many there are. */
const LISTED_PROBLEMS = 20;

function listProblems(problems: readonly Problem[]): string {
  const listed = problems
    .slice(0, LISTED_PROBLEMS)
    .map((p) => (p.path ? `${p.path}: ${p.message}` : p.message))
    .join('; ');
  return problems.length > LISTED_PROBLEMS ? `${listed}; and ${problems.length - LISTED_PROBLEMS} more` : listed;
}

/**
 * The JSON path of a zod issue, as problems name it: `["data", "items", 0]` -> `$.data.items[0]`.
 */
export function problemPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, part) => (typeof part === 'number' ? `${acc}[${part}]` : `${acc}.${String(part)}`), '$');
}

/** zod issues as problems (`$.path: message`). */
export function issueProblems(issues: readonly { path: readonly PropertyKey[]; message: string }[]): Problem[] {
  return issues.map((issue) => ({ path: problemPath(issue.path), message: issue.message }));
}

/** An error that carries every problem found (not just the first), listed in its message after `prefix`. */
export class ProblemsError extends AutomodError {
  /** What the problems are problems of (`invalid event`): the message starts with it. */
  readonly prefix: string;
  readonly problems: readonly Problem[];
  constructor(code: ErrorCode, prefix: string, problems: readonly Problem[], message = `${prefix}: ${listProblems(problems)}`) {
    super(code, message);
    this.prefix = prefix;
    this.problems = problems;
  }
}

/** The environment does not describe a runnable worker. Lists every problem at once. */
export class ConfigError extends ProblemsError {
  constructor(problems: readonly Problem[]) {
    super('ERR_CONFIG', 'invalid configuration', problems);
  }
}

/** An event (HTTP body, CLI line or queued job) that does not match the event contract. */
export class InvalidEventError extends ProblemsError {
  constructor(problems: readonly Problem[], message?: string) {
    super('ERR_INVALID_EVENT', 'invalid event', problems, message);
  }
}

/** A removal request that does not match the removal contract. */
export class InvalidRemovalError extends ProblemsError {
  constructor(problems: readonly Problem[]) {
    super('ERR_INVALID_REMOVAL', 'invalid removal', problems);
  }
}

/** The rules folder holds something that cannot be loaded; the worker keeps (or refuses) its rules. */
export class RulesError extends ProblemsError {
  constructor(problems: readonly Problem[]) {
    super('ERR_RULES', 'invalid rules', problems);
  }
}

/** Context of a failed VideoSDK call; never holds the token or request headers. */
export interface ApiErrorContext {
  method: string;
  /** Path only (no host, no query) so nothing secret is carried along. */
  path: string;
  status?: number;
  requestId?: string;
  /** Server-provided message, cut to a safe length. */
  detail?: string;
  /** Milliseconds asked for by `Retry-After`, when the server sent one. */
  retryAfterMs?: number;
}

/**
 * A VideoSDK call that did not succeed. `kind` is decided once, in `classifyApiFailure`:
 * - `transient`: 408, 429, 5xx, timeout, connection error; retried with backoff;
 * - `permanent`: other 4xx; the removal is rejected;
 * - `credential`: 401/403; the credential is wrong, which stops the whole removal queue.
 */
export class VideoSdkApiError extends AutomodError {
  readonly kind: 'transient' | 'permanent' | 'credential';
  readonly method: string;
  readonly path: string;
  readonly status: number | undefined;
  readonly requestId: string | undefined;
  readonly detail: string | undefined;
  readonly retryAfterMs: number | undefined;
  /** True when the request may have reached VideoSDK (timeout after sending, 5xx). */
  readonly mayHaveApplied: boolean;
  /** Why no answer arrived (`timeout`, `ECONNRESET`, ...); undefined when one did. */
  readonly reason: string | undefined;

  constructor(
    kind: 'transient' | 'permanent' | 'credential',
    context: ApiErrorContext,
    options: { cause?: unknown; mayHaveApplied?: boolean; reason?: string } = {},
  ) {
    const what = context.status === undefined ? (options.reason ?? 'no response') : `HTTP ${context.status}`;
    const detail = context.detail ? `: ${context.detail}` : '';
    const code =
      kind === 'credential' ? 'ERR_VIDEOSDK_CREDENTIAL' : kind === 'transient' ? 'ERR_VIDEOSDK_TRANSIENT' : 'ERR_VIDEOSDK_REJECTED';
    super(code, `VideoSDK ${context.method} ${context.path} failed with ${what}${detail}`, {
      retryable: kind === 'transient',
      cause: options.cause,
    });
    this.kind = kind;
    this.method = context.method;
    this.path = context.path;
    this.status = context.status;
    this.requestId = context.requestId;
    this.detail = context.detail;
    this.retryAfterMs = context.retryAfterMs;
    this.mayHaveApplied = options.mayHaveApplied ?? false;
    this.reason = context.status === undefined ? options.reason : undefined;
  }
}

/**
 * A remove call answered 2xx with something that confirms nothing (none of the shapes VideoSDK
 * documents: a proxy's page, `success: false`, an empty body, a session still listing the
 * participant), and a read of the session did not show the participant gone: this try failed, and
 * the next one looks first. `why` names the answer in our words, never its text.
 */
export class RemovalUnconfirmedError extends AutomodError {
  readonly status: number;
  readonly requestId: string | undefined;
  readonly why: string;

  constructor(context: { status: number; requestId?: string | undefined; why: string; seen: 'listed' | 'unreadable' }) {
    const seen = context.seen === 'listed' ? 'VideoSDK still lists the participant in the session' : 'the session read showed no session';
    super('ERR_REMOVAL_UNCONFIRMED', `the remove call was answered HTTP ${context.status} with ${context.why}, and ${seen}`, {
      retryable: true,
    });
    this.status = context.status;
    this.requestId = context.requestId;
    this.why = context.why;
  }
}

/** No way to authenticate to VideoSDK was configured, or minting a token failed. */
export class CredentialMissingError extends AutomodError {
  constructor(message: string) {
    super('ERR_VIDEOSDK_NO_CREDENTIAL', message);
  }
}

/** A webhook body whose signature is missing or does not verify. */
export class WebhookSignatureError extends AutomodError {
  constructor(message: string) {
    super('ERR_WEBHOOK_SIGNATURE', message);
  }
}

/** A command-line request that cannot be carried out as given. */
export class UsageError extends AutomodError {
  constructor(message: string) {
    super('ERR_USAGE', message);
  }
}

/**
 * A known token whose role does not reach the route (a token server's `gate` token asking for the
 * audit). `role` is the role the route needs; the message names the token, never its value.
 */
export class ForbiddenError extends AutomodError {
  readonly role: string;
  constructor(message: string, role: string) {
    super('ERR_FORBIDDEN', message);
    this.role = role;
  }
}

/** A thing looked up by id (job, session) is not recorded. */
export class NotFoundError extends AutomodError {
  constructor(message: string) {
    super('ERR_NOT_FOUND', message);
  }
}

/** A request that the recorded state no longer allows (a review item already decided or expired). */
export class ConflictError extends AutomodError {
  constructor(message: string) {
    super('ERR_CONFLICT', message);
  }
}

/** More events in one request than `AUTOMOD_INGEST_MAX_EVENTS` allows; refused before any is validated. */
export class TooManyEventsError extends AutomodError {
  constructor(count: number, max: number) {
    super(
      'ERR_TOO_MANY_EVENTS',
      `too many events in one request: ${count}, at most ${max} (AUTOMOD_INGEST_MAX_EVENTS); send smaller batches`,
    );
  }
}

/** True for errors worth another try later; unknown errors (bugs, Redis hiccups) count as retryable. */
export function isRetryable(err: unknown): boolean {
  if (err instanceof AutomodError) return err.retryable;
  return true;
}

/** Events could not be put on the events queue (nothing was acknowledged; the producer may retry). */
export class QueueAddError extends AutomodError {
  constructor(cause: unknown) {
    super(
      'ERR_QUEUE_ADD',
      `could not put the events on the queue (${cause instanceof Error ? cause.message.slice(0, 200) : 'unknown error'}); nothing was queued, try again`,
      {
        retryable: true,
        cause,
      },
    );
  }
}

/**
 * The producer library's gate (`isBanned`, `checkGate`) got no verdict: Redis failed or did not
 * answer in time. Never read as "not banned": a token server refuses the join token and may try again.
 */
export class GateUnavailableError extends AutomodError {
  constructor(reason: string, cause?: unknown) {
    super('ERR_GATE_UNAVAILABLE', `no gate verdict: ${reason.slice(0, 200)}; refuse the join token and try again`, {
      retryable: true,
      ...(cause === undefined ? {} : { cause }),
    });
  }
}

/**
 * Anything else: a bug or an unexpected failure, wrapped so that it has a code where one is shown
 * (`--json` error objects). Its message is the original's; the original is the cause.
 */
export class InternalError extends AutomodError {
  constructor(cause: unknown) {
    super('ERR_INTERNAL', cause instanceof Error ? cause.message : String(cause), { cause });
  }
}
