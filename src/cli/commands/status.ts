import { WORKER_HEARTBEAT_MS } from '../../app/automod.js';
import type { WorkerCredential } from '../../app/worker-credential.js';
import type { Services } from '../../app/services.js';
import type { Config } from '../../shared/config.js';
import type { RulesStatus } from '../../rules/rules-runtime.js';
import { readRemovalHealth, removalProblems, type RemovalHealth } from '../../removals/removal-health.js';
import { redisAddress } from '../../store/redis.js';
import { credentialText } from '../../videosdk/credential-check.js';
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
  /** What the worker's own credential got (workers that run removals). */
  credential?: WorkerCredential;
  url?: string;
}

export interface StatusReport {
  redis: { address: string; variable: string; version: string | undefined; mode: 'standalone' | 'cluster' };
  prefix: string;
  workers: (WorkerInfo & { uptimeSeconds: number })[];
  queues: Record<string, { counts: Record<string, number>; paused: boolean }>;
  removals: { paused: boolean; reason?: string; kind?: string; at?: string };
  /** What is in the way of removals: pause, `Retry-After` hold, retries, recent failures, tripped rules. */
  health: RemovalHealth;
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
  const health = await readRemovalHealth({ ...services, queue: services.queues.removals }, now);
  const pause = health.paused?.kind === 'unrecorded' ? undefined : health.paused;
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
  else if (!workers.some((w) => w.only !== 'events')) problems.push('no live worker runs removals (all run with --only events)');
  problems.push(...removalProblems(health));
  // Each worker that runs removals says what its own credential got: the one that matters.
  for (const w of workers) {
    const c = w.credential;
    if (w.only === 'events' || c === undefined) continue;
    if (c.result === 'refused')
      problems.push(
        `worker ${w.id}: VideoSDK refused its credential (HTTP ${c.status}, ${c.by === 'check' ? 'checked at start' : 'on a removal'} at ${c.at})`,
      );
    if (c.result === 'missing')
      problems.push(`worker ${w.id}: no VideoSDK credential configured (VIDEOSDK_TOKEN, or VIDEOSDK_API_KEY and VIDEOSDK_SECRET)`);
    if (c.result === 'unknown')
      problems.push(`worker ${w.id}: could not check its VideoSDK credential (${c.error}); it asks again every 30 s`);
  }
  problems.push(...[...ruleProblems].map((p) => `rules: ${p}`));
  return {
    redis: { address, variable, version, mode: config.redis.clusterNodes.length > 0 ? 'cluster' : 'standalone' },
    prefix: config.prefix,
    workers,
    queues,
    removals: { paused: health.paused !== undefined, ...(pause ? { reason: pause.reason, kind: pause.kind, at: pause.at } : {}) },
    health,
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
    `removals    ${removalsLine(report)}`,
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
          ['host', 'pid', 'runs', 'rules version', 'credential', 'uptime'],
          report.workers.map((w) => [
            w.host,
            w.pid,
            w.only,
            w.rules?.version ?? (w.only === 'removals' ? '-' : 'none'),
            w.only === 'events' ? '-' : w.credential ? credentialText(w.credential) : 'not checked yet',
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

/** One word for the removals, then what holds them: `running`, `paused (operator) since ...`, `held ...`. */
function removalsLine(report: StatusReport): string {
  const { health } = report;
  const parts: string[] = [];
  const paused = health.paused;
  if (paused)
    parts.push(paused.kind === 'unrecorded' ? `paused: ${paused.reason}` : `paused (${paused.kind}) since ${paused.at}: ${paused.reason}`);
  if (health.rateLimitedUntil) parts.push(`held by VideoSDK's Retry-After until ${health.rateLimitedUntil}`);
  if (health.retrying.count > 0) parts.push(`failing: ${health.retrying.count} retrying`);
  if (health.failedRecently.count > 0) parts.push(`${health.failedRecently.count} failed in the last hour`);
  if (health.tripped.length > 0) parts.push(`tripped rules: ${health.tripped.map((t) => t.rule).join(', ')}`);
  return parts.length === 0 ? 'running' : terminalText(parts.join('; '));
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
    .description(
      "Redis, live workers (with each one's credential check), queues, what holds removals (pause, Retry-After, failing or failed removals, tripped rules) and rules problems; exits 1 when something needs attention",
    )
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
