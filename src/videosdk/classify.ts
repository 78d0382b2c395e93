/** What a failed VideoSDK call means for the job that made it. */
export type ApiFailureKind = 'transient' | 'permanent' | 'credential';

export interface ApiFailure {
  /** HTTP status, when an answer arrived. */
  status?: number;
  /** got's error code when no answer arrived: `ETIMEDOUT`, `ECONNRESET`, `ECONNREFUSED`, ... */
  code?: string;
  timedOut?: boolean;
  /** Whether the request was fully sent; does not change the kind, see `mayHaveApplied`. */
  sent?: boolean;
}

/**
 * The one place that decides retry-or-not for VideoSDK answers (VideoSDK documents no error
 * statuses): 401/403 are a credential fault of the whole worker; 408, 429, 5xx, timeouts and
 * every failure without an answer are transient; any other status is permanent for that call.
 */
export function classifyApiFailure(input: ApiFailure): ApiFailureKind {
  const { status } = input;
  if (status === undefined || input.timedOut) return 'transient';
  if (status === 401 || status === 403) return 'credential';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  return 'permanent';
}

/** Errors raised before a byte reached the server: the request cannot have taken effect. */
const NOT_SENT_CODES = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH', 'ERR_INVALID_URL']);

/**
 * Whether a failed call may still have changed state at VideoSDK. Only a POST can; it may when
 * it got a 5xx, or when no answer arrived after the request was sent (when `sent` is unknown,
 * only errors that happen before connecting rule it out).
 */
export function mayHaveApplied(input: ApiFailure & { method: string }): boolean {
  if (input.method.toUpperCase() !== 'POST') return false;
  if (input.status !== undefined) return input.status >= 500;
  if (input.sent !== undefined) return input.sent;
  return !(input.code !== undefined && NOT_SENT_CODES.has(input.code));
}

/** Longest wait a `Retry-After` can ask for; a larger one is capped. */
export const MAX_RETRY_AFTER_MS = 60 * 60 * 1000;

/**
 * `Retry-After` as milliseconds from `now`: delta-seconds or an HTTP date; a date in the past is
 * 0, anything beyond an hour is capped, anything unreadable is undefined.
 */
export function parseRetryAfter(header: string | undefined, now: number): number | undefined {
  if (header === undefined) return undefined;
  const value = header.trim();
  if (value === '') return undefined;
  let ms: number;
  if (/^-?\d+(\.\d+)?$/.test(value)) {
    ms = Number(value) * 1000;
  } else {
    const date = Date.parse(value);
    if (Number.isNaN(date)) return undefined;
    ms = date - now;
  }
  if (!Number.isFinite(ms)) return undefined;
  return Math.min(Math.max(0, Math.ceil(ms)), MAX_RETRY_AFTER_MS);
}
