import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { performance } from 'node:perf_hooks';
import { got, RequestError, type Response } from 'got';
import { VideoSdkApiError } from '../shared/errors.js';
import { firstHeader, lazyResponse, parseBody, readDetail, readPageInfo, readRequestId, type ApiResponse } from './api-answer.js';
import { classifyApiFailure, mayHaveApplied, parseRetryAfter } from './classify.js';
import { activeParticipantIds, type VideoSdkSession } from './session.js';
import { fillPath, operationPath, VIDEOSDK_PATHS } from './api-paths.js';

// The answer's type and its session check are the client's contract: callers import them from here.
export { mayHoldSession, type ApiResponse } from './api-answer.js';

export type ApiOperation = 'remove' | 'get-session' | 'get-active' | 'end-session' | 'list-sessions';

/** One HTTP request to VideoSDK, successful or not; for logs, metrics and the audit. */
export interface ApiAttempt {
  method: 'GET' | 'POST';
  /** Path only: no host, no query. */
  path: string;
  operation: ApiOperation;
  status?: number;
  latencyMs: number;
  requestId?: string;
  /** Why no answer arrived: `'timeout'`, `'ECONNRESET'`, ... */
  error?: string;
  /** When the request was started (ms since the epoch, from the client's clock). */
  at: number;
}

export interface VideoSdkClientOptions {
  /** e.g. `https://api.videosdk.live` (no trailing slash needed). */
  apiBase: string;
  apiVersion: 'v1' | 'v2';
  /** Per HTTP request. */
  timeoutMs: number;
  tokens: { get(): Promise<string> };
  /** Called once per HTTP request, success or not. */
  onAttempt?: (attempt: ApiAttempt) => void;
  /** Clock (ms since the epoch) for `at` and `Retry-After` dates; defaults to `Date.now`. */
  now?: () => number;
  /** Page size asked for when listing active participants (v2). Default 50. */
  perPage?: number;
  /**
   * Further values blanked out of server messages before they go on errors (the API secret, the
   * worker's own API token): whatever a server echoes, no credential reaches a log or Redis.
   */
  redact?: readonly string[];
}

export interface RemoveParticipantInput {
  sessionId: string;
  participantId: string;
  /** v2 only; left out of the body when unknown. */
  roomId?: string;
}

export interface VideoSdkClient {
  readonly apiVersion: 'v1' | 'v2';
  removeParticipant(input: RemoveParticipantInput): Promise<ApiResponse>;
  getSession(sessionId: string): Promise<ApiResponse>;
  /**
   * v2: the active-participants listing, every page merged (`body` is the first page's, `latencyMs`
   * the sum). v1 has no such endpoint: the session fetch, filtered to active participants (its
   * attempt is reported as `get-active` although the path is the session's).
   */
  getActiveParticipants(sessionId: string): Promise<ApiResponse>;
  /**
   * Ends a meeting's live session: everyone in it leaves at once (v2 `POST /v2/sessions/end` with
   * the room id and the session when known; v1 `POST /v1/meeting-sessions/:sessionId/end`).
   */
  endSession(input: { roomId: string; sessionId?: string | undefined }): Promise<ApiResponse>;
  /**
   * The id of a room's live session (v2 `GET /v2/sessions?roomId=&status=ongoing&perPage=1`, as
   * the official SDK finds it); undefined when none is live, or on v1, which has no such listing.
   */
  findLiveSession(roomId: string): Promise<string | undefined>;
  /** Closes idle keep-alive connections. */
  close(): void;
}

/** Guard against a server that never reaches its last page. */
const MAX_PAGES = 200;

interface Call {
  method: 'GET' | 'POST';
  path: string;
  operation: ApiOperation;
  query?: Record<string, string>;
  json?: Record<string, string>;
}

/**
 * The only code that talks HTTP to VideoSDK. Every method first asks `tokens` for a token, so a
 * missing credential surfaces as the provider's `CredentialMissingError` before any request.
 * got's retry is off: BullMQ's attempts are the only retry loop. Non-2xx answers, timeouts and connection errors become `VideoSdkApiError`, classified
 * once by `classifyApiFailure`. The token is never put on an error (got errors carry the request
 * headers, so they are never attached as `cause`).
 */
