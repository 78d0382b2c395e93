import { z } from 'zod';
import { DEFAULT_RULE_BUDGET, parseBudget, type Budget } from './budget.js';
import { deepFreeze } from './deep-freeze.js';
import {
  boolean,
  commaList,
  duration,
  hostPort,
  hours,
  oneOf,
  pemPublicKey,
  receiverUrls,
  secret,
  token,
  url,
  wholeNumber,
} from './env-schemas.js';
import { ConfigError, type Problem } from './errors.js';
import { NOTIFY_TYPES, type NotifyType } from './notify-types.js';
import { MAX_PARTITIONS } from './partitions.js';

/** Everything the worker is configured with, parsed once from the environment and frozen. */
export interface Config {
  redis: {
    /** Standalone Redis URL (`redis://` or `rediss://`). */
    url: string;
    /** Seed nodes; when non-empty the worker talks Redis Cluster. */
    clusterNodes: readonly { host: string; port: number }[];
    /** How long a command waits for Redis before it exits 3 (`AUTOMOD_REDIS_CONNECT_TIMEOUT_MS`). */
    connectTimeoutMs: number;
  };
  /** Plain namespace name, e.g. `automod`. */
  prefix: string;
  /** The hash-tagged form used for BullMQ and every key, e.g. `{automod}`. */
  keyPrefix: string;
  rulesDir: string;
  /** Run (and report ready) with rules that moderate nothing (`AUTOMOD_ALLOW_EMPTY_RULES`). */
  allowEmptyRules: boolean;
  videosdk: {
    apiBase: string;
    apiVersion: 'v1' | 'v2';
    token: string | undefined;
    apiKey: string | undefined;
    secret: string | undefined;
    timeoutMs: number;
    webhookPublicKey: string | undefined;
  };
  http: {
    host: string;
    port: number;
    /** `AUTOMOD_API_TOKEN`: an admin token, recorded as `token:api`. */
    apiToken: string | undefined;
    /** `AUTOMOD_TOKENS_FILE`: the file of named, scoped tokens (`[{"name", "role", "sha256"}]`), re-read as it changes. */
    tokensFile: string | undefined;
    /** `AUTOMOD_WEBHOOK_TOKEN`: the webhook route's own credential (unset: a token with role ingest or admin is taken there). */
    webhookToken: string | undefined;
    /** `AUTOMOD_INGEST_MAX_EVENTS`: most events in one `POST /v1/events`. */
    ingestMaxEvents: number;
  };
  /** Events processed at once per process. */
  eventConcurrency: number;
  /** `AUTOMOD_EVENTS_IN_FLIGHT`: events held at once per process, over all its events jobs. */
  eventsInFlight: number;
  /** `AUTOMOD_PARTITIONS`: event partitions (1 = one events queue and tag, today's names). */
  partitions: number;
  /** `AUTOMOD_EVENT_BATCH_MAX`: most events in one `batch` job. */
  eventBatchMax: number;
  /** `AUTOMOD_INGEST_LINGER_MS`: longest a single ingested event waits to share a batch job. */
  ingestLingerMs: number;
  /** Removals carried out at once per process. */
  removalConcurrency: number;
  removalAttempts: number;
  backoffMs: number;
  backoffMaxMs: number;
  /**
   * Longest `Retry-After` honoured (ms; default 300000): a longer one pauses every removal for this
   * long, then they try again.
   */
  retryAfterMaxMs: number;
  /** Cap on removal jobs started per second across all workers; undefined = no cap. */
  apiRatePerSec: number | undefined;
  dedupSeconds: number;
  /**
   * `AUTOMOD_CLOCK_SKEW_SECONDS` (default 300): an event whose `timestamp` is further than this
   * from its receipt is counted at its receipt and marked `skewed`.
   */
  clockSkewSeconds: number;
  /**
   * `AUTOMOD_RULE_BUDGET` (default `100/60s`): the removals a rule may make in a window, across
   * every worker, when it states no `budget` of its own; past it the rule trips.
   */
  ruleBudget: Budget;
  shutdownTimeoutMs: number;
  /**
   * BullMQ job lock (`AUTOMOD_LOCK_MS`) and stalled-job check interval
   * (`AUTOMOD_STALLED_INTERVAL_MS`): a job held by a worker that died is taken over within their sum
   * (by default 15 s + 10 s, under 30 s).
   */
  lockDurationMs: number;
  stalledIntervalMs: number;
  eventLogHours: number;
  /** Events the processed-event log keeps at most (`AUTOMOD_EVENT_LOG_MAX_ENTRIES`), besides the hours. */
  eventLogMaxEntries: number;
  /** Removal jobs whose outcome and API attempts are kept at most (`AUTOMOD_REMOVAL_RECORDS_MAX`). */
  removalRecordsMax: number;
  /** Audit records kept (the oldest are trimmed past this). */
  auditMaxRecords: number;
  /** Completed and failed jobs are kept this many hours (and at most `jobsKeepCount`). */
  jobsKeepHours: number;
  jobsKeepCount: number;
  /** `AUTOMOD_REVIEW_TTL` (ms; default 24 h): how long a review item waits before it is `expired`. */
  reviewTtlMs: number;
  /** `AUTOMOD_NOTIFY_URLS`, `AUTOMOD_NOTIFY_SECRET`, `AUTOMOD_NOTIFY_TYPES` (unset: every type). */
  notify: {
    urls: readonly string[];
    secret: string | undefined;
    types: readonly NotifyType[] | undefined;
    /** `AUTOMOD_NOTIFY_ATTEMPTS` (default 8): tries per delivery, with exponential backoff from 1 s. */
    attempts: number;
  };
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /**
   * `LOG_FORMAT`: `json` (one JSON object a line), `pretty` (coloured lines for a person) or `auto`
   * (the default: pretty when the log goes to a terminal, else JSON).
   */
  logFormat: 'auto' | 'json' | 'pretty';
}

