#!/usr/bin/env node
/**
 * `npm run bench`: the product against raw BullMQ on the same machine and Redis, in one run so the
 * ratios hold on a noisy machine. See the README's "Performance" section for what each line means.
 *
 *   node dist/bench/bench.js [--quick] [--only baseline|product|eval|lists|raid] [--settle SECONDS] [--list-values N] [--list-changes N] [--profile] [--keep] [--out DIR]
 *
 * --quick     tiny sizes (seconds): proves the bench works; the targets are not judged
 * --only      one part: raw BullMQ baseline, the product (worker process, then its event code alone), rule evaluation,
 *             "list changes under load" (a big live list edited while events flow), or the raid (one session, rate-capped removals)
 * --list-values   values in that live list (default 100000, quick 2000)
 * --list-changes  adds/removes made while events flow (default 10, quick 4)
 * --settle    longest wait for Redis memory to come back down after the run (default 120 s)
 * --profile   the worker runs with --cpu-prof; profiles land in OUT/profiles
 * --keep      leave the run's Redis keys (prefix {bench-...}) for inspection
 * --out       where results and the worker log go (default .bench/)
 *
 * Environment: REDIS_URL (default redis://127.0.0.1:6379); AUTOMOD_* variables override the
 * worker's settings (see `workerEnv`); BENCH_WORKER_NODE_ARGS adds Node flags to the worker only
 * (e.g. `--trace-gc`).
 *
 * A composition root like `cli.ts`: it reads `process.*`, starts the simulator in-process, the
 * baseline and the worker as child processes, and cleans up its Redis prefix at the end.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, release, tmpdir, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseCliArgs } from 'node:util';
import { Redis } from 'ioredis';
import { parseConfig, type Config, type Env } from '../shared/config.js';
import { createIngest } from '../events/ingest.js';
import { createEventProducer } from '../events/producer.js';
import { createLogger } from '../shared/logger.js';
import { createQueues, type Queues } from '../events/queues.js';
import { createSimulator, type SimCall, type Simulator } from '../simulator/simulator.js';
import { createEventLog, type EventLog } from '../store/event-log.js';
import { createKeys, type Keys } from '../store/keys.js';
import { writeBenchRules } from './bench-rules.js';
import { waitForDrain } from './drain.js';
import { measureEvaluation } from './eval-micro.js';
import { measureListChanges } from './list-changes.js';
import { measureProcessor } from './processor-micro.js';
import { runPaced } from './pacer.js';
import { measureRawDrain, measureRawTwoHop } from './raw-baseline.js';
import { commandStats, commandsPer, prefixFootprint, redisVersion, usedMemory } from './redis-memory.js';
import { deleteKeys } from '../store/scan-keys.js';
import { freePort } from '../shared/free-port.js';
import { cpuMeter } from './cpu-meter.js';
import { raidStoryChecks } from './raid-report.js';
import { checkTargets, rawCpuUsPerJob, rawYardstick, renderTable, type BenchResults } from './report.js';
import { round, summarize, wallClockMs } from './stats.js';
import { sleep } from '../shared/sleep.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';
import { createPacedEvents, saturationEvents, violators } from './workload.js';
import { measureRaid } from './raid.js';
import { measureEndSessionRaid, measureViolators } from './raid-story.js';
import { startSimulatorProcess } from './simulator-process.js';
import type { LatencySummary } from './stats.js';
import type { CpuUse } from './cpu-meter.js';
import type { MeetingEvent } from '../shared/event-schema.js';
import { Agent, request as httpRequest } from 'node:http';

interface Sizes {
  drainJobs: number;
  twoHopRate: number;
  twoHopMs: number;
  /** Paced phases start with this much unmeasured traffic (JIT, script loading, connections). */
  warmUpMs: number;
  saturationEvents: number;
  latencyRate: number;
  latencyMs: number;
  /** Longest wait after the run for retention to bring Redis back down. */
  settleMaxMs: number;
  evalEvents: number;
  /** Events per round of the processor-alone measurement. */
  processorEvents: number;
  /** "List changes under load": live-list size, changes, event rate and duration. */
  listValues: number;
  listChanges: number;
  listRate: number;
  listMs: number;
  /** The raid: bots, events, over how long, and the worker's API rate cap. */
  raidBots: number;
  raidEvents: number;
  raidMs: number;
  raidCap: number;
  /** How long the simulator takes to answer a remove call in the raid's measures (a real API's). */
  raidLatencyMs: number;
  /** Gate checks a second during the raid (when it starts refusing), and afterwards (its latency). */
  gateChecksPerSec: number;
  gateLoadPerSec: number;
  /** Distinct violators queued at once, cleared at the cap. */
  violators: number;
  /** The raid met by a lockdown that ends the session: bots, and their joins a second. */
  endBots: number;
  endJoinsPerSec: number;
}

const FULL: Sizes = {
  drainJobs: 20_000,
  twoHopRate: 1000,
  twoHopMs: 20_000,
  warmUpMs: 3000,
  saturationEvents: 20_000,
  latencyRate: 1000,
  latencyMs: 20_000,
  settleMaxMs: 120_000,
  evalEvents: 20_000,
  processorEvents: 10_000,
  listValues: 100_000,
  listChanges: 10,
  listRate: 400,
  listMs: 20_000,
  raidBots: 5000,
  raidEvents: 50_000,
  raidMs: 10_000,
  raidCap: 200,
  raidLatencyMs: 150,
  gateChecksPerSec: 50,
  gateLoadPerSec: 1000,
  violators: 2000,
  endBots: 5000,
  endJoinsPerSec: 2500,
};

const QUICK: Sizes = {
  drainJobs: 500,
  twoHopRate: 200,
  twoHopMs: 1500,
  warmUpMs: 300,
  saturationEvents: 500,
  latencyRate: 200,
  latencyMs: 1500,
  settleMaxMs: 1000,
  evalEvents: 1000,
  processorEvents: 500,
  listValues: 2000,
  listChanges: 4,
  listRate: 200,
  listMs: 2000,
  raidBots: 200,
  raidEvents: 2000,
  raidMs: 2000,
  raidCap: 200,
  raidLatencyMs: 150,
  gateChecksPerSec: 50,
  gateLoadPerSec: 200,
  violators: 200,
  endBots: 200,
  endJoinsPerSec: 500,
};

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

