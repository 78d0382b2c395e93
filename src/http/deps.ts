import type { Queue } from 'bullmq';
import type { LockdownActions } from '../consequences/lockdowns.js';
import type { LockdownStore } from '../store/lockdowns.js';
import type { Ingest } from '../events/ingest.js';
import type { Queues } from '../events/queues.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { Notify } from '../notify/notifications.js';
import type { BanActions } from '../removals/ban-actions.js';
import type { RemovalRequester } from '../removals/removal-requester.js';
import type { RulesRuntime } from '../rules/rules-runtime.js';
import type { AuditStore } from '../store/audit.js';
import type { DeadLetters } from '../store/dead-letter.js';
import type { EventLog } from '../store/event-log.js';
import type { ReviewStore } from '../store/reviews.js';
import type { ReviewDecisions } from '../removals/review-decisions.js';
import type { JobOutcomeStore } from '../store/job-outcomes.js';
import type { PauseState } from '../store/pause-state.js';
import type { Presence } from '../store/presence.js';
import type { RedisClient } from '../store/redis.js';
import type { RemovalClaims } from '../store/removal-claims.js';
import type { SessionStore } from '../store/session-store.js';
import type { RuleBudgets } from '../store/rule-budgets.js';
import type { VideoSdkClient } from '../videosdk/client.js';
import type { Credentials } from './credentials.js';
import type { NamedToken } from './tokens-file.js';

export interface HttpDeps {
  /** `AUTOMOD_API_TOKEN`: an admin token, recorded as `token:api`. */
  apiToken: string | undefined;
  /** The named tokens of `AUTOMOD_TOKENS_FILE` in force now (it is re-read as it changes). */
  tokens?: { current(): readonly NamedToken[] } | undefined;
  /** The webhook's own credential; when unset a token whose role puts events in is taken on the webhook route. */
  webhookToken?: string | undefined;
  webhookPublicKey: string | undefined;
  /** Most events one `POST /v1/events` may carry (default 1000); checked before any validation. */
  ingestMaxEvents?: number;
  redis: RedisClient;
  queues: Queues;
  ingest: Ingest;
  /** Presence-aware webhook ids (a rejoin's byte-identical join is not a duplicate). */
  presence?: Presence | undefined;
  requester: RemovalRequester;
  claims: RemovalClaims;
  client: VideoSdkClient;
  outcomes: JobOutcomeStore;
  sessions: SessionStore;
  audit: AuditStore;
  deadLetters: DeadLetters;
  pause: PauseState;
  /** Bans, the token gate and undo (`/v1/bans`, `/v1/undo`). */
  banActions?: BanActions | undefined;
  /** Lockdowns and the gate (`/v1/lockdowns`, `/v1/gate`). */
  lockdownActions?: LockdownActions | undefined;
  /** What the worker recorded of meetings' members (hosts and moderators are never removed by join time). */
  lockdowns?: Pick<LockdownStore, 'staffAmong'> | undefined;
  /** Rules tripped past their removal budget, and their re-arming. */
  budgets?: RuleBudgets | undefined;
  /** The review queue and its decisions (the console and `/v1/reviews`). */
  reviews?: ReviewStore | undefined;
  decisions?: ReviewDecisions | undefined;
  /** Tells the receivers (a pause, a resume); nobody when absent. */
  notify?: Notify | undefined;
  /** The `notifications` queue, shown in Bull Board. */
  notifications?: Queue | undefined;
  /** Read by the console's overview (events per second). */
  eventLog?: EventLog | undefined;
  /** Absent in a removals-only process, which decides nothing. */
  rules?: RulesRuntime | undefined;
  metrics: Metrics;
  logger: Logger;
  /** Largest accepted body (default 1 MB). */
  bodyLimit?: number;
  /** Told about every route as it is registered (the dashboard's too): lets tests reach them all. */
  onRoute?: (route: { method: string | string[]; url: string }) => void;
  now?: () => number;
  /** Whether the Redis connections are up right now: requests fail fast (503) when not. */
  redisReady?: () => boolean;
  /** Reasons the process is not ready besides Redis, pause and rules (starting, no credential). */
  notReady?: () => readonly string[];
  /** What `/readyz` warns of without turning 503 (a credential check that got no answer). */
  warnings?: () => readonly string[];
}

/** What every route file is given: the dependencies, the clock and the tokens the API takes. */
export interface RouteContext {
  deps: HttpDeps;
  now: () => number;
  credentials: Credentials;
}
