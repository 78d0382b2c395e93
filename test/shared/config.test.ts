import { describe, expect, it } from 'vitest';
import { hasVideoSdkCredential, isLoopback, parseConfig, type Config } from '../../src/shared/config.js';
import { ConfigError } from '../../src/shared/errors.js';

function problems(env: Record<string, string>): { path: string; message: string }[] {
  try {
    parseConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return [...(err as ConfigError).problems];
  }
  throw new Error(`expected ${JSON.stringify(env)} to be refused`);
}

const PEM = '-----BEGIN PUBLIC KEY-----\\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA\\n-----END PUBLIC KEY-----';

describe('parseConfig', () => {
  it('has the documented defaults', () => {
    const config = parseConfig({});
    expect(config).toEqual<Config>({
      redis: { url: 'redis://127.0.0.1:6379', clusterNodes: [], connectTimeoutMs: 5000 },
      prefix: 'automod',
      keyPrefix: '{automod}',
      rulesDir: './rules',
      allowEmptyRules: false,
      videosdk: {
        apiBase: 'https://api.videosdk.live',
        apiVersion: 'v1',
        token: undefined,
        apiKey: undefined,
        secret: undefined,
        timeoutMs: 10000,
        webhookPublicKey: undefined,
      },
      http: { host: '127.0.0.1', port: 8080, apiToken: undefined, tokensFile: undefined, webhookToken: undefined, ingestMaxEvents: 1000 },
      eventConcurrency: 200,
      eventsInFlight: 2000,
      partitions: 1,
      eventBatchMax: 500,
      ingestLingerMs: 2,
      removalConcurrency: 100,
      removalAttempts: 8,
      backoffMs: 1000,
      backoffMaxMs: 60000,
      retryAfterMaxMs: 300000,
      apiRatePerSec: undefined,
      dedupSeconds: 300,
      clockSkewSeconds: 300,
      ruleBudget: { max: 100, windowMs: 60_000 },
      shutdownTimeoutMs: 10000,
      lockDurationMs: 15000,
      stalledIntervalMs: 10000,
      eventLogHours: 24,
      eventLogMaxEntries: 1_000_000,
      removalRecordsMax: 100_000,
      auditMaxRecords: 100000,
      jobsKeepHours: 24,
      jobsKeepCount: 10000,
      reviewTtlMs: 86_400_000,
      notify: { urls: [], secret: undefined, types: undefined, attempts: 8 },
      logLevel: 'info',
      logFormat: 'auto',
    });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.videosdk)).toBe(true);
    expect(Object.isFrozen(config.redis.clusterNodes)).toBe(true);
    expect(hasVideoSdkCredential(config)).toBe(false);
  });

  it('reads every variable', () => {
    const config = parseConfig({
      REDIS_URL: 'rediss://user:pw@redis.internal:6380/2',
      REDIS_CLUSTER_NODES: 'node-a:7000, node-b:7001,[::1]:7002',
      AUTOMOD_PREFIX: 'mod-eu.1',
      AUTOMOD_RULES: '/etc/automod/rules',
      VIDEOSDK_API_BASE: 'http://127.0.0.1:9090/',
      VIDEOSDK_API_VERSION: 'v2',
      VIDEOSDK_TOKEN: 'ready.jwt.token',
      VIDEOSDK_API_KEY: 'key',
      VIDEOSDK_SECRET: 'secret',
      VIDEOSDK_TIMEOUT_MS: '2500',
      VIDEOSDK_WEBHOOK_PUBLIC_KEY: PEM,
      AUTOMOD_HTTP_HOST: '0.0.0.0',
      AUTOMOD_HTTP_PORT: '0',
      AUTOMOD_API_TOKEN: '  0123456789abcdef0123  ',
      AUTOMOD_WEBHOOK_TOKEN: 'webhook-0123456789abcdef',
      AUTOMOD_INGEST_MAX_EVENTS: '50',
      AUTOMOD_EVENT_CONCURRENCY: '5',
      AUTOMOD_PARTITIONS: '12',
      AUTOMOD_EVENT_BATCH_MAX: '100',
      AUTOMOD_INGEST_LINGER_MS: '0',
      AUTOMOD_REMOVAL_CONCURRENCY: '3',
      AUTOMOD_REMOVAL_ATTEMPTS: '2',
      AUTOMOD_BACKOFF_MS: '10',
      AUTOMOD_BACKOFF_MAX_MS: '20',
      AUTOMOD_RETRY_AFTER_MAX_MS: '1500',
      AUTOMOD_API_RATE_PER_SEC: '25',
      AUTOMOD_DEDUP_SECONDS: '60',
      AUTOMOD_RULE_BUDGET: '5000/10m',
      AUTOMOD_SHUTDOWN_TIMEOUT_MS: '0',
      AUTOMOD_LOCK_MS: '5000',
      AUTOMOD_STALLED_INTERVAL_MS: '2000',
      AUTOMOD_EVENT_LOG_HOURS: '0.5',
      AUTOMOD_AUDIT_MAX_RECORDS: '500',
      AUTOMOD_JOBS_KEEP_HOURS: '2',
      AUTOMOD_JOBS_KEEP_COUNT: '50',
      LOG_LEVEL: 'DEBUG',
      LOG_FORMAT: 'Pretty',
    });
    expect(config).toMatchObject({
      redis: {
        url: 'rediss://user:pw@redis.internal:6380/2',
        clusterNodes: [
          { host: 'node-a', port: 7000 },
          { host: 'node-b', port: 7001 },
          { host: '::1', port: 7002 },
        ],
      },
      prefix: 'mod-eu.1',
      keyPrefix: '{mod-eu.1}',
      rulesDir: '/etc/automod/rules',
      videosdk: {
        apiBase: 'http://127.0.0.1:9090',
        apiVersion: 'v2',
        token: 'ready.jwt.token',
        apiKey: 'key',
        secret: 'secret',
        timeoutMs: 2500,
      },
      http: { host: '0.0.0.0', port: 0, apiToken: '0123456789abcdef0123', webhookToken: 'webhook-0123456789abcdef', ingestMaxEvents: 50 },
      eventConcurrency: 5,
      partitions: 12,
      eventBatchMax: 100,
      ingestLingerMs: 0,
      removalConcurrency: 3,
      removalAttempts: 2,
      backoffMs: 10,
      backoffMaxMs: 20,
      retryAfterMaxMs: 1500,
      apiRatePerSec: 25,
      dedupSeconds: 60,
      ruleBudget: { max: 5000, windowMs: 600_000 },
      shutdownTimeoutMs: 0,
      lockDurationMs: 5000,
      stalledIntervalMs: 2000,
      eventLogHours: 0.5,
      auditMaxRecords: 500,
      jobsKeepHours: 2,
      jobsKeepCount: 50,
      logLevel: 'debug',
      logFormat: 'pretty',
    });
    // `\n` escapes in a one-line PEM become newlines.
    expect(config.videosdk.webhookPublicKey).toBe(PEM.replace(/\\n/g, '\n'));
    expect(hasVideoSdkCredential(config)).toBe(true);
  });

  it('refuses a webhook token that is short or the same as the API token, and a bad event cap', () => {
    const api = '0123456789abcdef0123';
    expect(problems({ AUTOMOD_API_TOKEN: api, AUTOMOD_WEBHOOK_TOKEN: api })).toEqual([
      { path: 'AUTOMOD_WEBHOOK_TOKEN', message: expect.stringMatching(/must differ from AUTOMOD_API_TOKEN/) },
    ]);
    expect(problems({ AUTOMOD_WEBHOOK_TOKEN: 'short' })).toEqual([
      { path: 'AUTOMOD_WEBHOOK_TOKEN', message: expect.stringMatching(/at least 16 characters/) },
    ]);
    expect(problems({ AUTOMOD_INGEST_MAX_EVENTS: '0' })).toEqual([
      { path: 'AUTOMOD_INGEST_MAX_EVENTS', message: expect.stringMatching(/whole number from 1/) },
    ]);
  });

  it('treats empty and blank values as unset', () => {
    expect(parseConfig({ AUTOMOD_HTTP_PORT: '', AUTOMOD_API_RATE_PER_SEC: '  ', VIDEOSDK_TOKEN: '' })).toMatchObject({
      http: { port: 8080 },
      apiRatePerSec: undefined,
      videosdk: { token: undefined },
    });
  });

  it('lists every problem at once, each under its variable', () => {
    const found = problems({
      REDIS_URL: 'http://redis:6379',
      REDIS_CLUSTER_NODES: 'node-a:7000,node-b,node-c:99999',
      AUTOMOD_PREFIX: '{automod}',
      VIDEOSDK_API_BASE: 'not a url',
      VIDEOSDK_API_VERSION: 'v3',
      VIDEOSDK_API_KEY: 'key-without-secret',
      VIDEOSDK_TIMEOUT_MS: '10s',
      VIDEOSDK_WEBHOOK_PUBLIC_KEY: 'ssh-rsa AAAA',
      AUTOMOD_HTTP_PORT: '70000',
      AUTOMOD_EVENT_CONCURRENCY: '0',
      AUTOMOD_PARTITIONS: '0',
      AUTOMOD_EVENT_BATCH_MAX: '20000',
      AUTOMOD_INGEST_LINGER_MS: '2ms',
      AUTOMOD_REMOVAL_CONCURRENCY: '-1',
      AUTOMOD_REMOVAL_ATTEMPTS: '1.5',
      AUTOMOD_BACKOFF_MS: '500',
      AUTOMOD_BACKOFF_MAX_MS: '100',
      AUTOMOD_API_RATE_PER_SEC: '0',
      AUTOMOD_DEDUP_SECONDS: 'five',
      AUTOMOD_SHUTDOWN_TIMEOUT_MS: '-5',
      AUTOMOD_LOCK_MS: '10',
      AUTOMOD_STALLED_INTERVAL_MS: '1',
      AUTOMOD_EVENT_LOG_HOURS: '-1',
      AUTOMOD_AUDIT_MAX_RECORDS: '5',
      AUTOMOD_JOBS_KEEP_HOURS: '0',
      AUTOMOD_JOBS_KEEP_COUNT: '1',
      LOG_LEVEL: 'loud',
      LOG_FORMAT: 'xml',
      AUTOMOD_HTTP_HOST: '10.0.0.5',
    });
    const paths = found.map((p) => p.path);
    expect(paths.sort()).toEqual(
      [
        'REDIS_URL',
        'REDIS_CLUSTER_NODES',
        'REDIS_CLUSTER_NODES',
        'AUTOMOD_PREFIX',
        'VIDEOSDK_API_BASE',
        'VIDEOSDK_API_VERSION',
        'VIDEOSDK_SECRET',
        'VIDEOSDK_TIMEOUT_MS',
        'VIDEOSDK_WEBHOOK_PUBLIC_KEY',
        'AUTOMOD_HTTP_PORT',
        'AUTOMOD_EVENT_CONCURRENCY',
        'AUTOMOD_PARTITIONS',
        'AUTOMOD_EVENT_BATCH_MAX',
        'AUTOMOD_INGEST_LINGER_MS',
        'AUTOMOD_REMOVAL_CONCURRENCY',
        'AUTOMOD_REMOVAL_ATTEMPTS',
        'AUTOMOD_BACKOFF_MAX_MS',
        'AUTOMOD_API_RATE_PER_SEC',
        'AUTOMOD_DEDUP_SECONDS',
        'AUTOMOD_SHUTDOWN_TIMEOUT_MS',
        'AUTOMOD_LOCK_MS',
        'AUTOMOD_STALLED_INTERVAL_MS',
        'AUTOMOD_EVENT_LOG_HOURS',
        'AUTOMOD_AUDIT_MAX_RECORDS',
        'AUTOMOD_JOBS_KEEP_HOURS',
        'AUTOMOD_JOBS_KEEP_COUNT',
        'LOG_LEVEL',
        'LOG_FORMAT',
        'AUTOMOD_HTTP_HOST',
      ].sort(),
    );
    const byPath = (path: string) => found.filter((p) => p.path === path).map((p) => p.message);
    expect(byPath('REDIS_URL')).toEqual(['must use redis: or rediss:, got "http:"']);
    expect(byPath('REDIS_CLUSTER_NODES')).toEqual(['"node-b" is not host:port', '"node-c:99999" is not host:port']);
    expect(byPath('AUTOMOD_HTTP_PORT')).toEqual(['must be a whole number from 0 to 65535, got "70000"']);
    expect(byPath('VIDEOSDK_API_VERSION')).toEqual(['must be v1 or v2, got "v3"']);
    expect(byPath('AUTOMOD_HTTP_HOST')[0]).toMatch(/"10\.0\.0\.5" is not a loopback address; set AUTOMOD_API_TOKEN/);
    // The error's message names them all, for logs.
    try {
      parseConfig({ AUTOMOD_HTTP_PORT: 'x', LOG_LEVEL: 'loud' });
    } catch (err) {
      expect((err as Error).message).toMatch(/^invalid configuration: /);
      expect((err as Error).message).toContain('AUTOMOD_HTTP_PORT: must be a whole number');
      expect((err as Error).message).toContain('LOG_LEVEL: must be one of');
    }
  });

  it('refuses a non-loopback HTTP host without an API token or a tokens file, and a short token', () => {
    for (const host of ['0.0.0.0', '::', '192.168.1.10', 'automod.example.com']) {
      expect(
        problems({ AUTOMOD_HTTP_HOST: host }).map((p) => p.path),
        host,
      ).toEqual(['AUTOMOD_HTTP_HOST']);
      expect(parseConfig({ AUTOMOD_HTTP_HOST: host, AUTOMOD_API_TOKEN: 'a-long-enough-token' }).http.host).toBe(host);
      expect(parseConfig({ AUTOMOD_HTTP_HOST: host, AUTOMOD_TOKENS_FILE: '/etc/automod/tokens.json' }).http).toMatchObject({
        host,
        tokensFile: '/etc/automod/tokens.json',
      });
    }
    for (const host of ['127.0.0.1', '127.1.2.3', 'localhost', '::1', '[::1]']) {
      expect(isLoopback(host), host).toBe(true);
      expect(parseConfig({ AUTOMOD_HTTP_HOST: host }).http.host).toBe(host);
    }
    expect(problems({ AUTOMOD_API_TOKEN: 'short' })).toEqual([
      { path: 'AUTOMOD_API_TOKEN', message: expect.stringMatching(/at least 16 characters/) },
    ]);
  });

  it('reads AUTOMOD_ALLOW_EMPTY_RULES as a boolean and names a value that is not one', () => {
    expect(parseConfig({ AUTOMOD_ALLOW_EMPTY_RULES: 'true' }).allowEmptyRules).toBe(true);
    expect(parseConfig({ AUTOMOD_ALLOW_EMPTY_RULES: ' FALSE ' }).allowEmptyRules).toBe(false);
    expect(parseConfig({ AUTOMOD_ALLOW_EMPTY_RULES: '1' }).allowEmptyRules).toBe(true);
    expect(problems({ AUTOMOD_ALLOW_EMPTY_RULES: 'sure' })).toEqual([
      { path: 'AUTOMOD_ALLOW_EMPTY_RULES', message: 'must be true or false, got "sure"' },
    ]);
  });

  it('reads the review TTL and the notification settings, and names what is wrong in each', () => {
    expect(parseConfig({ AUTOMOD_REVIEW_TTL: '30m' }).reviewTtlMs).toBe(1_800_000);
    expect(parseConfig({ AUTOMOD_REVIEW_TTL: '7d' }).reviewTtlMs).toBe(7 * 86_400_000);
    expect(
      parseConfig({
        AUTOMOD_NOTIFY_URLS: 'https://hooks.example.com/a, ,http://127.0.0.1:9/b',
        AUTOMOD_NOTIFY_SECRET: 'notify-secret',
        AUTOMOD_NOTIFY_TYPES: 'ban.created,review.created',
        AUTOMOD_NOTIFY_ATTEMPTS: '3',
      }).notify,
    ).toEqual({
      urls: ['https://hooks.example.com/a', 'http://127.0.0.1:9/b'],
      secret: 'notify-secret',
      types: ['ban.created', 'review.created'],
      attempts: 3,
    });
    expect(
      problems({
        AUTOMOD_REVIEW_TTL: '31d',
        AUTOMOD_NOTIFY_URLS: 'https://hooks.example.com/a,ftp://files.example.com',
        AUTOMOD_NOTIFY_TYPES: 'ban.created,ban.made',
        AUTOMOD_NOTIFY_ATTEMPTS: '0',
      }),
    ).toEqual([
      { path: 'AUTOMOD_REVIEW_TTL', message: 'must be a duration from 1s to 30d like 30m, 24h or 7d, got "31d"' },
      { path: 'AUTOMOD_NOTIFY_URLS', message: 'entry 2 is not an http(s) URL' },
      { path: 'AUTOMOD_NOTIFY_TYPES', message: expect.stringMatching(/^"ban\.made" is not one of review\.created, /) },
      { path: 'AUTOMOD_NOTIFY_ATTEMPTS', message: 'must be a whole number from 1 to 100, got "0"' },
    ]);
  });

  it('reads AUTOMOD_RULE_BUDGET as N/DURATION and names a value that is not one', () => {
    expect(parseConfig({ AUTOMOD_RULE_BUDGET: ' 200 / 1500ms ' }).ruleBudget).toEqual({ max: 200, windowMs: 1500 });
    expect(problems({ AUTOMOD_RULE_BUDGET: '200/-60s' })).toEqual([
      { path: 'AUTOMOD_RULE_BUDGET', message: expect.stringMatching(/the window must be from 1s to 24h, got "200\/-60s"$/) },
    ]);
    expect(problems({ AUTOMOD_RULE_BUDGET: 'lots' })).toEqual([
      { path: 'AUTOMOD_RULE_BUDGET', message: expect.stringMatching(/^must be a budget like "200\/60s" .*, got "lots"$/) },
    ]);
  });

  it('reports a problem across variables beside a bad value of any kind', () => {
    const across = { AUTOMOD_BACKOFF_MS: '500', AUTOMOD_BACKOFF_MAX_MS: '100' };
    const badValues = {
      REDIS_URL: 'not a url',
      REDIS_CLUSTER_NODES: 'node-a',
      AUTOMOD_PREFIX: '{automod}',
      AUTOMOD_ALLOW_EMPTY_RULES: 'sure',
      VIDEOSDK_API_VERSION: 'v3',
      VIDEOSDK_WEBHOOK_PUBLIC_KEY: 'ssh-rsa AAAA',
      AUTOMOD_HTTP_PORT: 'x',
      AUTOMOD_API_TOKEN: 'short',
      AUTOMOD_EVENT_LOG_HOURS: 'a day',
      AUTOMOD_REVIEW_TTL: '1y',
      AUTOMOD_NOTIFY_URLS: 'ftp://x',
      AUTOMOD_NOTIFY_TYPES: 'nope',
      LOG_LEVEL: 'loud',
    };
    for (const [name, value] of Object.entries(badValues)) {
      expect(
        problems({ ...across, [name]: value }).map((p) => p.path),
        name,
      ).toEqual([name, 'AUTOMOD_BACKOFF_MAX_MS']);
    }
  });

  it('checks across variables only once the variables it reads are valid', () => {
    expect(problems({ AUTOMOD_BACKOFF_MS: 'soon', AUTOMOD_BACKOFF_MAX_MS: '100' }).map((p) => p.path)).toEqual(['AUTOMOD_BACKOFF_MS']);
    expect(problems({ AUTOMOD_API_TOKEN: 'short', AUTOMOD_HTTP_HOST: '0.0.0.0' }).map((p) => p.path)).toEqual(['AUTOMOD_API_TOKEN']);
    expect(problems({ VIDEOSDK_SECRET: 'secret-without-key' })).toEqual([
      { path: 'VIDEOSDK_API_KEY', message: 'VIDEOSDK_API_KEY and VIDEOSDK_SECRET must be set together' },
    ]);
  });

  it('never echoes a secret in a problem', () => {
    const secret = 'sup3r-s3cret-value';
    const found = problems({
      REDIS_URL: `ftp://u:${secret}@x`,
      VIDEOSDK_API_BASE: `gopher://${secret}`,
      VIDEOSDK_SECRET: secret,
      VIDEOSDK_WEBHOOK_PUBLIC_KEY: secret,
    });
    expect(JSON.stringify(found)).not.toContain(secret);
  });

  it('never echoes a token or a receiver URL in a problem', () => {
    const token = 'tok3n';
    const found = problems({
      AUTOMOD_API_TOKEN: token,
      AUTOMOD_WEBHOOK_TOKEN: token,
      AUTOMOD_NOTIFY_URLS: `ftp://hooks.example.com/${token}`,
    });
    expect(found.map((p) => p.path)).toEqual(['AUTOMOD_API_TOKEN', 'AUTOMOD_WEBHOOK_TOKEN', 'AUTOMOD_NOTIFY_URLS']);
    expect(JSON.stringify(found)).not.toContain(token);
  });
});