export type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
const LOG_FORMATS = ['auto', 'json', 'pretty'] as const;

/** Shortest accepted `AUTOMOD_API_TOKEN`: it guards removals, replays and the dashboard. */
export const MIN_API_TOKEN_LENGTH = 16;

/** A plain namespace name (`AUTOMOD_PREFIX`, the producer's `prefix`); the `{}` hash tag is added to it. */
export const PREFIX_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

const notifyType = z.enum(NOTIFY_TYPES, { error: (issue) => `"${String(issue.input)}" is not one of ${NOTIFY_TYPES.join(', ')}` });

/** A rule budget, `N/DURATION` (see `parseBudget`). */
const ruleBudget = z.string().transform((raw, ctx) => {
  const parsed = parseBudget(raw);
  if ('budget' in parsed) return parsed.budget;
  ctx.addIssue({ code: 'custom', message: parsed.problem });
  return z.NEVER;
});

/**
 * Every environment variable the worker reads, with its kind and default. docs/reference.md has a
 * row for each (a test keeps the two in step). A new variable is a line here, a field in `Config`
 * and a line in `configOf`.
 */
const variables = z.object({
  REDIS_URL: url(['redis:', 'rediss:']).default('redis://127.0.0.1:6379'),
  REDIS_CLUSTER_NODES: commaList(hostPort).default([]),
  AUTOMOD_REDIS_CONNECT_TIMEOUT_MS: wholeNumber(100, 600_000).default(5000),
  AUTOMOD_PREFIX: z
    .string()
    .regex(PREFIX_PATTERN, 'must be a plain name of letters, digits, "_", "-" or "." (the worker adds the {} hash tag itself)')
    .default('automod'),
  AUTOMOD_RULES: z.string().default('./rules'),
  AUTOMOD_ALLOW_EMPTY_RULES: boolean.default(false),
  VIDEOSDK_API_BASE: url(['http:', 'https:'])
    .transform((base) => base.replace(/\/+$/, ''))
    .default('https://api.videosdk.live'),
  VIDEOSDK_API_VERSION: oneOf(['v1', 'v2']).default('v1'),
  VIDEOSDK_TOKEN: secret.optional(),
  VIDEOSDK_API_KEY: secret.optional(),
  VIDEOSDK_SECRET: secret.optional(),
  VIDEOSDK_TIMEOUT_MS: wholeNumber(1).default(10000),
  VIDEOSDK_WEBHOOK_PUBLIC_KEY: pemPublicKey.optional(),
  AUTOMOD_HTTP_HOST: z.string().default('127.0.0.1'),
  AUTOMOD_HTTP_PORT: wholeNumber(0, 65535).default(8080),
  AUTOMOD_API_TOKEN: token(MIN_API_TOKEN_LENGTH).optional(),
  AUTOMOD_TOKENS_FILE: z.string().optional(),
  AUTOMOD_WEBHOOK_TOKEN: token(MIN_API_TOKEN_LENGTH).optional(),
  AUTOMOD_INGEST_MAX_EVENTS: wholeNumber(1, 100_000).default(1000),
  AUTOMOD_EVENT_CONCURRENCY: wholeNumber(1, 10000).default(200),
  AUTOMOD_EVENTS_IN_FLIGHT: wholeNumber(1, 1_000_000).default(2000),
  AUTOMOD_PARTITIONS: wholeNumber(1, MAX_PARTITIONS).default(1),
  AUTOMOD_EVENT_BATCH_MAX: wholeNumber(1, 10_000).default(500),
  AUTOMOD_INGEST_LINGER_MS: wholeNumber(0, 1000).default(2),
  AUTOMOD_REMOVAL_CONCURRENCY: wholeNumber(1, 10000).default(100),
  AUTOMOD_REMOVAL_ATTEMPTS: wholeNumber(1, 1000).default(8),
  AUTOMOD_BACKOFF_MS: wholeNumber(1).default(1000),
  AUTOMOD_BACKOFF_MAX_MS: wholeNumber(1).default(60000),
  AUTOMOD_RETRY_AFTER_MAX_MS: wholeNumber(0).default(300000),
  AUTOMOD_API_RATE_PER_SEC: wholeNumber(1).optional(),
  AUTOMOD_DEDUP_SECONDS: wholeNumber(1).default(300),
  AUTOMOD_CLOCK_SKEW_SECONDS: wholeNumber(1, 86_400).default(300),
  AUTOMOD_RULE_BUDGET: ruleBudget.default(() => ({ ...DEFAULT_RULE_BUDGET })),
  AUTOMOD_SHUTDOWN_TIMEOUT_MS: wholeNumber(0).default(10000),
  AUTOMOD_LOCK_MS: wholeNumber(1000, 600000).default(15000),
  AUTOMOD_STALLED_INTERVAL_MS: wholeNumber(500, 600000).default(10000),
  AUTOMOD_EVENT_LOG_HOURS: hours(0).default(24),
  AUTOMOD_EVENT_LOG_MAX_ENTRIES: wholeNumber(1000).default(1_000_000),
  AUTOMOD_REMOVAL_RECORDS_MAX: wholeNumber(100).default(100_000),
  AUTOMOD_AUDIT_MAX_RECORDS: wholeNumber(100).default(100000),
  AUTOMOD_JOBS_KEEP_HOURS: hours(0.001).default(24),
  AUTOMOD_JOBS_KEEP_COUNT: wholeNumber(10).default(10000),
  AUTOMOD_REVIEW_TTL: duration('1s', '30d').prefault('24h'),
  AUTOMOD_NOTIFY_URLS: receiverUrls.default([]),
  AUTOMOD_NOTIFY_SECRET: secret.optional(),
  AUTOMOD_NOTIFY_TYPES: commaList(notifyType).optional(),
  AUTOMOD_NOTIFY_ATTEMPTS: wholeNumber(1, 100).default(8),
  LOG_LEVEL: z.string().toLowerCase().pipe(oneOf(LOG_LEVELS)).default('info'),
  LOG_FORMAT: z.string().toLowerCase().pipe(oneOf(LOG_FORMATS)).default('auto'),
});

