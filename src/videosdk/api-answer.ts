import { isRecord } from '../shared/is-record.js';
import { parseSession, type VideoSdkSession } from './session.js';

// Reading what VideoSDK answered, without I/O: the 2xx answer parsed on first use, whether it may
// hold a session, its request id, the server's own message (secrets blanked) and page info.

/** A 2xx answer. */
export interface ApiResponse {
  status: number;
  /** The session read leniently from the body; undefined when the body holds none. */
  readonly session: VideoSdkSession | undefined;
  /** Parsed JSON, or the text when the body is not JSON. */
  readonly body: unknown;
  /**
   * The body as VideoSDK sent it, when this answer came from one request. `body` and `session` are
   * read from it on first use: a remove answer lists the whole session (thousands of participants in
   * a raid), and most removals never need it parsed.
   */
  raw?: Buffer;
  requestId?: string;
  latencyMs: number;
}

const REQUEST_ID_HEADERS = ['x-request-id', 'request-id', 'x-amzn-requestid', 'x-amz-request-id'] as const;
const DETAIL_FIELDS = ['message', 'error', 'msg', 'statusMessage'] as const;
const DETAIL_MAX = 200;
const JWT_LIKE = /eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*/g;

/**
 * An answer whose body is decoded and parsed (once) only when `body` or `session` is read: in a
 * raid most remove answers are never read, and a 558 KB string made of each one costs the worker
 * its decoding and the garbage collector its copy.
 */
export function lazyResponse(status: number, raw: Buffer, latencyMs: number): ApiResponse {
  let body: unknown;
  let session: VideoSdkSession | undefined;
  let parsed = false;
  let read = false;
  const parse = (): unknown => {
    if (!parsed) {
      body = parseBody(raw.toString('utf8'));
      parsed = true;
    }
    return body;
  };
  return {
    status,
    raw,
    latencyMs,
    get body() {
      return parse();
    },
    get session() {
      if (!read) {
        session = parseSession(parse());
        read = true;
      }
      return session;
    },
  };
}

/**
 * Whether an answer may hold a session object, without parsing it (the keys `parseSession` looks
 * for); a parsed answer is asked directly.
 */
export function mayHoldSession(response: ApiResponse): boolean {
  const raw = response.raw;
  if (raw === undefined) return response.session !== undefined;
  // The keys come first in VideoSDK's session objects: the answer's head usually tells, the rest is
  // decoded only when it does not.
  const head = raw.subarray(0, SESSION_HEAD_BYTES).toString('utf8');
  if (!head.trimStart().startsWith('{')) return false;
  return SESSION_KEY.test(head) || (raw.length > SESSION_HEAD_BYTES && SESSION_KEY.test(raw.toString('utf8')));
}

const SESSION_KEY = /"(?:participants|id|_id|meetingId|roomId)"\s*:/;
/** Bytes of an answer looked at first by `mayHoldSession`. */
const SESSION_HEAD_BYTES = 4096;

export function parseBody(text: string): unknown {
  if (text === '') return '';
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

export function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

export function readRequestId(headers: Record<string, string | string[] | undefined>): string | undefined {
  for (const name of REQUEST_ID_HEADERS) {
    const value = firstHeader(headers[name]);
    if (value !== undefined && value !== '') return value.slice(0, 200);
  }
  return undefined;
}

/** The server's own words, short, on one line, with anything token-like blanked out. */
export function readDetail(body: unknown, secrets: readonly string[]): string | undefined {
  let text: string | undefined;
  if (typeof body === 'string') {
    text = body;
  } else if (isRecord(body)) {
    for (const field of DETAIL_FIELDS) {
      const value = body[field];
      if (typeof value === 'string' && value.trim() !== '') {
        text = value;
        break;
      }
      if (typeof value === 'object' && value !== null && typeof (value as Record<string, unknown>).message === 'string') {
        text = (value as Record<string, unknown>).message as string;
        break;
      }
    }
  }
  if (text === undefined) return undefined;
  let clean = text.replace(/\s+/g, ' ').trim();
  for (const secret of secrets) if (secret !== '') clean = clean.split(secret).join('[redacted]');
  clean = clean.replace(JWT_LIKE, '[redacted]');
  if (clean === '') return undefined;
  return clean.length > DETAIL_MAX ? `${clean.slice(0, DETAIL_MAX - 1)}…` : clean;
}

export function readPageInfo(body: unknown): { currentPage: number; lastPage: number } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const info = (body as Record<string, unknown>).pageInfo;
  if (typeof info !== 'object' || info === null) return undefined;
  const currentPage = Number((info as Record<string, unknown>).currentPage);
  const lastPage = Number((info as Record<string, unknown>).lastPage);
  if (!Number.isFinite(currentPage) || !Number.isFinite(lastPage)) return undefined;
  return { currentPage, lastPage };
}