interface Args {
  quick: boolean;
  /** Run one part only (profiling, iterating); the targets are then not judged. */
  only: 'baseline' | 'product' | 'eval' | 'lists' | 'raid' | undefined;
  profile: boolean;
  keep: boolean;
  out: string;
  /** Longest wait for Redis memory to come back down (default: 120 s, quick 1 s). */
  settleSeconds: number | undefined;
  listValues: number | undefined;
  listChanges: number | undefined;
}

const USAGE =
  'usage: node dist/bench/bench.js [--quick] [--only baseline|product|eval|lists|raid] [--settle SECONDS] [--list-values N] [--list-changes N] [--profile] [--keep] [--out DIR]\n';

function parseArgs(argv: readonly string[]): Args {
  let parsed;
  try {
    parsed = parseCliArgs({
      args: [...argv],
      options: {
        quick: { type: 'boolean', default: false },
        profile: { type: 'boolean', default: false },
        keep: { type: 'boolean', default: false },
        out: { type: 'string' },
        settle: { type: 'string' },
        only: { type: 'string' },
        'list-values': { type: 'string' },
        'list-changes': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const fail = (message: string): never => {
    process.stderr.write(`${message}\n${USAGE}`);
    process.exit(2);
  };
  if (parsed.settle !== undefined && !/^\d+$/.test(parsed.settle)) fail(`--settle takes whole seconds, got "${parsed.settle}"`);
  if (parsed.only !== undefined && !['baseline', 'product', 'eval', 'lists', 'raid'].includes(parsed.only))
    fail(`--only takes baseline, product, eval, lists or raid, got "${parsed.only}"`);
  for (const name of ['list-values', 'list-changes'] as const) {
    const value = parsed[name];
    if (value !== undefined && (!/^\d+$/.test(value) || Number(value) > 1_000_000))
      fail(`--${name} takes a whole number up to 1000000, got "${value}"`);
  }
  return {
    quick: parsed.quick,
    only: parsed.only as Args['only'],
    profile: parsed.profile,
    keep: parsed.keep,
    out: parsed.out !== undefined ? resolve(parsed.out) : join(ROOT, '.bench'),
    settleSeconds: parsed.settle !== undefined ? Number(parsed.settle) : undefined,
    listValues: parsed['list-values'] !== undefined ? Number(parsed['list-values']) : undefined,
    listChanges: parsed['list-changes'] !== undefined ? Number(parsed['list-changes']) : undefined,
  };
}

/**
 * The worker's environment. Retention is short so that "Redis comes back down" can be seen within
 * the run: finished jobs are kept 7 s and at most 10 (removal outcomes and session records 7 times
 * longer, 50 s), event ids and removal claims are remembered 20 s, the event log keeps 36 s, the
 * audit trail its minimum of 100 records. Counters expire with their longest window (60 s); strikes
 * are kept an hour whatever the settings (a few bytes per offender). A rule without a budget of
 * its own may remove 100,000 a minute: the product phases follow one another within a minute, and
 * the default (100) tripped the impersonation and invite rules in the second, holding their hits
 * for review instead of removing (what a budget is for, not what the phases measure).
 * Any AUTOMOD_* variable (and LOG_LEVEL, NODE_OPTIONS) set when the bench starts overrides these,
 * to try other settings.
 */
function workerEnv(base: Env, redisUrl: string, prefix: string, rulesDir: string, simulatorUrl: string, secret: string): Env {
  const overrides = Object.fromEntries(
    Object.entries(base).filter(([k]) => k.startsWith('AUTOMOD_') || k === 'LOG_LEVEL' || k === 'NODE_OPTIONS'),
  );
  return {
    PATH: base.PATH,
    HOME: base.HOME,
    LOG_LEVEL: 'info',
    AUTOMOD_JOBS_KEEP_COUNT: '10',
    AUTOMOD_JOBS_KEEP_HOURS: '0.002',
    AUTOMOD_DEDUP_SECONDS: '20',
    AUTOMOD_EVENT_LOG_HOURS: '0.01',
    AUTOMOD_AUDIT_MAX_RECORDS: '100',
    AUTOMOD_RULE_BUDGET: '100000/60s',
    AUTOMOD_HTTP_PORT: '0',
    ...overrides,
    REDIS_URL: redisUrl,
    AUTOMOD_PREFIX: prefix,
    AUTOMOD_RULES: rulesDir,
    VIDEOSDK_API_BASE: simulatorUrl,
    VIDEOSDK_API_KEY: 'bench-key',
    VIDEOSDK_SECRET: secret,
  };
}

/** What every phase works with. */
interface Run {
  args: Args;
  sizes: Sizes;
  say(line: string): void;
  prefix: string;
  rulesDir: string;
  simulator: Simulator;
  env: Env;
  config: Config;
  keys: Keys;
  /** INFO, SCAN and cleanup; never used to produce load. */
  monitor: Redis;
  /** The producer's connection (adds, ingest, polling). */
  producer: Redis;
  queues: Queues;
  logFile: string;
}

async function main(): Promise<number> {
  const args = parseArgs(process.argv.slice(2));
  const sizes = {
    ...(args.quick ? QUICK : FULL),
    ...(args.settleSeconds !== undefined ? { settleMaxMs: args.settleSeconds * 1000 } : {}),
    ...(args.listValues !== undefined ? { listValues: args.listValues } : {}),
    ...(args.listChanges !== undefined ? { listChanges: args.listChanges } : {}),
  };
  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const say = (line: string) => process.stderr.write(`[bench ${((wallClockMs() - startedAt.getTime()) / 1000).toFixed(1)}s] ${line}\n`);
  await mkdir(args.out, { recursive: true });

  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-${randomBytes(4).toString('hex')}`;
  const rulesDir = await mkdtemp(join(tmpdir(), 'automod-bench-rules-'));
  await writeBenchRules(rulesDir, join(ROOT, 'rules'));
  const secret = randomBytes(16).toString('hex');
  const simulator = createSimulator({ secret, apiKey: 'bench-key', now: wallClockMs });
  const simulatorUrl = await simulator.listen(0);
  const env = workerEnv(process.env, redisUrl, prefix, rulesDir, simulatorUrl, secret);
  const config = parseConfig(env);
  const monitor = new Redis(redisUrl, { maxRetriesPerRequest: 2 });
  const producer = new Redis(redisUrl, { maxRetriesPerRequest: null });
  const run: Run = {
    args,
    sizes,
    say,
    prefix,
    rulesDir,
    simulator,
    env,
    config,
    keys: createKeys(config.keyPrefix),
    monitor,
    producer,
    queues: createQueues(config, producer),
    logFile: join(args.out, `bench-${stamp}-worker.log`),
  };

  try {
    const versions = await collectVersions(monitor);
    say(
      `Redis ${versions.redis} at ${redisUrl}, prefix {${prefix}}, ${args.quick ? 'quick' : 'full'} run${args.only ? ` (only ${args.only})` : ''}`,
    );
    const results: Partial<BenchResults> = {};
    if (args.only === undefined || args.only === 'baseline') Object.assign(results, await runBaseline(run));
    // The product's part alone still gets its yardstick: its ratios are only figures against it.
    else if (args.only === 'product' || args.only === 'raid') results.rawDrain = await runRawDrain(run, 'first');
    if (args.only === undefined || args.only === 'product') Object.assign(results, await runProduct(run));
    // The yardstick again, after the product's part: one drain is not a figure on a shared machine.
    if (args.only === undefined || args.only === 'baseline' || args.only === 'product')
      results.rawDrainAfter = await runRawDrain(run, 'again');
    if (args.only === 'eval') results.evaluation = await runEvaluation(run);
    // After the product's memory figures: the raid's worker writes under a prefix of its own.
    if (args.only === undefined || args.only === 'raid') Object.assign(results, await runRaid(run));
    if (args.only === undefined || args.only === 'lists') results.listChanges = await runListChanges(run);
    if (results.rawDrain) {
      const raw = rawYardstick({ rawDrain: results.rawDrain, rawDrainAfter: results.rawDrainAfter }).mean;
      for (const line of [results.saturation, results.single, results.httpIngest])
        if (line) line.ratioToRaw = round(line.eventsPerSec / raw, 3);
    }

    const complete = isComplete(results);
    // A raid of its own is judged on the raid's story (against the raw drain's CPU per job measured first).
    const checks = complete
      ? checkTargets(results)
      : results.raid
        ? raidStoryChecks({
            ...results,
            raid: results.raid,
            rawCpuUsPerJob: results.rawDrain ? rawCpuUsPerJob(results.rawDrain) : undefined,
          })
        : [];
    const judged = complete && !args.quick;
    process.stdout.write(`\n${renderTable(results, checks, { judged })}\n\n`);
    const file = join(args.out, `bench-${stamp}.json`);
    const machine = {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? 'unknown',
      memoryGb: round(totalmem() / 2 ** 30, 1),
      os: `${process.platform} ${release()}`,
    };
    await writeFile(
      file,
      `${JSON.stringify({ startedAt: startedAt.toISOString(), mode: args.quick ? 'quick' : 'full', only: args.only ?? 'all', sizes, machine, versions, workerEnv: redactEnv(env), results, targets: checks }, null, 2)}\n`,
    );
    const verdict = !complete
      ? 'Partial run: targets not judged.'
      : !judged
        ? 'Quick run: sizes too small to judge the targets.'
        : checks.every((c) => c.pass)
          ? 'All targets met.'
          : 'Some targets missed.';
    process.stdout.write(`${verdict} Results: ${file}\n`);
    return judged && !checks.every((c) => c.pass) ? 1 : 0;
  } finally {
    await run.queues.close().catch(() => undefined);
    if (!args.keep) await deleteKeys(monitor, `${config.keyPrefix}*`).catch(() => undefined);
    await simulator.close();
    await rm(rulesDir, { recursive: true, force: true });
    httpAgent.destroy();
    producer.disconnect();
    monitor.disconnect();
  }
}

function isComplete(r: Partial<BenchResults>): r is BenchResults {
  return (
    r.rawDrain !== undefined &&
    r.rawTwoHop !== undefined &&
    r.saturation !== undefined &&
    r.single !== undefined &&
    r.httpIngest !== undefined &&
    r.latency !== undefined &&
    r.httpLatency !== undefined &&
    r.raid !== undefined &&
    r.memory !== undefined &&
    r.evaluation !== undefined &&
    r.processor !== undefined
  );
}

/** Raw BullMQ on the same Redis, in a child process: the yardstick for the product's figures. */
async function runBaseline(run: Run): Promise<Pick<BenchResults, 'rawDrain' | 'rawTwoHop'>> {
  const { sizes, say, config } = run;
  const ctx = {
    config,
    env: run.env,
    redis: run.producer,
    monitor: run.monitor,
    workerScript: join(ROOT, 'dist', 'bench', 'raw-worker.js'),
  };
  const rawDrain = await runRawDrain(run, 'first');
  say(`raw BullMQ: two hops at ${sizes.twoHopRate}/s for ${sizes.twoHopMs / 1000} s (after ${sizes.warmUpMs / 1000} s of warm-up)`);
  const payload = createPacedEvents();
  const rawTwoHop = await measureRawTwoHop(ctx, {
    ratePerSec: sizes.twoHopRate,
    durationMs: sizes.twoHopMs,
    warmUpMs: sizes.warmUpMs,
    payload: (i) => payload(i, Date.now()).event,
  });
  say(`  p50 ${rawTwoHop.latencyMs.p50} ms, p99 ${rawTwoHop.latencyMs.p99} ms`);
  await deleteKeys(run.monitor, `${config.keyPrefix}:raw-*`);
  return { rawDrain, rawTwoHop };
}

async function runRawDrain(run: Run, which: 'first' | 'again'): Promise<BenchResults['rawDrain']> {
  const { sizes, say, config } = run;
  const ctx = {
    config,
    env: run.env,
    redis: run.producer,
    monitor: run.monitor,
    workerScript: join(ROOT, 'dist', 'bench', 'raw-worker.js'),
  };
  say(`raw BullMQ: no-op drain of ${sizes.drainJobs} jobs${which === 'again' ? ' (again)' : ''}`);
  const rawDrain = await measureRawDrain(ctx, saturationEvents(sizes.drainJobs, Date.now()).events);
  say(
    `  ${rawDrain.jobsPerSec} jobs/s; CPU: worker ${rawDrain.workerCpuPct} % (${rawDrain.cpuUsPerJob} us/job), Redis ${rawDrain.redisCpuPct} % (${rawDrain.redisCpuUsPerJob} us/job)`,
  );
  return rawDrain;
}

/**
 * The product in a worker process serving HTTP too (as `automod start` runs by default):
 * saturation (batched, single-event, HTTP ingest), paced latency (single-event jobs, HTTP), memory;
 * evaluation while it settles.
 */
async function runProduct(
  run: Run,
): Promise<Pick<BenchResults, 'saturation' | 'single' | 'httpIngest' | 'latency' | 'httpLatency' | 'memory' | 'evaluation' | 'processor'>> {
  const { sizes, say, simulator, config, keys, monitor, queues } = run;
  const satViolators = saturationEvents(sizes.saturationEvents, 0).offenders;
  const latViolators = Math.round(((sizes.latencyRate * sizes.latencyMs) / 1000) * 0.02);
  const everyViolator = [
    ...violators('sat', satViolators),
    ...violators('one', satViolators),
    ...violators('post', satViolators),
    ...violators('lat', latViolators),
    ...violators('http', latViolators),
  ];
  // Each phase has sessions of its own (`workload.ts`); only the violators are ever removed.
  const sessions = new Map<string, { meetingId: string; participants: { participantId: string }[] }>();
  for (const v of everyViolator) {
    const session = sessions.get(v.sessionId) ?? { meetingId: v.meetingId, participants: [] };
    session.participants.push({ participantId: v.participantId });
    sessions.set(v.sessionId, session);
  }
  for (const [id, session] of sessions) simulator.addSession({ id, ...session });

  const httpPort = await freePort();
  const httpBase = `http://127.0.0.1:${httpPort}`;
  say(`starting the worker (node dist/cli.js start, HTTP at ${httpBase}), log in ${run.logFile}`);
  const worker = await startWorkerProcess({
    httpPort,
    cliPath: join(ROOT, 'dist', 'cli.js'),
    env: run.env,
    logFile: run.logFile,
    queues: [queues.events, queues.removals],
    nodeArgs: [
      ...(run.args.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(run.args.out, 'profiles')}`] : []),
      // Extra V8/Node flags for the worker only (e.g. --trace-gc), space-separated.
      ...(process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    ],
  });
  let sampler: NodeJS.Timeout | undefined;
  try {
    await sleep(500);
    const memory = { rss: { start: 0, peak: 0, end: 0 }, redis: { start: 0, peak: 0, end: 0 } };
    memory.rss.start = worker.rss()?.rssMb ?? Number.NaN;
    memory.redis.start = (await usedMemory(monitor)) / 2 ** 20;
    memory.redis.peak = memory.redis.start;
    sampler = setInterval(() => {
      const rss = worker.rss();
      if (rss) memory.rss.peak = Math.max(memory.rss.peak, rss.rssMb, rss.peakMb);
      void usedMemory(monitor).then(
        (bytes) => (memory.redis.peak = Math.max(memory.redis.peak, bytes / 2 ** 20)),
        () => undefined,
      );
    }, 200);

    // ---- batched saturation -------------------------------------------------------------------
    const sat = saturationEvents(sizes.saturationEvents, Date.now());
    say(
      `batched saturation: ${sat.events.length} events (${sat.violations} violations by ${sat.offenders} offenders) queued up front in batch jobs of ${BATCH}`,
    );
    // Packed by the ingest's producer, as `automod events add` and `POST /v1/events` with an array queue them.
    const batchProducer = createEventProducer({
      redis: run.producer,
      keys,
      queues: queues.eventPartitions,
      batchMax: BATCH,
      lingerMs: config.ingestLingerMs,
      dedupSeconds: config.dedupSeconds,
    });
    const ingest = createIngest({ producer: batchProducer });
    const eventLog = createEventLog({ redis: monitor, keys, retentionHours: config.eventLogHours });
    await queues.events.pause();
    const ingestStart = wallClockMs();
    for (let i = 0; i < sat.events.length; i += 1000) await ingest.ingest(sat.events.slice(i, i + 1000));
    const ingestMs = wallClockMs() - ingestStart;
    const satRun = await drainPaused(run, worker, sat.events.length);
    const redisPerEvent = satRun.redisPerEvent;
    // Log entries go out up to a few milliseconds after their jobs complete.
    let logged = sat.events.length;
    if (config.eventLogHours > 0) {
      const until = wallClockMs() + 2000;
      for (;;) {
        logged = await countLogged(eventLog, satRun.start);
        if (logged >= sat.events.length || wallClockMs() > until) break;
        await sleep(50);
      }
    }
    const satCalls = await worker.whileRunning(waitForRemoveCalls(() => simulator.calls(), 'vs-', sat.offenders, 60_000));
    await worker.whileRunning(waitForDrain(queues.removals, { timeoutMs: 60_000 }));
    say(
      `  ${satRun.eventsPerSec} events/s, ${satCalls.length} remove calls; CPU: worker ${satRun.cpu.processPct} % (${satRun.cpuUsPerEvent} us/event), Redis ${satRun.cpu.redisPct} % (${satRun.redisCpuUsPerEvent} us/event)`,
    );

    // ---- single-event saturation ----------------------------------------------------------------
    const one = saturationEvents(sizes.saturationEvents, Date.now(), 'one');
    say(`single-event saturation: ${one.events.length} events queued up front as one job each (the direct-producer contract)`);
    await queues.events.pause();
    for (let i = 0; i < one.events.length; i += 1000) {
      await queues.events.addBulk(one.events.slice(i, i + 1000).map((event) => ({ name: event.type, data: event })));
    }
    const oneRun = await drainPaused(run, worker, one.events.length);
    const oneCalls = await worker.whileRunning(waitForRemoveCalls(() => simulator.calls(), 'vo-', one.offenders, 60_000));
    await worker.whileRunning(waitForDrain(queues.removals, { timeoutMs: 60_000 }));
    say(
      `  ${oneRun.eventsPerSec} events/s, ${oneCalls.length} remove calls; CPU: worker ${oneRun.cpu.processPct} % (${oneRun.cpuUsPerEvent} us/event), Redis ${oneRun.cpu.redisPct} % (${oneRun.redisCpuUsPerEvent} us/event)`,
    );

    // ---- HTTP ingest ----------------------------------------------------------------------------
    const post = saturationEvents(sizes.saturationEvents, Date.now(), 'post');
    say(
      `HTTP ingest: ${post.events.length} events as POST /v1/events of ${BATCH} from ${HTTP_CLIENTS} concurrent clients (events queue paused: the ingest alone)`,
    );
    await queues.events.pause();
    const postCpu = await cpuMeter(monitor, worker.pid);
    const posted = await worker.whileRunning(postConcurrently(`${httpBase}/v1/events`, post.events, BATCH, HTTP_CLIENTS));
    const postUse = await postCpu.stop();
    const postRun = await drainPaused(run, worker, post.events.length);
    const postCalls = await worker.whileRunning(waitForRemoveCalls(() => simulator.calls(), 'vp-', post.offenders, 60_000));
    await worker.whileRunning(waitForDrain(queues.removals, { timeoutMs: 60_000 }));
    const postEventsPerSec = Math.round((posted.accepted / posted.durationMs) * 1000);
    say(
      `  ${postEventsPerSec} events/s accepted (${posted.accepted}/${post.events.length}), worker ${postUse.processPct} % CPU (${perEventUs(postUse.processSeconds, posted.accepted)} us/event); then drained at ${postRun.eventsPerSec} events/s, ${postCalls.length} remove calls`,
    );

    // ---- paced latency, single-event jobs -------------------------------------------------------
    say(
      `paced single-event jobs: ${sizes.latencyRate} events/s for ${sizes.latencyMs / 1000} s, 2 % violations (after ${sizes.warmUpMs / 1000} s of benign warm-up)`,
    );
    const paced = createPacedEvents();
    const warmUp = createPacedEvents({ participantPrefix: 'w', idPrefix: 'warm', violations: false });
    await runPaced({
      ratePerSec: sizes.latencyRate,
      durationMs: sizes.warmUpMs,
      send: async (i) => {
        const { event } = warmUp(i, Date.now());
        await queues.events.add(event.type, event);
      },
    });
    const enqueuedAt = new Map<string, number>();
    const latCpu = await cpuMeter(monitor, worker.pid);
    const sent = await runPaced({
      ratePerSec: sizes.latencyRate,
      durationMs: sizes.latencyMs,
      send: async (i) => {
        const t = wallClockMs();
        const { event, violator } = paced(i, Math.floor(t));
        event.data.enqueuedAt = t;
        if (violator) enqueuedAt.set(violator, t);
        await queues.events.add(event.type, event);
      },
    });
    const latUse = await latCpu.stop();
    const latency = await pacedLatencies(run, worker, 'vl-', enqueuedAt);
    say(
      `  p50 ${latency.p50} ms, p99 ${latency.p99} ms, max ${latency.max} ms over ${latency.count} removals; worker ${latUse.processPct} % CPU (${perEventUs(latUse.processSeconds, sent.sent)} us/event)`,
    );

    // ---- paced latency, HTTP (one event per request, micro-batched by the ingest) ---------------
    say(
      `paced HTTP: ${sizes.latencyRate} events/s for ${sizes.latencyMs / 1000} s, one POST /v1/events each (packed by the ingest's ${config.ingestLingerMs} ms linger), 2 % violations`,
    );
    const pacedHttp = createPacedEvents({ participantPrefix: 'h', idPrefix: 'lath', phase: 'http' });
    const postedAt = new Map<string, number>();
    const httpCpu = await cpuMeter(monitor, worker.pid);
    const httpSent = await runPaced({
      ratePerSec: sizes.latencyRate,
      durationMs: sizes.latencyMs,
      send: async (i) => {
        const t = wallClockMs();
        const { event, violator } = pacedHttp(i, Math.floor(t));
        if (violator) postedAt.set(violator, t);
        await postEvents(`${httpBase}/v1/events`, JSON.stringify([event]));
      },
    });
    const httpUse = await httpCpu.stop();
    const httpLatency = await pacedLatencies(run, worker, 'vh-', postedAt);
    say(
      `  p50 ${httpLatency.p50} ms, p99 ${httpLatency.p99} ms, max ${httpLatency.max} ms over ${httpLatency.count} removals; worker ${httpUse.processPct} % CPU (${perEventUs(httpUse.processSeconds, httpSent.sent)} us/event)`,
    );

    // ---- memory settles; the evaluation micro-benchmark runs meanwhile ---------------------
    const settleStart = wallClockMs();
    const evaluation = await runEvaluation(run);
    say(`waiting up to ${sizes.settleMaxMs / 1000} s for Redis memory to come back within 10 % of ${memory.redis.start.toFixed(2)} MB`);
    for (;;) {
      memory.redis.end = (await usedMemory(monitor)) / 2 ** 20;
      if (memory.redis.end <= memory.redis.start * 1.1 || wallClockMs() - settleStart >= sizes.settleMaxMs) break;
      await sleep(1000);
    }
    const settleSeconds = Math.round((wallClockMs() - settleStart) / 1000);
    clearInterval(sampler);
    memory.rss.end = worker.rss()?.rssMb ?? Number.NaN;
    const finalRss = worker.rss();
    if (finalRss) memory.rss.peak = Math.max(memory.rss.peak, finalRss.peakMb);
    const leftover = await prefixFootprint(monitor, config.keyPrefix);
    say(
      `  ${memory.redis.end.toFixed(2)} MB after ${settleSeconds} s; the run's own keys: ${leftover.keys} (${(leftover.bytes / 1024).toFixed(0)} KB)`,
    );
    // After the memory figures: it writes to Redis (under a prefix of its own, deleted here).
    const processor = await runProcessorAlone(run);

    const latencyResult = (r: typeof sent, violations: number, l: LatencySummary, use: CpuUse) => ({
      ratePerSec: sizes.latencyRate,
      sent: r.sent,
      violations,
      removeCalls: l.count,
      maxSendLagMs: round(r.maxLagMs),
      latencyMs: l,
      workerCpuPct: use.processPct,
      cpuUsPerEvent: perEventUs(use.processSeconds, r.sent),
    });
    return {
      saturation: {
        events: sat.events.length,
        batchSize: BATCH,
        durationMs: round(satRun.durationMs),
        eventsPerSec: satRun.eventsPerSec,
        ratioToRaw: 0,
        failed: satRun.failed,
        logged,
        violations: sat.violations,
        offenders: sat.offenders,
        removeCalls: satCalls.length,
        removalsDoneMs: round(Math.max(0, ...satCalls.map((c) => c.at)) - satRun.start),
        ingestEventsPerSec: Math.round((sat.events.length / ingestMs) * 1000),
        workerCpuPct: satRun.cpu.processPct,
        redisCpuPct: satRun.cpu.redisPct,
        redisCpuUsPerEvent: satRun.redisCpuUsPerEvent,
        cpuUsPerEvent: satRun.cpuUsPerEvent,
        redisCommandsPerEvent: redisPerEvent,
      },
      single: {
        events: one.events.length,
        durationMs: round(oneRun.durationMs),
        eventsPerSec: oneRun.eventsPerSec,
        ratioToRaw: 0,
        failed: oneRun.failed,
        offenders: one.offenders,
        removeCalls: oneCalls.length,
        workerCpuPct: oneRun.cpu.processPct,
        redisCpuPct: oneRun.cpu.redisPct,
        redisCpuUsPerEvent: oneRun.redisCpuUsPerEvent,
        cpuUsPerEvent: oneRun.cpuUsPerEvent,
        redisCommandsPerEvent: oneRun.redisPerEvent,
      },
      httpIngest: {
        events: post.events.length,
        batchSize: BATCH,
        clients: HTTP_CLIENTS,
        accepted: posted.accepted,
        rejected: posted.rejected,
        durationMs: round(posted.durationMs),
        eventsPerSec: postEventsPerSec,
        ratioToRaw: 0,
        workerCpuPct: postUse.processPct,
        cpuUsPerEvent: perEventUs(postUse.processSeconds, posted.accepted),
        drainEventsPerSec: postRun.eventsPerSec,
        failed: postRun.failed,
        offenders: post.offenders,
        removeCalls: postCalls.length,
      },
      latency: latencyResult(sent, enqueuedAt.size, latency, latUse),
      httpLatency: latencyResult(httpSent, postedAt.size, httpLatency, httpUse),
      memory: {
        workerRssMb: { start: round(memory.rss.start, 1), peak: round(memory.rss.peak, 1), end: round(memory.rss.end, 1) },
        redisUsedMb: { start: round(memory.redis.start, 3), peak: round(memory.redis.peak, 3), end: round(memory.redis.end, 3) },
        settleSeconds,
        leftover,
      },
      evaluation,
      processor,
    };
  } finally {
    if (sampler) clearInterval(sampler);
    const code = await worker.stop();
    if (code !== 0) say(`warning: the worker exited with code ${code}`);
  }
}

async function runEvaluation(run: Run): Promise<BenchResults['evaluation']> {
  run.say('rule evaluation micro-benchmark (in this process)');
  const evaluation = await measureEvaluation(
    run.rulesDir,
    saturationEvents(run.sizes.evalEvents, Date.now()).events,
    createLogger({ logLevel: 'warn' }),
  );
  run.say(`  ${evaluation.eventsPerSec} events/s one at a time, ${evaluation.concurrentEventsPerSec} with 50 at once`);
  return evaluation;
}

/** The events processor without BullMQ, in this process, under a prefix of its own. */
async function runProcessorAlone(run: Run): Promise<BenchResults['processor']> {
  const config = parseConfig({ ...run.env, AUTOMOD_PREFIX: `${run.prefix}-proc` });
  run.say(
    `events processor alone (in this process, no BullMQ): ${run.sizes.processorEvents} events per round, in batch jobs of ${BATCH} and one job each`,
  );
  try {
    const result = await measureProcessor(
      config,
      saturationEvents(run.sizes.processorEvents, Date.now()).events,
      createLogger({ logLevel: 'warn' }),
      { batch: BATCH, monitor: run.monitor },
    );
    for (const [label, r] of [
      ['batch jobs', result.batched],
      ['single-event jobs', result.single],
    ] as const)
      run.say(
        `  ${label} (${r.concurrency} at once): ${r.eventsPerSec} events/s, ${r.cpuUsPerEvent} us CPU per event (Redis ${r.redisCpuUsPerEvent} us)`,
      );
    return result;
  } finally {
    await deleteKeys(run.monitor, `${config.keyPrefix}*`).catch(() => undefined);
  }
}

/**
 * The raid's story, against the simulator in a process of its own answering each remove call after
 * `raidLatencyMs`: the raid (a worker under `<prefix>-raid`, removals capped, the gate asked
 * throughout), distinct violators cleared at the cap, and a raid met by a lockdown that ends the
 * session. Each measure runs a worker under a prefix of its own.
 */
async function runRaid(run: Run): Promise<Pick<BenchResults, 'raid' | 'violators' | 'endSessionRaid'>> {
  const { sizes } = run;
  const cliPath = join(ROOT, 'dist', 'cli.js');
  const simulator = await startSimulatorProcess({
    cliPath,
    secret: run.env.VIDEOSDK_SECRET ?? '',
    apiKey: run.env.VIDEOSDK_API_KEY ?? 'bench-key',
    logFile: run.logFile,
  });
  try {
    const env = { ...run.env, VIDEOSDK_API_BASE: simulator.url };
    const raidEnv = { ...env, AUTOMOD_PREFIX: `${run.prefix}-raid`, AUTOMOD_API_RATE_PER_SEC: String(sizes.raidCap) };
    run.say(
      `raid: ${sizes.raidBots} bots join one session and flood its chat, ${sizes.raidEvents} events in ${sizes.raidMs / 1000} s, AUTOMOD_API_RATE_PER_SEC=${sizes.raidCap}, remove calls answered after ${sizes.raidLatencyMs} ms (simulator in its own process), the gate asked ${sizes.gateChecksPerSec} times a second during it and ${sizes.gateLoadPerSec} after`,
    );
    const raid = await measureRaid(
      {
        config: parseConfig(raidEnv),
        env: raidEnv,
        producer: run.producer,
        monitor: run.monitor,
        simulator,
        cliPath,
        logFile: run.logFile,
        say: run.say,
      },
      {
        bots: sizes.raidBots,
        events: sizes.raidEvents,
        durationMs: sizes.raidMs,
        capPerSec: sizes.raidCap,
        latencyMs: sizes.raidLatencyMs,
        gateChecksPerSec: sizes.gateChecksPerSec,
        gateLoadPerSec: sizes.gateLoadPerSec,
      },
    );
    run.say(
      `  ${raid.removedOnce}/${raid.bots} bots removed once (${raid.notRemoved} not, ${raid.removedTwiceOrMore} more than once; ${raid.callsFindingBotGone} calls found a bot already gone), staff calls ${raid.staffCalls}, at most ${raid.maxPerSecondSliding} calls in any 1 s, ${raid.removalsPerSec} removals/s${raid.drained ? '' : ', queues NOT drained'}; last event -> last removal ${(raid.lastEventToLastRemovalMs / 1000).toFixed(1)} s (floor ${(raid.floorMs / 1000).toFixed(1)} s); worker ${raid.workerCpuUsPerEvent} us CPU/event; gate refusing ${raid.waveToGateMs ?? '?'} ms after the wave (p99 ${raid.gate.latency.p99} ms during the raid), p50 ${raid.gateLoad.latency.p50} ms p99 ${raid.gateLoad.latency.p99} ms at ${sizes.gateLoadPerSec}/s after`,
    );
    await simulator.reset();
    const story = {
      env,
      prefix: run.prefix,
      producer: run.producer,
      monitor: run.monitor,
      simulator,
      cliPath,
      logFile: run.logFile,
      say: run.say,
    };
    run.say(`violators: ${sizes.violators} distinct violators queued at once, cap ${sizes.raidCap}/s, ${sizes.raidLatencyMs} ms API`);
    const violators = await measureViolators(story, { count: sizes.violators, capPerSec: sizes.raidCap, latencyMs: sizes.raidLatencyMs });
    run.say(
      `  cleared in ${(violators.clearedMs / 1000).toFixed(1)} s (floor ${(violators.floorMs / 1000).toFixed(1)} s), ${violators.removedOnce} removed once, at most ${violators.maxPerSecondSliding} in any 1 s; worker ${violators.workerCpuUsPerRemoval} us CPU/removal, Redis ${violators.redisCpuUsPerRemoval} us`,
    );
    await simulator.reset();
    run.say(
      `end-session raid: ${sizes.endBots} bots join at ${sizes.endJoinsPerSec}/s; the wave's lockdown ends the session; they all come back`,
    );
    const endSessionRaid = await measureEndSessionRaid(story, {
      bots: sizes.endBots,
      capPerSec: sizes.raidCap,
      latencyMs: sizes.raidLatencyMs,
      joinsPerSec: sizes.endJoinsPerSec,
    });
    run.say(
      `  session ended ${endSessionRaid.sessionEndedAfterMs ?? '?'} ms after the lockdown, ${endSessionRaid.removeCallsInEndedSession} remove calls in it; ${endSessionRaid.rejoinedRemoved}/${endSessionRaid.rejoined} rejoining bots removed in ${(endSessionRaid.rejoinsClearedMs / 1000).toFixed(1)} s; ${endSessionRaid.admitted} admitted back, ${endSessionRaid.admittedRemoveCalls} remove calls for them`,
    );
    return { raid, violators, endSessionRaid };
  } finally {
    await simulator.stop();
  }
}

/** "List changes under load": a worker of its own, under a prefix of its own (`<prefix>-lists`). */
async function runListChanges(run: Run): Promise<NonNullable<BenchResults['listChanges']>> {
  const { sizes } = run;
  const env = { ...run.env, AUTOMOD_PREFIX: `${run.prefix}-lists` };
  run.say(
    `list changes under load: a ${sizes.listValues}-value live list, ${sizes.listChanges} changes while ${sizes.listRate} events/s flow for ${sizes.listMs / 1000} s`,
  );
  return measureListChanges(
    {
      config: parseConfig(env),
      env,
      producer: run.producer,
      monitor: run.monitor,
      cliPath: join(ROOT, 'dist', 'cli.js'),
      logFile: run.logFile,
      say: run.say,
    },
    { values: sizes.listValues, changes: sizes.listChanges, valuesPerChange: 100, ratePerSec: sizes.listRate, durationMs: sizes.listMs },
  );
}

/** Events per batch job in the batched saturation and per POST in the HTTP ingest. */
const BATCH = 100;
const HTTP_CLIENTS = 4;

/** A drain of the (paused, filled) events queue: resumed and timed until the last job finished. */
async function drainPaused(run: Run, worker: WorkerProcess, events: number) {
  const cpu = await cpuMeter(run.monitor, worker.pid);
  const statsBefore = await commandStats(run.monitor);
  const start = wallClockMs();
  await run.queues.events.resume();
  const drained = await worker.whileRunning(waitForDrain(run.queues.events, { timeoutMs: 300_000 }));
  const durationMs = drained.finishedAt - start;
  const use = await cpu.stop();
  return {
    start,
    durationMs,
    eventsPerSec: Math.round((events / durationMs) * 1000),
    failed: drained.failed,
    cpu: use,
    cpuUsPerEvent: perEventUs(use.processSeconds, events),
    redisCpuUsPerEvent: perEventUs(use.redisSeconds, events),
    redisPerEvent: commandsPer(statsBefore, await commandStats(run.monitor), events),
  };
}

/** Waits for the paced phase's remove calls and the queues' drain; the event -> remove call latencies. */
async function pacedLatencies(
  run: Run,
  worker: WorkerProcess,
  participantPrefix: string,
  sentAt: Map<string, number>,
): Promise<LatencySummary> {
  const calls = await worker.whileRunning(waitForRemoveCalls(() => run.simulator.calls(), participantPrefix, sentAt.size, 30_000));
  await worker.whileRunning(waitForDrain(run.queues.events, { timeoutMs: 60_000 }));
  await worker.whileRunning(waitForDrain(run.queues.removals, { timeoutMs: 60_000 }));
  return summarize(
    calls.flatMap((c) => {
      const t = sentAt.get(`${c.sessionId}/${c.participantId}`);
      return t === undefined ? [] : [c.at - t];
    }),
  );
}

function perEventUs(cpuSeconds: number, events: number): number {
  return events > 0 ? Math.round((cpuSeconds / events) * 1e6) : Number.NaN;
}

/**
 * The driver's HTTP client: node:http with kept-alive sockets. Not `fetch`: on this machine it cost
 * about 700 µs of CPU per request and queued requests by seconds at 1,000/s, so the paced HTTP
 * line measured the driver, not the worker (node:http: about 260 µs, sub-millisecond p50).
 */
const httpAgent = new Agent({ keepAlive: true, maxSockets: 64 });

/** One `POST /v1/events` of `body` (a JSON array); throws unless it answers 202. */
function postEvents(url: string, body: string): Promise<{ accepted: number }> {
  return new Promise((resolvePost, reject) => {
    const request = httpRequest(
      url,
      { method: 'POST', agent: httpAgent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let answer: { accepted?: number; error?: string } = {};
          try {
            answer = JSON.parse(text) as typeof answer;
          } catch {
            // Reported below with the status.
          }
          if (response.statusCode !== 202)
            reject(new Error(`POST /v1/events answered ${response.statusCode}: ${answer.error ?? text.slice(0, 200)}`));
          else resolvePost({ accepted: answer.accepted ?? 0 });
        });
        response.on('error', reject);
      },
    );
    request.on('error', reject);
    request.end(body);
  });
}

/**
 * `events` in POSTs of `batch`, from `clients` concurrent clients each sending its next POST once
 * the last one was answered. The bodies are serialized before the clock starts: the clients' own
 * work is not the ingest's.
 */
async function postConcurrently(
  url: string,
  events: readonly MeetingEvent[],
  batch: number,
  clients: number,
): Promise<{ accepted: number; rejected: number; durationMs: number }> {
  const bodies: string[] = [];
  for (let i = 0; i < events.length; i += batch) bodies.push(JSON.stringify(events.slice(i, i + batch)));
  let next = 0;
  let accepted = 0;
  const start = wallClockMs();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      while (next < bodies.length) {
        const answer = await postEvents(url, bodies[next++]!);
        accepted += answer.accepted;
      }
    }),
  );
  return { accepted, rejected: events.length - accepted, durationMs: wallClockMs() - start };
}

/** Entries in the processed-event log logged since `since` (ms). */
async function countLogged(eventLog: EventLog, since: number): Promise<number> {
  let n = 0;
  for await (const _ of eventLog.read({ since })) n += 1;
  return n;
}

/** Remove calls for participants whose id starts with `participantPrefix`, once `expected` of them arrived. */
async function waitForRemoveCalls(
  calls: () => SimCall[],
  participantPrefix: string,
  expected: number,
  timeoutMs: number,
): Promise<SimCall[]> {
  const deadline = wallClockMs() + timeoutMs;
  for (;;) {
    const found = firstCallPerParticipant(
      calls().filter((c) => c.operation === 'remove' && c.participantId?.startsWith(participantPrefix)),
    );
    if (found.length >= expected || wallClockMs() > deadline) return found;
    await sleep(100);
  }
}

function firstCallPerParticipant(calls: readonly SimCall[]): SimCall[] {
  const first = new Map<string, SimCall>();
  for (const c of calls) {
    const key = `${c.sessionId}/${c.participantId}`;
    if (!first.has(key)) first.set(key, c);
  }
  return [...first.values()];
}

async function collectVersions(redis: Redis): Promise<Record<string, string>> {
  const pkg = async (name: string) => {
    try {
      return (JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version;
    } catch {
      return 'unknown';
    }
  };
  const own = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  return {
    node: process.version,
    redis: await redisVersion(redis),
    automod: own.version,
    bullmq: await pkg('bullmq'),
    ioredis: await pkg('ioredis'),
    'json-rules-engine': await pkg('json-rules-engine'),
    fastify: await pkg('fastify'),
    got: await pkg('got'),
    pino: await pkg('pino'),
  };
}

function redactEnv(env: Env): Env {
  return Object.fromEntries(Object.entries(env).filter(([k]) => k !== 'VIDEOSDK_SECRET' && k !== 'PATH' && k !== 'HOME'));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