type Variables = z.output<typeof variables>;
type Variable = keyof Variables;

/** The names of every environment variable the configuration reads. */
export const CONFIG_VARIABLES: readonly string[] = Object.freeze(Object.keys(variables.shape));

/** A problem that involves several variables, reported under the one to change. */
type CrossProblem<N extends Variable> = { path: N; message: string } | undefined;

/**
 * A check across variables, parsed on its own so that it runs beside every other problem, and
 * only once the variables it reads are valid each (a bad value is reported once, by its schema).
 */
function across<const N extends Variable>(reads: readonly N[], check: (env: Pick<Variables, N>) => CrossProblem<N>) {
  const schema = variables.pick(Object.fromEntries(reads.map((name) => [name, true])) as Partial<Record<Variable, true>>);
  return (input: Readonly<Record<string, string | undefined>>): Problem[] => {
    const parsed = schema.safeParse(input);
    const problem = parsed.success ? check(parsed.data as Pick<Variables, N>) : undefined;
    return problem === undefined ? [] : [problem];
  };
}

const CROSS_CHECKS = [
  across(['VIDEOSDK_API_KEY', 'VIDEOSDK_SECRET'], (env) =>
    (env.VIDEOSDK_API_KEY === undefined) === (env.VIDEOSDK_SECRET === undefined)
      ? undefined
      : {
          path: env.VIDEOSDK_API_KEY === undefined ? 'VIDEOSDK_API_KEY' : 'VIDEOSDK_SECRET',
          message: 'VIDEOSDK_API_KEY and VIDEOSDK_SECRET must be set together',
        },
  ),
  across(['AUTOMOD_BACKOFF_MS', 'AUTOMOD_BACKOFF_MAX_MS'], (env) =>
    env.AUTOMOD_BACKOFF_MAX_MS < env.AUTOMOD_BACKOFF_MS
      ? { path: 'AUTOMOD_BACKOFF_MAX_MS', message: 'must not be less than AUTOMOD_BACKOFF_MS' }
      : undefined,
  ),
  across(['AUTOMOD_API_TOKEN', 'AUTOMOD_WEBHOOK_TOKEN'], (env) =>
    env.AUTOMOD_WEBHOOK_TOKEN !== undefined && env.AUTOMOD_WEBHOOK_TOKEN === env.AUTOMOD_API_TOKEN
      ? { path: 'AUTOMOD_WEBHOOK_TOKEN', message: 'must differ from AUTOMOD_API_TOKEN (a leaked webhook URL must not open the API)' }
      : undefined,
  ),
  across(['AUTOMOD_API_TOKEN', 'AUTOMOD_TOKENS_FILE', 'AUTOMOD_HTTP_HOST'], (env) =>
    env.AUTOMOD_API_TOKEN === undefined && env.AUTOMOD_TOKENS_FILE === undefined && !isLoopback(env.AUTOMOD_HTTP_HOST)
      ? {
          path: 'AUTOMOD_HTTP_HOST',
          message: `"${env.AUTOMOD_HTTP_HOST}" is not a loopback address; set AUTOMOD_API_TOKEN or AUTOMOD_TOKENS_FILE to serve beyond this machine`,
        }
      : undefined,
  ),
];

