import { randomBytes } from 'node:crypto';
import { WORKER_HEARTBEAT_MS } from '../../app/automod.js';
import type { Services } from '../../app/services.js';
import { hasVideoSdkCredential, type Config } from '../../shared/config.js';
import { VideoSdkApiError } from '../../shared/errors.js';
import type { RulesStatus } from '../../rules/rules-runtime.js';
import { redisAddress } from '../../store/redis.js';
import type { Command } from 'commander';
import { terminalText } from '../../shared/terminal-text.js';
import type { CliContext } from '../context.js';
import { printJson, table, type CommandIo } from '../format.js';

/** A worker's announcement in the workers hash (written by `startAutomod` every few seconds). */
export interface WorkerInfo {
  id: string;
  host: string;
  pid: number;
  only: string;
  startedAt: string;
  seenAt: number;
  rules?: RulesStatus;
  url?: string;
}

/** What the credential check found: VideoSDK accepted it, refused it, or could not be asked. */
export type CredentialCheck =
  | { result: 'accepted'; status: number }
  | { result: 'refused'; status: number }
  | { result: 'missing' }
  | { result: 'unknown'; error: string };

export interface StatusReport {
  redis: { address: string; variable: string; version: string | undefined; mode: 'standalone' | 'cluster' };
  prefix: string;
  workers: (WorkerInfo & { uptimeSeconds: number })[];
  queues: Record<string, { counts: Record<string, number>; paused: boolean }>;
  removals: { paused: boolean; reason?: string; kind?: string; at?: string };
  credential: CredentialCheck;
  rules: { problems: string[] };
  /** Everything above that needs attention; the command exits 1 when there is any. */
  problems: string[];
}

/** Reads the live workers; entries not renewed for three heartbeats are dropped from the hash. */
export async function liveWorkers(services: Pick<Services, 'redis' | 'keys'>, now: number): Promise<WorkerInfo[]> {
  const all = await services.redis.hgetall(services.keys.workers());
  const live: WorkerInfo[] = [];
  const stale: string[] = [];
  for (const [id, raw] of Object.entries(all)) {
    let info: WorkerInfo | undefined;
    try {
      info = JSON.parse(raw) as WorkerInfo;
    } catch {
      info = undefined;
    }
    if (info && typeof info.seenAt === 'number' && now - info.seenAt <= 3 * WORKER_HEARTBEAT_MS) live.push(info);
    else stale.push(id);
  }
  if (stale.length > 0) await services.redis.hdel(services.keys.workers(), ...stale);
  return live.sort((a, b) => a.startedAt.localeCompare(b.startedAt));
}

/**
 * Checks the credential with one cheap authenticated call: fetching a session that does not
 * exist. 401/403 = refused; any other answer (404 above all) = accepted.
 */
export async function checkCredential(services: Pick<Services, 'client' | 'config'>): Promise<CredentialCheck> {
  if (!hasVideoSdkCredential(services.config)) return { result: 'missing' };
  try {
    const response = await services.client.getSession(`automod-status-${randomBytes(6).toString('hex')}`);
    return { result: 'accepted', status: response.status };
  } catch (err) {
    if (err instanceof VideoSdkApiError && err.status !== undefined) {
      return err.status === 401 || err.status === 403
        ? { result: 'refused', status: err.status }
        : { result: 'accepted', status: err.status };
    }
    return { result: 'unknown', error: err instanceof Error ? err.message : String(err) };
  }
}

export async function collectStatus(services: Services, now = Date.now()): Promise<StatusReport> {
  const { config } = services;
  const info = await services.redis.info('server');
  const version = /^redis_version:(.+)$/m.exec(info)?.[1]?.trim();
  const workers = (await liveWorkers(services, now)).map((w) => ({
    ...w,
    uptimeSeconds: Math.max(0, Math.round((now - Date.parse(w.startedAt)) / 1000)),
  }));
  const queues: StatusReport['queues'] = {};
  for (const queue of [services.queues.events, services.queues.removals]) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed');
    queues[queue.name] = { counts, paused: await queue.isPaused() };
  }
  // With partitions, `events` sums every partition's queue.
  for (const queue of services.queues.eventPartitions.slice(1)) {
    const counts = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed');
    const sum = queues[queue.name]!.counts;
    for (const [state, n] of Object.entries(counts)) sum[state] = (sum[state] ?? 0) + n;
  }
  const pause = await services.pause.get();
  const removalsPaused = queues[services.queues.removals.name]?.paused ?? false;
  const credential = await checkCredential(services);
  const ruleProblems = new Set<string>();
  for (const w of workers) {
    for (const p of w.rules?.lastError?.problems ?? []) ruleProblems.add(`${w.id}: ${p.path ? `${p.path}: ` : ''}${p.message}`);
    if (w.rules?.missingLists?.length)
      ruleProblems.add(`${w.id}: lists used by rules exist nowhere (they read as empty): ${w.rules.missingLists.join(', ')}`);
    if (w.only !== 'removals' && w.rules?.version === undefined) ruleProblems.add(`${w.id}: no valid rule set loaded`);
  }
  const { address, variable } = redisAddress(config.redis);
  const problems: string[] = [];
  if (workers.length === 0) problems.push('no live worker');
  if (removalsPaused) problems.push(`removals are paused${pause ? ` (${pause.kind}): ${pause.reason}` : ' without a recorded reason'}`);
  if (credential.result === 'refused') problems.push(`VideoSDK refused the credential (HTTP ${credential.status})`);
  if (credential.result === 'missing')
    problems.push('no VideoSDK credential configured here (VIDEOSDK_TOKEN, or VIDEOSDK_API_KEY and VIDEOSDK_SECRET)');
  if (credential.result === 'unknown') problems.push(`could not check the VideoSDK credential: ${credential.error}`);
  problems.push(...[...ruleProblems].map((p) => `rules: ${p}`));
  return {
    redis: { address, variable, version, mode: config.redis.clusterNodes.length > 0 ? 'cluster' : 'standalone' },
    prefix: config.prefix,
    workers,
    queues,
    removals: { paused: removalsPaused, ...(pause ? { reason: pause.reason, kind: pause.kind, at: pause.at } : {}) },
    credential,
    rules: { problems: [...ruleProblems] },
    problems,
  };
}

