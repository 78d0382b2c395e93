import type { Logger } from 'pino';

/**
 * What a request to the simulated API does. `other` is anything outside the routes the simulator
 * serves (answered 404 once the token passed).
 */
export type SimOperation =
  | 'remove'
  | 'get-session'
  | 'get-active'
  | 'list-sessions'
  | 'get-participants'
  | 'get-participant'
  | 'end-session'
  | 'session-stats'
  | 'participant-stats'
  | 'create-room'
  | 'list-rooms'
  | 'get-room'
  | 'validate-room'
  | 'update-room'
  | 'deactivate-room'
  | 'public-key'
  | 'other';

export const SIM_OPERATIONS = [
  'remove',
  'get-session',
  'get-active',
  'list-sessions',
  'get-participants',
  'get-participant',
  'end-session',
  'session-stats',
  'participant-stats',
  'create-room',
  'list-rooms',
  'get-room',
  'validate-room',
  'update-room',
  'deactivate-room',
  'public-key',
] as const satisfies readonly Exclude<SimOperation, 'other'>[];

export interface SimParticipantInput {
  participantId: string;
  name?: string;
}

export interface SimSessionInput {
  /** Session id; a 24-hex id like VideoSDK's when left out. */
  id?: string;
  /** The room (v1 `meetingId`, v2 `roomId`); either name is accepted. Created when unknown. */
  meetingId?: string;
  roomId?: string;
  /** Each starts in the session (an open timelog entry). */
  participants?: SimParticipantInput[];
}

/** A session as the simulator holds it; answers use `meetingId` (v1) or `roomId` (v2). */
export interface SimSession {
  id: string;
  meetingId: string;
  roomId: string;
  start: string;
  end: string | null;
  participants: { participantId: string; name: string; timelog: { start: string; end: string | null }[] }[];
}

/** A room as the simulator holds it (the fields of VideoSDK's room object it keeps). */
export interface SimRoom {
  id: string;
  roomId: string;
  customRoomId: string | null;
  disabled: boolean;
  webhook: { endPoint: string; events: string[] } | null;
  autoCloseConfig?: Record<string, unknown>;
  geoFence?: string;
  allowedParticipantIds?: string[];
  createdAt: string;
  updatedAt: string;
}

/** What a remove fault answers with 200 (see `SimFault.removeAnswer`). */
export type SimRemoveAnswer = 'session' | 'message' | 'html' | 'success-false' | 'empty';

export const SIM_REMOVE_ANSWERS = ['session', 'message', 'html', 'success-false', 'empty'] as const satisfies readonly SimRemoveAnswer[];

/**
 * A fault injected into matching requests. Unset matchers match anything; faults are tried in
 * the order added and the first one that matches (and passes its `probability`) is used. Auth is
 * checked first: a request refused with 401/403 never consumes a fault.
 */
export interface SimFault {
  method?: 'GET' | 'POST';
  operation?: Exclude<SimOperation, 'other'>;
  sessionId?: string;
  participantId?: string;
  /** Answer with this status (and `body`, default `{statusCode, error, message}`) instead of the real result. */
  status?: number;
  body?: unknown;
  /** `Retry-After` header sent with `status`. */
  retryAfter?: string;
  /** Wait this long before answering (or resetting). Without `applyThenHang` the real work happens after the wait. */
  delayMs?: number;
  /** Carry out the request first (the removal takes effect), then answer only after `delayMs`. */
  applyThenHang?: boolean;
  /** Destroy the connection instead of answering (after `delayMs`, after applying with `applyThenHang`). */
  reset?: boolean;
  /**
   * What a remove answers with 200: `session` (the session object VideoSDK's API reference
   * documents, the default), `message` (the official SDK's shape, a plain-text confirmation),
   * or an answer that is neither: `html` (a proxy's error page, echoing the request's headers as
   * some do), `success-false` (`{"success": false, "error": ...}`) or `empty` (no body).
   */
  removeAnswer?: SimRemoveAnswer;
  /**
   * With `removeAnswer`: whether the removal takes effect (default true). `false` answers 200
   * without carrying it out, as a proxy's page in front of VideoSDK does; the participant stays.
   */
  removeApplied?: boolean;
  /** How many requests it hits. Default 1; `Infinity` for all. */
  times?: number;
  /** Chance (0..1) that a matching request is hit. Default 1. */
  probability?: number;
}

/** One request to the simulated API (control requests under `/_sim/` are not recorded). */
export interface SimCall {
  at: number;
  method: string;
  /** Path without the query. */
  path: string;
  operation: SimOperation;
  apiVersion?: 'v1' | 'v2';
  sessionId?: string;
  participantId?: string;
  /** Status answered; null when the connection was reset or nothing was answered. */
  status: number | null;
  /** The removal took effect during this request. */
  applied: boolean;
  authorized: boolean;
  requestId: string;
  /** The raw `Authorization` header, so tests can check its shape. */
  authorization?: string;
  contentType?: string;
  body?: unknown;
  /** Whether an injected fault handled this request. */
  faulted: boolean;
}