/**
 * Reads the configuration from `env` (never from `process.env` directly) and reports every
 * problem at once in one `ConfigError`, each under its variable's name.
 */
export function parseConfig(env: Env): Config {
  // A blank value counts as unset; white space around a value is never part of it.
  const input = Object.fromEntries(CONFIG_VARIABLES.map((name) => [name, env[name]?.trim() || undefined]));
  const parsed = variables.safeParse(input);
  const problems = [
    ...(parsed.error?.issues ?? []).map((issue) => ({ path: String(issue.path[0]), message: issue.message })),
    ...CROSS_CHECKS.flatMap((check) => check(input)),
  ];
  if (!parsed.success || problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(configOf(parsed.data));
}

function configOf(env: Variables): Config {
  return {
    redis: { url: env.REDIS_URL, clusterNodes: env.REDIS_CLUSTER_NODES, connectTimeoutMs: env.AUTOMOD_REDIS_CONNECT_TIMEOUT_MS },
    prefix: env.AUTOMOD_PREFIX,
    keyPrefix: `{${env.AUTOMOD_PREFIX}}`,
    rulesDir: env.AUTOMOD_RULES,
    allowEmptyRules: env.AUTOMOD_ALLOW_EMPTY_RULES,
    videosdk: {
      apiBase: env.VIDEOSDK_API_BASE,
      apiVersion: env.VIDEOSDK_API_VERSION,
      token: env.VIDEOSDK_TOKEN,
      apiKey: env.VIDEOSDK_API_KEY,
      secret: env.VIDEOSDK_SECRET,
      timeoutMs: env.VIDEOSDK_TIMEOUT_MS,
      webhookPublicKey: env.VIDEOSDK_WEBHOOK_PUBLIC_KEY,
    },
    http: {
      host: env.AUTOMOD_HTTP_HOST,
      port: env.AUTOMOD_HTTP_PORT,
      apiToken: env.AUTOMOD_API_TOKEN,
      tokensFile: env.AUTOMOD_TOKENS_FILE,
      webhookToken: env.AUTOMOD_WEBHOOK_TOKEN,
      ingestMaxEvents: env.AUTOMOD_INGEST_MAX_EVENTS,
    },
    eventConcurrency: env.AUTOMOD_EVENT_CONCURRENCY,
    eventsInFlight: env.AUTOMOD_EVENTS_IN_FLIGHT,
    partitions: env.AUTOMOD_PARTITIONS,
    eventBatchMax: env.AUTOMOD_EVENT_BATCH_MAX,
    ingestLingerMs: env.AUTOMOD_INGEST_LINGER_MS,
    removalConcurrency: env.AUTOMOD_REMOVAL_CONCURRENCY,
    removalAttempts: env.AUTOMOD_REMOVAL_ATTEMPTS,
    backoffMs: env.AUTOMOD_BACKOFF_MS,
    backoffMaxMs: env.AUTOMOD_BACKOFF_MAX_MS,
    retryAfterMaxMs: env.AUTOMOD_RETRY_AFTER_MAX_MS,
    apiRatePerSec: env.AUTOMOD_API_RATE_PER_SEC,
    dedupSeconds: env.AUTOMOD_DEDUP_SECONDS,
    clockSkewSeconds: env.AUTOMOD_CLOCK_SKEW_SECONDS,
    ruleBudget: env.AUTOMOD_RULE_BUDGET,
    shutdownTimeoutMs: env.AUTOMOD_SHUTDOWN_TIMEOUT_MS,
    lockDurationMs: env.AUTOMOD_LOCK_MS,
    stalledIntervalMs: env.AUTOMOD_STALLED_INTERVAL_MS,
    eventLogHours: env.AUTOMOD_EVENT_LOG_HOURS,
    eventLogMaxEntries: env.AUTOMOD_EVENT_LOG_MAX_ENTRIES,
    removalRecordsMax: env.AUTOMOD_REMOVAL_RECORDS_MAX,
    auditMaxRecords: env.AUTOMOD_AUDIT_MAX_RECORDS,
    jobsKeepHours: env.AUTOMOD_JOBS_KEEP_HOURS,
    jobsKeepCount: env.AUTOMOD_JOBS_KEEP_COUNT,
    reviewTtlMs: env.AUTOMOD_REVIEW_TTL,
    notify: {
      urls: env.AUTOMOD_NOTIFY_URLS,
      secret: env.AUTOMOD_NOTIFY_SECRET,
      types: env.AUTOMOD_NOTIFY_TYPES,
      attempts: env.AUTOMOD_NOTIFY_ATTEMPTS,
    },
    logLevel: env.LOG_LEVEL,
    logFormat: env.LOG_FORMAT,
  };
}

/** `true`/`false` as environment variables spell them (also 1/0, yes/no); undefined for anything else. */
export function parseBoolean(raw: string): boolean | undefined {
  const parsed = boolean.safeParse(raw.trim());
  return parsed.success ? parsed.data : undefined;
}

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether any way of authenticating to VideoSDK is configured. */
export function hasVideoSdkCredential(config: Config): boolean {
  return config.videosdk.token !== undefined || (config.videosdk.apiKey !== undefined && config.videosdk.secret !== undefined);
}