export function createVideoSdkClient(options: VideoSdkClientOptions): VideoSdkClient {
  const base = options.apiBase.replace(/\/+$/, '');
  const { apiVersion, tokens, onAttempt } = options;
  const now = options.now ?? Date.now;
  const perPage = options.perPage ?? 50;
  const agent = { http: new HttpAgent({ keepAlive: true }), https: new HttpsAgent({ keepAlive: true }) };

  async function send(call: Call): Promise<ApiResponse> {
    const token = await tokens.get();
    const at = now();
    const started = performance.now();
    const attempt: ApiAttempt = { method: call.method, path: call.path, operation: call.operation, latencyMs: 0, at };
    const report = (): void => {
      attempt.latencyMs = Math.round((performance.now() - started) * 1000) / 1000;
      try {
        onAttempt?.(attempt);
      } catch {
        // An observer's bug must not turn a successful removal into a failed one.
      }
    };

    let response: Response<Buffer>;
    try {
      response = await got(`${base}${call.path}`, {
        method: call.method,
        searchParams: call.query,
        json: call.json,
        headers: {
          authorization: token,
          'content-type': 'application/json',
          accept: 'application/json',
          'user-agent': 'meeting-automod',
        },
        responseType: 'buffer',
        retry: { limit: 0 },
        timeout: { request: options.timeoutMs },
        throwHttpErrors: false,
        followRedirect: false,
        agent,
      });
    } catch (err) {
      const code = err instanceof RequestError ? err.code : undefined;
      const timedOut = code === 'ETIMEDOUT' || (err instanceof Error && err.name === 'TimeoutError');
      const sent = err instanceof RequestError && err.timings !== undefined ? err.timings.upload !== undefined : undefined;
      const reason = timedOut ? 'timeout' : (code ?? 'connection error');
      attempt.error = reason;
      report();
      const failure = { code, timedOut, sent };
      // Only the code travels on: got's error holds the request options, headers included.
      throw new VideoSdkApiError(
        classifyApiFailure(failure),
        { method: call.method, path: call.path },
        { reason, mayHaveApplied: mayHaveApplied({ ...failure, method: call.method }) },
      );
    }

    const status = response.statusCode;
    const requestId = readRequestId(response.headers);
    attempt.status = status;
    if (requestId !== undefined) attempt.requestId = requestId;
    report();

    if (status >= 200 && status < 300) {
      const result = lazyResponse(status, response.body, attempt.latencyMs);
      if (requestId !== undefined) result.requestId = requestId;
      return result;
    }
    const body = parseBody(response.body.toString('utf8'));

    const retryAfterHeader = status === 429 || status === 503 ? firstHeader(response.headers['retry-after']) : undefined;
    const detail = readDetail(body, [token, ...(options.redact ?? [])]);
    throw new VideoSdkApiError(
      classifyApiFailure({ status }),
      {
        method: call.method,
        path: call.path,
        status,
        ...(requestId === undefined ? {} : { requestId }),
        ...(detail === undefined ? {} : { detail }),
        ...withRetryAfter(parseRetryAfter(retryAfterHeader, now())),
      },
      { mayHaveApplied: mayHaveApplied({ status, method: call.method }) },
    );
  }

  function getSession(sessionId: string, operation: ApiOperation = 'get-session'): Promise<ApiResponse> {
    return send({ method: 'GET', path: operationPath(apiVersion, 'get-session', sessionId), operation });
  }

  async function getActiveV2(sessionId: string): Promise<ApiResponse> {
    const path = fillPath(VIDEOSDK_PATHS.v2ActiveParticipants, { sessionId });
    let first: ApiResponse | undefined;
    let latencyMs = 0;
    let last: ApiResponse | undefined;
    const participants: VideoSdkSession['participants'] = [];
    const seen = new Set<string>();
    let page = 1;
    for (;;) {
      const response = await send({
        method: 'GET',
        path,
        operation: 'get-active',
        query: { page: String(page), perPage: String(perPage) },
      });
      first ??= response;
      last = response;
      latencyMs += response.latencyMs;
      for (const p of response.session?.participants ?? []) {
        if (seen.has(p.participantId)) continue;
        seen.add(p.participantId);
        participants.push(p);
      }
      const pageInfo = readPageInfo(response.body);
      if (pageInfo === undefined || pageInfo.currentPage >= pageInfo.lastPage || pageInfo.currentPage < page || page >= MAX_PAGES) break;
      page = pageInfo.currentPage + 1;
    }
    const session = first.session === undefined && participants.length === 0 ? undefined : { ...first.session, participants };
    const result: ApiResponse = { status: last.status, session, body: first.body, latencyMs };
    if (last.requestId !== undefined) result.requestId = last.requestId;
    return result;
  }

  return {
    apiVersion,
    removeParticipant(input) {
      if (apiVersion === 'v1') {
        return send({
          method: 'POST',
          path: operationPath('v1', 'remove', input.sessionId),
          operation: 'remove',
          json: { participantId: input.participantId },
        });
      }
      const json: Record<string, string> = { participantId: input.participantId };
      if (input.roomId !== undefined && input.roomId !== '') json.roomId = input.roomId;
      json.sessionId = input.sessionId;
      return send({ method: 'POST', path: operationPath('v2', 'remove', input.sessionId), operation: 'remove', json });
    },
    getSession: (sessionId) => getSession(sessionId),
    async getActiveParticipants(sessionId) {
      if (apiVersion === 'v2') return getActiveV2(sessionId);
      const response = await getSession(sessionId, 'get-active');
      if (response.session === undefined) return response;
      const active = new Set(activeParticipantIds(response.session));
      return {
        ...response,
        session: { ...response.session, participants: response.session.participants.filter((p) => active.has(p.participantId)) },
      };
    },
    endSession(input) {
      if (apiVersion === 'v1') {
        if (input.sessionId === undefined) return Promise.reject(new Error('ending a session on VideoSDK v1 needs the session id'));
        return send({
          method: 'POST',
          path: fillPath(VIDEOSDK_PATHS.v1EndSession, { sessionId: input.sessionId }),
          operation: 'end-session',
          json: {},
        });
      }
      const json: Record<string, string> = { roomId: input.roomId };
      if (input.sessionId !== undefined) json.sessionId = input.sessionId;
      return send({ method: 'POST', path: VIDEOSDK_PATHS.v2EndSession, operation: 'end-session', json });
    },
    async findLiveSession(roomId) {
      if (apiVersion === 'v1') return undefined;
      const response = await send({
        method: 'GET',
        path: VIDEOSDK_PATHS.v2Sessions,
        operation: 'list-sessions',
        query: { roomId, status: 'ongoing', page: '1', perPage: '1' },
      });
      const data = (response.body as { data?: unknown } | undefined)?.data;
      const first = Array.isArray(data) ? (data[0] as { id?: unknown } | undefined) : undefined;
      return typeof first?.id === 'string' && first.id !== '' ? first.id : undefined;
    },
    close() {
      agent.http.destroy();
      agent.https.destroy();
    },
  };
}

function withRetryAfter(ms: number | undefined): { retryAfterMs?: number } {
  return ms === undefined ? {} : { retryAfterMs: ms };
}
