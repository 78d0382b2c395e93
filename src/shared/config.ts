import { DEFAULT_RULE_BUDGET, parseBudget, type Budget } from './budget.js';
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
    apiToken: string | undefined;
    /** `AUTOMOD_WEBHOOK_TOKEN`: the webhook route's own credential (unset: the API token is taken there). */
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

/**
 * Reads the configuration from `env` (never from `process.env` directly) and reports every
 * problem at once in one `ConfigError`.
 */
export function parseConfig(env: Env): Config {
  const problems: Problem[] = [];
  const read = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === '' ? undefined : value.trim();
  };
  const int = (name: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^-?\d+$/.test(raw) || !Number.isSafeInteger(value) || value < min || value > max) {
      problems.push({ path: name, message: `must be a whole number from ${min} to ${max}, got "${raw}"` });
      return fallback;
    }
    return value;
  };
  // Retention in hours may be a fraction (0.25 = 15 min): short-lived set-ups and the benchmark.
  const hours = (name: string, fallback: number, min: number): number => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!/^\d+(\.\d+)?$/.test(raw) || !Number.isFinite(value) || value < min) {
      problems.push({ path: name, message: `must be a number of hours from ${min} up (fractions allowed), got "${raw}"` });
      return fallback;
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = read(name);
    if (raw === undefined) return fallback;
    const value = parseBoolean(raw);
    if (value === undefined) problems.push({ path: name, message: `must be true or false, got "${raw}"` });
    return value ?? fallback;
  };
  const optionalInt = (name: string, min: number): number | undefined => (read(name) === undefined ? undefined : int(name, min, min));
  const url = (name: string, fallback: string, protocols: readonly string[]): string => {
    const raw = read(name) ?? fallback;
    try {
      const parsed = new URL(raw);
      if (!protocols.includes(parsed.protocol)) {
        problems.push({ path: name, message: `must use ${protocols.join(' or ')}, got "${parsed.protocol}"` });
      }
    } catch {
      problems.push({ path: name, message: 'is not a valid URL' });
    }
    return raw;
  };

  const redisUrl = url('REDIS_URL', 'redis://127.0.0.1:6379', ['redis:', 'rediss:']);
  const clusterNodes: { host: string; port: number }[] = [];
  for (const seed of (read('REDIS_CLUSTER_NODES') ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const match = /^(.+):(\d{1,5})$/.exec(seed);
    const port = match ? Number(match[2]) : NaN;
    if (!match || port < 1 || port > 65535) {
      problems.push({ path: 'REDIS_CLUSTER_NODES', message: `"${seed}" is not host:port` });
    } else {
      clusterNodes.push({ host: match[1]!.replace(/^\[(.*)\]$/, '$1'), port });
    }
  }

  const prefix = read('AUTOMOD_PREFIX') ?? 'automod';
  if (!/^[A-Za-z0-9_.-]{1,64}$/.test(prefix)) {
    problems.push({
      path: 'AUTOMOD_PREFIX',
      message: 'must be a plain name of letters, digits, "_", "-" or "." (the worker adds the {} hash tag itself)',
    });
  }

  const apiVersion = read('VIDEOSDK_API_VERSION') ?? 'v1';
  if (apiVersion !== 'v1' && apiVersion !== 'v2') {
    problems.push({ path: 'VIDEOSDK_API_VERSION', message: `must be v1 or v2, got "${apiVersion}"` });
  }
  const token = read('VIDEOSDK_TOKEN');
  const apiKey = read('VIDEOSDK_API_KEY');
  const secret = read('VIDEOSDK_SECRET');
  if ((apiKey === undefined) !== (secret === undefined)) {
    problems.push({
      path: apiKey === undefined ? 'VIDEOSDK_API_KEY' : 'VIDEOSDK_SECRET',
      message: 'VIDEOSDK_API_KEY and VIDEOSDK_SECRET must be set together',
    });
  }
  const webhookPublicKey = read('VIDEOSDK_WEBHOOK_PUBLIC_KEY')?.replace(/\\n/g, '\n');
  if (webhookPublicKey !== undefined && !webhookPublicKey.includes('-----BEGIN')) {
    problems.push({ path: 'VIDEOSDK_WEBHOOK_PUBLIC_KEY', message: 'must be a PEM public key (-----BEGIN PUBLIC KEY-----...)' });
  }

  const logLevel = (read('LOG_LEVEL') ?? 'info').toLowerCase();
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push({ path: 'LOG_LEVEL', message: `must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"` });
  }

  const logFormat = (read('LOG_FORMAT') ?? 'auto').toLowerCase();
  if (!(LOG_FORMATS as readonly string[]).includes(logFormat)) {
    problems.push({ path: 'LOG_FORMAT', message: `must be one of ${LOG_FORMATS.join(', ')}, got "${logFormat}"` });
  }

  const backoffMs = int('AUTOMOD_BACKOFF_MS', 1000, 1);
  const backoffMaxMs = int('AUTOMOD_BACKOFF_MAX_MS', 60000, 1);
  if (backoffMaxMs < backoffMs) {
    problems.push({ path: 'AUTOMOD_BACKOFF_MAX_MS', message: 'must not be less than AUTOMOD_BACKOFF_MS' });
  }

  function ruleBudget(): Budget {
    const raw = read('AUTOMOD_RULE_BUDGET');
    if (raw === undefined) return { ...DEFAULT_RULE_BUDGET };
    const parsed = parseBudget(raw);
    if ('budget' in parsed) return parsed.budget;
    problems.push({ path: 'AUTOMOD_RULE_BUDGET', message: parsed.problem });
    return { ...DEFAULT_RULE_BUDGET };
  }

  function reviewTtl(): number {
    const raw = read('AUTOMOD_REVIEW_TTL') ?? '24h';
    const match = /^(\d+)(s|m|h|d)$/.exec(raw.trim());
    const ms = match ? Number(match[1]) * { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[match[2] as 's' | 'm' | 'h' | 'd'] : NaN;
    if (!(ms >= 1000 && ms <= 30 * 86_400_000)) {
      problems.push({ path: 'AUTOMOD_REVIEW_TTL', message: `must be a duration from 1s to 30d like 30m, 24h or 7d, got "${raw}"` });
      return 86_400_000;
    }
    return ms;
  }

  function notify(): Config['notify'] {
    const urls = (read('AUTOMOD_NOTIFY_URLS') ?? '')
      .split(',')
      .map((u) => u.trim())
      .filter((u) => u !== '');
    for (const [i, u] of urls.entries()) {
      let protocol: string | undefined;
      try {
        protocol = new URL(u).protocol;
      } catch {
        // reported below
      }
      // The URL itself may be a credential (Slack, Discord): problems name its position only.
      if (protocol !== 'http:' && protocol !== 'https:')
        problems.push({ path: 'AUTOMOD_NOTIFY_URLS', message: `entry ${i + 1} is not an http(s) URL` });
    }
    const rawTypes = read('AUTOMOD_NOTIFY_TYPES');
    let types: NotifyType[] | undefined;
    if (rawTypes !== undefined) {
      types = [];
      for (const t of rawTypes
        .split(',')
        .map((x) => x.trim())
        .filter((x) => x !== '')) {
        if ((NOTIFY_TYPES as readonly string[]).includes(t)) types.push(t as NotifyType);
        else problems.push({ path: 'AUTOMOD_NOTIFY_TYPES', message: `"${t}" is not one of ${NOTIFY_TYPES.join(', ')}` });
      }
    }
    return { urls, secret: read('AUTOMOD_NOTIFY_SECRET'), types, attempts: int('AUTOMOD_NOTIFY_ATTEMPTS', 8, 1, 100) };
  }

  const config: Config = {
    redis: { url: redisUrl, clusterNodes, connectTimeoutMs: int('AUTOMOD_REDIS_CONNECT_TIMEOUT_MS', 5000, 100, 600_000) },
    prefix,
    keyPrefix: `{${prefix}}`,
    rulesDir: read('AUTOMOD_RULES') ?? './rules',
    allowEmptyRules: bool('AUTOMOD_ALLOW_EMPTY_RULES', false),
    videosdk: {
      apiBase: url('VIDEOSDK_API_BASE', 'https://api.videosdk.live', ['http:', 'https:']).replace(/\/+$/, ''),
      apiVersion: apiVersion === 'v2' ? 'v2' : 'v1',
      token,
      apiKey,
      secret,
      timeoutMs: int('VIDEOSDK_TIMEOUT_MS', 10000, 1),
      webhookPublicKey,
    },
    http: {
      host: read('AUTOMOD_HTTP_HOST') ?? '127.0.0.1',
      port: int('AUTOMOD_HTTP_PORT', 8080, 0, 65535),
      apiToken: read('AUTOMOD_API_TOKEN'),
      webhookToken: read('AUTOMOD_WEBHOOK_TOKEN'),
      ingestMaxEvents: int('AUTOMOD_INGEST_MAX_EVENTS', 1000, 1, 100_000),
    },
    eventConcurrency: int('AUTOMOD_EVENT_CONCURRENCY', 200, 1, 10000),
    eventsInFlight: int('AUTOMOD_EVENTS_IN_FLIGHT', 2000, 1, 1_000_000),
    partitions: int('AUTOMOD_PARTITIONS', 1, 1, MAX_PARTITIONS),
    eventBatchMax: int('AUTOMOD_EVENT_BATCH_MAX', 500, 1, 10_000),
    ingestLingerMs: int('AUTOMOD_INGEST_LINGER_MS', 2, 0, 1000),
    removalConcurrency: int('AUTOMOD_REMOVAL_CONCURRENCY', 10, 1, 10000),
    removalAttempts: int('AUTOMOD_REMOVAL_ATTEMPTS', 8, 1, 1000),
    backoffMs,
    backoffMaxMs,
    retryAfterMaxMs: int('AUTOMOD_RETRY_AFTER_MAX_MS', 300000, 0),
    apiRatePerSec: optionalInt('AUTOMOD_API_RATE_PER_SEC', 1),
    dedupSeconds: int('AUTOMOD_DEDUP_SECONDS', 300, 1),
    clockSkewSeconds: int('AUTOMOD_CLOCK_SKEW_SECONDS', 300, 1, 86_400),
    ruleBudget: ruleBudget(),
    shutdownTimeoutMs: int('AUTOMOD_SHUTDOWN_TIMEOUT_MS', 10000, 0),
    lockDurationMs: int('AUTOMOD_LOCK_MS', 15000, 1000, 600000),
    stalledIntervalMs: int('AUTOMOD_STALLED_INTERVAL_MS', 10000, 500, 600000),
    eventLogHours: hours('AUTOMOD_EVENT_LOG_HOURS', 24, 0),
    eventLogMaxEntries: int('AUTOMOD_EVENT_LOG_MAX_ENTRIES', 1_000_000, 1000),
    removalRecordsMax: int('AUTOMOD_REMOVAL_RECORDS_MAX', 100_000, 100),
    auditMaxRecords: int('AUTOMOD_AUDIT_MAX_RECORDS', 100000, 100),
    jobsKeepHours: hours('AUTOMOD_JOBS_KEEP_HOURS', 24, 0.001),
    jobsKeepCount: int('AUTOMOD_JOBS_KEEP_COUNT', 10000, 10),
    reviewTtlMs: reviewTtl(),
    notify: notify(),
    logLevel: logLevel as Config['logLevel'],
    logFormat: logFormat as Config['logFormat'],
  };

  if (config.http.apiToken !== undefined && config.http.apiToken.length < MIN_API_TOKEN_LENGTH) {
    problems.push({
      path: 'AUTOMOD_API_TOKEN',
      message: `must be at least ${MIN_API_TOKEN_LENGTH} characters (openssl rand -hex 24 makes a good one)`,
    });
  }
  if (config.http.webhookToken !== undefined && config.http.webhookToken.length < MIN_API_TOKEN_LENGTH) {
    problems.push({
      path: 'AUTOMOD_WEBHOOK_TOKEN',
      message: `must be at least ${MIN_API_TOKEN_LENGTH} characters (openssl rand -hex 24 makes a good one)`,
    });
  } else if (config.http.webhookToken !== undefined && config.http.webhookToken === config.http.apiToken) {
    problems.push({
      path: 'AUTOMOD_WEBHOOK_TOKEN',
      message: 'must differ from AUTOMOD_API_TOKEN (a leaked webhook URL must not open the API)',
    });
  }
  if (config.http.apiToken === undefined && !isLoopback(config.http.host)) {
    problems.push({
      path: 'AUTOMOD_HTTP_HOST',
      message: `"${config.http.host}" is not a loopback address; set AUTOMOD_API_TOKEN to serve beyond this machine`,
    });
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return deepFreeze(config);
}

/** `true`/`false` as environment variables spell them (also 1/0, yes/no); undefined for anything else. */
export function parseBoolean(raw: string): boolean | undefined {
  const value = raw.trim().toLowerCase();
  if (value === 'true' || value === '1' || value === 'yes') return true;
  if (value === 'false' || value === '0' || value === 'no') return false;
  return undefined;
}

/** Shortest accepted `AUTOMOD_API_TOKEN`: it guards removals, replays and the dashboard. */
export const MIN_API_TOKEN_LENGTH = 16;

/** True for addresses that only this machine can reach. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

/** Whether any way of authenticating to VideoSDK is configured. */
export function hasVideoSdkCredential(config: Config): boolean {
  return config.videosdk.token !== undefined || (config.videosdk.apiKey !== undefined && config.videosdk.secret !== undefined);
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object') {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