/** `automod status`: exits 0 when nothing needs attention, 1 when the report lists problems. */
export async function runStatus(services: Services, options: { json: boolean }, io: CommandIo): Promise<number> {
  const report = await collectStatus(services);
  if (options.json) {
    printJson(report, io.stdout);
    return report.problems.length > 0 ? 1 : 0;
  }
  const lines = [
    `redis       ${report.redis.address} (${report.redis.variable}), ${report.redis.mode}, version ${report.redis.version ?? 'unknown'}`,
    `prefix      ${report.prefix}`,
    `credential  ${credentialText(report.credential)}`,
    `removals    ${report.removals.paused ? `paused${report.removals.kind ? ` (${report.removals.kind}) since ${report.removals.at}: ${report.removals.reason}` : ''}` : 'running'}`,
    '',
    table(
      ['queue', 'waiting', 'active', 'delayed', 'failed', 'completed', 'paused'],
      Object.entries(report.queues).map(([name, q]) => [
        name,
        (q.counts.waiting ?? 0) + (q.counts.prioritized ?? 0),
        q.counts.active,
        q.counts.delayed,
        q.counts.failed,
        q.counts.completed,
        q.paused ? 'yes' : 'no',
      ]),
      io.columns,
    ),
    '',
    report.workers.length === 0
      ? 'workers: none live'
      : table(
          ['host', 'pid', 'runs', 'rules version', 'uptime'],
          report.workers.map((w) => [
            w.host,
            w.pid,
            w.only,
            w.rules?.version ?? (w.only === 'removals' ? '-' : 'none'),
            duration(w.uptimeSeconds),
          ]),
          io.columns,
        ),
    '',
    report.problems.length === 0 ? 'no problems' : `problems:\n${report.problems.map((p) => `  - ${terminalText(p)}`).join('\n')}`,
  ];
  io.stdout.write(`${lines.join('\n')}\n`);
  return report.problems.length > 0 ? 1 : 0;
}

function credentialText(check: CredentialCheck): string {
  switch (check.result) {
    case 'accepted':
      return `accepted (a test fetch answered ${check.status})`;
    case 'refused':
      return `REFUSED (HTTP ${check.status})`;
    case 'missing':
      return 'not configured';
    case 'unknown':
      return `unknown: ${check.error}`;
  }
}

function duration(seconds: number): string {
  const h = Math.floor(seconds / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  return h > 0 ? `${h}h${String(m).padStart(2, '0')}m` : m > 0 ? `${m}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}

/** The effective configuration with every secret replaced, for `automod config`. */
export function maskedConfig(config: Config): unknown {
  const mask = (value: string | undefined) => (value === undefined ? undefined : '***');
  let url = config.redis.url;
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    url = parsed.toString();
  } catch {
    url = '***';
  }
  return {
    ...config,
    redis: { ...config.redis, url },
    videosdk: {
      ...config.videosdk,
      token: mask(config.videosdk.token),
      secret: mask(config.videosdk.secret),
      // Not a secret, but a multi-line PEM would break the one-line-per-setting text.
      webhookPublicKey: config.videosdk.webhookPublicKey === undefined ? undefined : '(PEM public key)',
    },
    http: { ...config.http, apiToken: mask(config.http.apiToken), webhookToken: mask(config.http.webhookToken) },
  };
}

/** `automod config`: the effective configuration, secrets masked; text is one `path = value` a line. */
export function runConfig(config: Config, options: { json: boolean }, io: CommandIo): number {
  const masked = maskedConfig(config);
  if (options.json) {
    printJson(masked, io.stdout);
    return 0;
  }
  const lines: string[] = [];
  const walk = (value: unknown, path: string) => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      for (const [key, inner] of Object.entries(value)) walk(inner, path ? `${path}.${key}` : key);
    } else {
      lines.push(`${path} = ${value === undefined ? '(not set)' : typeof value === 'string' ? value : JSON.stringify(value)}`);
    }
  };
  walk(masked, '');
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

/** `automod status`, `automod config`. */
export function register(program: Command, ctx: CliContext): void {
  program
    .command('status')
    .description('Redis, live workers, queues, pause, credential check and rules problems; exits 1 when something needs attention')
    .option('--json', 'print the report as JSON')
    .action(async (options: { json?: boolean }) => {
      ctx.setExitCode(await ctx.withServices((services) => runStatus(services, { json: options.json ?? false }, ctx.io)));
    });

  program
    .command('config')
    .description('print the effective configuration (from the environment and defaults), secrets masked')
    .option('--json', 'print as JSON')
    .action((options: { json?: boolean }) => {
      ctx.setExitCode(runConfig(ctx.config(), { json: options.json ?? false }, ctx.io));
    });
}