export interface SimStats {
  requests: number;
  byOperation: Record<string, number>;
  byStatus: Record<string, number>;
  /** Removals that took effect. */
  removalsApplied: number;
  /** Removals that took effect, by `sessionId/participantId`. */
  removalsByParticipant: Record<string, number>;
}

/** A VideoSDK webhook body: `{"webhookType", "data": {meetingId, sessionId, participantId, participantName, ...}}`. */
export interface SimWebhook {
  webhookType: string;
  data: Record<string, unknown>;
}

/** One webhook the simulator sent (or tried to), as `GET /_sim/webhooks` lists it. */
export interface SimWebhookDelivery {
  at: string;
  webhookType: string;
  url: string;
  /** The raw body as sent, and its `videosdk-signature` header. */
  body: string;
  signature: string;
  /** The receiver's status; null when it could not be reached (then `error` says why). */
  status: number | null;
  /** The start of the receiver's answer. */
  response?: string;
  error?: string;
}

/**
 * `strict` (default): a v2 call needs `version: 2` and the `crawler` role, as VideoSDK documents.
 * `lenient`: any token that passes the other checks will do (how the simulator behaved before).
 */
export type SimV2Claims = 'strict' | 'lenient';

export interface SimulatorOptions {
  /** HS256 secret the JWTs must be signed with. */
  secret?: string;
  /** When set, the token's `apikey` claim must equal it (403 otherwise). */
  apiKey?: string;
  /** Default: true when a secret is given. Without a secret it only requires a bare (non-Bearer) header. */
  requireAuth?: boolean;
  logger?: Logger;
  /** Clock for timelogs and the call log; defaults to `Date.now`. */
  now?: () => number;
  /** v2 active participants answer `data` as `[session]` (current docs, default) or `session` (older docs). */
  activeDataShape?: 'array' | 'object';
  /** How strictly v2 calls check the token's `version` and `roles` claims. Default `strict`. */
  v2Claims?: SimV2Claims;
  /** Oldest calls are dropped (in batches) past about this many. Default 100000. */
  maxCalls?: number;
  /**
   * Where webhooks go (a worker's `/v1/webhooks/videosdk`): joins, leaves (removals included),
   * session start and end, for every room that has no webhook of its own (`POST /v2/rooms` with
   * `webhook`). Unset: no webhooks, except to such rooms.
   */
  webhookUrl?: string;
  /** The webhook-signing RSA private key (PEM); default: a new key per simulator. */
  webhookPrivateKey?: string;
}

export interface Simulator {
  /** Starts serving; resolves to the base URL, e.g. `http://127.0.0.1:41234`. */
  listen(port?: number, host?: string): Promise<string>;
  close(): Promise<void>;
  /** The base URL once listening, else ''. */
  readonly url: string;
  addSession(input: SimSessionInput): SimSession;
  getSession(id: string): SimSession | undefined;
  listSessions(): SimSession[];
  listRooms(): SimRoom[];
  /** Adds the participant, or opens a new timelog entry for one who left or was removed. */
  join(sessionId: string, participantId: string, name?: string): SimSession;
  /** Closes the participant's open timelog entry; true when they were in the session. */
  leave(sessionId: string, participantId: string): boolean;
  addFault(fault: SimFault): void;
  clearFaults(): void;
  calls(): SimCall[];
  resetCalls(): void;
  stats(): SimStats;
  /** Replaces the signing secret: tokens signed with the old one now get 401 (a rotated secret). */
  setSecret(secret: string): void;
  /** `false` answers 401 to every API request (a revoked credential) until set back. */
  setCredentialValid(valid: boolean): void;
  setActiveDataShape(shape: 'array' | 'object'): void;
  setV2Claims(mode: SimV2Claims): void;
  /** The `videosdk-signature` header VideoSDK would send with this webhook body (base64 RSA-SHA256). */
  signWebhook(body: string | Buffer): string;
  /** Changes (or, with undefined, drops) the URL webhooks go to. */
  setWebhookUrl(url: string | undefined): void;
  /**
   * Sends one webhook now (after those already queued), signed, to `url` or where the room's
   * webhook or the simulator's `webhookUrl` points; undefined when there is nowhere to send it.
   */
  deliverWebhook(webhook: SimWebhook, url?: string): Promise<SimWebhookDelivery | undefined>;
  /** Every webhook sent so far (the last 1000), oldest first. */
  webhookDeliveries(): SimWebhookDelivery[];
  /** Resolves once every webhook queued so far has been sent. */
  webhooksSettled(): Promise<void>;
  /** The PEM public key served at `GET /v2/public/rsa-public-key`. */
  webhookPublicKey(): string;
  /**
   * Forgets sessions, rooms, faults and calls; restores the original secret, credential and
   * options. Requests still held by a fault's delay get their connection reset and change nothing.
   */
  reset(): void;
}
