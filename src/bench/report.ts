import { table } from '../cli/format.js';
import type { EvalMicroResult } from './eval-micro.js';
import type { ListChangesResult } from './list-changes.js';
import type { ProcessorMicroResult } from './processor-micro.js';
import type { RaidResult } from './raid.js';
import { raidStoryChecks } from './raid-report.js';
import type { EndSessionRaidResult, ViolatorsResult } from './raid-story.js';
import type { RawDrainResult, RawTwoHopResult } from './raw-baseline.js';
import { round, type LatencySummary } from './stats.js';

/** Everything one run measured. */
export interface BenchResults {
  rawDrain: RawDrainResult;
  /** The same raw drain again after the product's part: the run's spread of the yardstick. */
  rawDrainAfter?: RawDrainResult;
  rawTwoHop: RawTwoHopResult;
  /** Batch jobs of `batchSize` events queued up front, then drained. */
  saturation: {
    events: number;
    batchSize: number;
    durationMs: number;
    eventsPerSec: number;
    ratioToRaw: number;
    failed: number;
    /** Entries added to the processed-event log (all events must be logged). */
    logged: number;
    violations: number;
    /** Participants behind the violations (each removed once; repeats collapse). */
    offenders: number;
    /** Participants the simulator saw a remove call for. */
    removeCalls: number;
    /** Time from the resume to the last remove call at the simulator. */
    removalsDoneMs: number;
    ingestEventsPerSec: number;
    /** CPU during the drain, as a share of one core. */
    workerCpuPct: number;
    redisCpuPct: number;
    /** Worker CPU (µs) per event. */
    cpuUsPerEvent: number;
    /** Redis server CPU (µs) per event (INFO cpu, every client's commands: BullMQ's too). */
    redisCpuUsPerEvent: number;
    /** Redis commands per event during the drain (all clients: the worker's, BullMQ's, the bench's polling). */
    redisCommandsPerEvent: Record<string, { calls: number; usec: number }>;
  };
  /** One job per event (the direct-producer contract) queued up front, then drained. */
  single: {
    events: number;
    durationMs: number;
    eventsPerSec: number;
    ratioToRaw: number;
    failed: number;
    offenders: number;
    removeCalls: number;
    workerCpuPct: number;
    redisCpuPct: number;
    cpuUsPerEvent: number;
    redisCpuUsPerEvent: number;
    redisCommandsPerEvent: Record<string, { calls: number; usec: number }>;
  };
  /** `POST /v1/events` of `batchSize` events from `clients` concurrent clients, events queue paused. */
  httpIngest: {
    events: number;
    batchSize: number;
    clients: number;
    accepted: number;
    rejected: number;
    durationMs: number;
    /** Accepted events per second, first POST sent to last answered. */
    eventsPerSec: number;
    ratioToRaw: number;
    workerCpuPct: number;
    cpuUsPerEvent: number;
    /** The same events drained afterwards (not judged). */
    drainEventsPerSec: number;
    failed: number;
    offenders: number;
    removeCalls: number;
  };
  /** Paced single-event jobs. */
  latency: PacedResult;
  /** Paced `POST /v1/events`, one event each. */
  httpLatency: PacedResult;
  raid: RaidResult;
  violators?: ViolatorsResult;
  endSessionRaid?: EndSessionRaidResult;
  memory: {
    workerRssMb: { start: number; peak: number; end: number };
    redisUsedMb: { start: number; peak: number; end: number };
    /** Seconds waited after the last event for retention to bring Redis back down. */
    settleSeconds: number;
    /** The run's own keys at the end, by kind (before the bench deleted its prefix). */
    leftover: { keys: number; bytes: number; byKind: Record<string, { keys: number; bytes: number }> };
  };
  evaluation: EvalMicroResult;
  /** The events processor without BullMQ (not judged: it splits the worker's CPU per event). */
  processor: ProcessorMicroResult;
  /** "List changes under load" (not judged; absent with --only of another part). */
  listChanges?: ListChangesResult;
}

export interface PacedResult {
  ratePerSec: number;
  sent: number;
  violations: number;
  removeCalls: number;
  /** Producer lag behind its schedule (the paced producer itself falling behind). */
  maxSendLagMs: number;
  latencyMs: LatencySummary;
  workerCpuPct: number;
  cpuUsPerEvent: number;
}

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  pass: boolean;
}

/** The raw drain's jobs/s this run: the mean of its measurements, and their lowest and highest. */
export function rawYardstick(r: Pick<BenchResults, 'rawDrain' | 'rawDrainAfter'>): { mean: number; low: number; high: number } {
  const all = [r.rawDrain.jobsPerSec, ...(r.rawDrainAfter ? [r.rawDrainAfter.jobsPerSec] : [])];
  return { mean: all.reduce((a, b) => a + b, 0) / all.length, low: Math.min(...all), high: Math.max(...all) };
}

/** Raw BullMQ's worker CPU per no-op job (µs) in a drain. */
export function rawCpuUsPerJob(drain: Pick<BenchResults['rawDrain'], 'workerCpuPct' | 'jobsPerSec'>): number {
  return (drain.workerCpuPct / 100 / drain.jobsPerSec) * 1e6;
}

/** `2.31 x raw (2.10-2.55)`: against the mean raw drain, and against its highest and lowest measurement. */
function ratioText(eventsPerSec: number, raw: { mean: number; low: number; high: number }): string {
  const spread = raw.low === raw.high ? '' : ` (${(eventsPerSec / raw.high).toFixed(2)}-${(eventsPerSec / raw.low).toFixed(2)})`;
  return `${(eventsPerSec / raw.mean).toFixed(2)} x raw${spread}`;
}

/** The targets (issue 13), judged against one run's figures. */
export function checkTargets(r: BenchResults): TargetCheck[] {
  const raw = rawYardstick(r);
  const latencyLimit = r.rawTwoHop.latencyMs.p99 + 5;
  const redisLimit = r.memory.redisUsedMb.start * 1.1;
  const rssPeak = Math.max(r.memory.workerRssMb.peak, r.raid.workerRssPeakMb);
  const paced = (name: string, p: PacedResult): TargetCheck => ({
    name,
    target: `<= ${fmtMs(r.rawTwoHop.latencyMs.p99)} + 5 = ${fmtMs(latencyLimit)}`,
    measured: `${fmtMs(p.latencyMs.p99)} (${p.removeCalls}/${p.violations} removals)`,
    pass: p.latencyMs.p99 <= latencyLimit && p.removeCalls === p.violations,
  });
  return [
    {
      name: 'batched saturation vs raw drain',
      target: '>= 2.00 x raw',
      measured: ratioText(r.saturation.eventsPerSec, raw),
      pass:
        r.saturation.eventsPerSec >= 2 * raw.mean &&
        r.saturation.failed === 0 &&
        r.saturation.logged === r.saturation.events &&
        r.saturation.removeCalls === r.saturation.offenders,
    },
    {
      name: 'single-event jobs vs raw drain',
      target: '>= 0.50 x raw',
      measured: ratioText(r.single.eventsPerSec, raw),
      pass: r.single.eventsPerSec >= 0.5 * raw.mean && r.single.failed === 0 && r.single.removeCalls === r.single.offenders,
    },
    {
      name: 'HTTP ingest vs raw drain',
      target: '>= 1.00 x raw',
      measured: ratioText(r.httpIngest.eventsPerSec, raw),
      pass:
        r.httpIngest.eventsPerSec >= raw.mean &&
        r.httpIngest.rejected === 0 &&
        r.httpIngest.failed === 0 &&
        r.httpIngest.removeCalls === r.httpIngest.offenders,
    },
    paced('paced p99, single-event jobs', r.latency),
    paced('paced p99, HTTP', r.httpLatency),
    {
      name: 'raid: every bot removed once, staff untouched',
      target: `${fmtInt(r.raid.bots)} once, 0 staff`,
      measured: `${fmtInt(r.raid.removedOnce)} once, ${r.raid.notRemoved} never, ${r.raid.removedTwiceOrMore} twice+, ${r.raid.staffCalls} staff; ${fmtInt(r.raid.callsFindingBotGone)} calls found a bot gone`,
      pass: r.raid.removedOnce === r.raid.bots && r.raid.staffCalls === 0 && r.raid.failed === 0 && r.raid.drained,
    },
    {
      name: 'raid: API cap held in every second',
      target: `<= ${r.raid.capPerSec} in any 1 s`,
      measured: `${r.raid.maxPerSecondSliding} (calendar second ${r.raid.maxPerCalendarSecond})`,
      pass: r.raid.maxPerSecondSliding <= r.raid.capPerSec,
    },
    {
      name: 'worker RSS (peak)',
      target: '< 200 MB',
      measured: `${rssPeak.toFixed(1)} MB`,
      pass: rssPeak < 200,
    },
    {
      name: 'Redis used_memory back down',
      target: `end <= 1.1 x start = ${redisLimit.toFixed(2)} MB`,
      measured: `${r.memory.redisUsedMb.end.toFixed(2)} MB`,
      pass: r.memory.redisUsedMb.end <= redisLimit,
    },
    {
      name: 'rule evaluation (30 rules, 1 core)',
      target: '>= 50,000 events/s',
      measured: `${fmtInt(r.evaluation.eventsPerSec)} events/s`,
      pass: r.evaluation.eventsPerSec >= 50_000,
    },
    {
      name: 'folded text vs raw (same run)',
      target: '>= 0.50 x raw',
      measured: `${r.evaluation.folding.ratio.toFixed(2)} x (${fmtInt(r.evaluation.folding.foldedEventsPerSec)} vs ${fmtInt(r.evaluation.folding.rawEventsPerSec)} events/s)`,
      pass: r.evaluation.folding.ratio >= 0.5,
    },
    {
      name: 'worst admitted pattern on 64 KB',
      target: `<= ${r.evaluation.worstPattern.budgetMs} ms`,
      measured: `${r.evaluation.worstPattern.costMs} ms`,
      pass: r.evaluation.worstPattern.costMs <= r.evaluation.worstPattern.budgetMs,
    },
    ...raidStoryChecks({ ...r, rawCpuUsPerJob: rawCpuUsPerJob(r.rawDrain) }),
  ];
}

/** Checks of the raid's story (see raid-report.ts), shown as rows of their own. */
const RAID_STORY = /^(raid: last|gate:|violators:|worker CPU per removal|end-session raid:)/;

/** The one table the benchmark prints: every measurement, and the target it is judged by. */
export function renderTable(r: Partial<BenchResults>, checks: readonly TargetCheck[], options: { judged: boolean }): string {
  const mark = (name: string) => {
    const check = checks.find((c) => c.name === name);
    if (!check) return ['', ''];
    return [check.target, options.judged ? (check.pass ? 'PASS' : 'FAIL') : check.pass ? '(pass)' : '(fail)'];
  };
  const lat = (l: LatencySummary) => `p50 ${fmtMs(l.p50)}  p99 ${fmtMs(l.p99)}  max ${fmtMs(l.max)}`;
  const rows: string[][] = [];
  if (r.rawDrain) {
    rows.push([
      'raw BullMQ no-op drain',
      `${fmtInt(r.rawDrain.jobs)} jobs`,
      `${fmtInt(r.rawDrain.jobsPerSec)} jobs/s, worker ${fmtInt(r.rawDrain.cpuUsPerJob)} us CPU/job, Redis ${fmtInt(r.rawDrain.redisCpuUsPerJob)} us/job`,
      'baseline',
      '',
    ]);
  }
  if (r.rawDrainAfter) {
    rows.push([
      'raw BullMQ no-op drain, again after',
      `${fmtInt(r.rawDrainAfter.jobs)} jobs`,
      `${fmtInt(r.rawDrainAfter.jobsPerSec)} jobs/s, worker ${fmtInt(r.rawDrainAfter.cpuUsPerJob)} us CPU/job, Redis ${fmtInt(r.rawDrainAfter.redisCpuUsPerJob)} us/job`,
      'baseline',
      '',
    ]);
  }
  if (r.rawTwoHop) {
    rows.push([
      'raw BullMQ two hops, add -> B done',
      `${fmtInt(r.rawTwoHop.sent)} at ${r.rawTwoHop.ratePerSec}/s`,
      lat(r.rawTwoHop.latencyMs),
      'baseline',
      '',
    ]);
  }
  const ratio = (name: string, x: { ratioToRaw: number }) => {
    const check = checks.find((c) => c.name === name);
    return check ? ` = ${check.measured}` : r.rawDrain ? ` = ${x.ratioToRaw.toFixed(2)} x raw` : '';
  };
  if (r.saturation) {
    rows.push([
      'batched saturation: events drained',
      `${fmtInt(r.saturation.events)} events in jobs of ${r.saturation.batchSize}, 30 rules`,
      `${fmtInt(r.saturation.eventsPerSec)} events/s${ratio('batched saturation vs raw drain', r.saturation)}, worker ${fmtInt(r.saturation.cpuUsPerEvent)} us CPU/event, Redis ${fmtInt(r.saturation.redisCpuUsPerEvent)} us/event`,
      ...mark('batched saturation vs raw drain'),
    ]);
  }
  if (r.single) {
    rows.push([
      'single-event jobs: events drained',
      `${fmtInt(r.single.events)} events, one job each`,
      `${fmtInt(r.single.eventsPerSec)} events/s${ratio('single-event jobs vs raw drain', r.single)}, worker ${fmtInt(r.single.cpuUsPerEvent)} us CPU/event, Redis ${fmtInt(r.single.redisCpuUsPerEvent)} us/event`,
      ...mark('single-event jobs vs raw drain'),
    ]);
  }
  if (r.httpIngest) {
    const h = r.httpIngest;
    rows.push([
      'HTTP ingest: POST /v1/events accepted',
      `${fmtInt(h.events)} in POSTs of ${h.batchSize}, ${h.clients} clients`,
      `${fmtInt(h.eventsPerSec)} events/s${ratio('HTTP ingest vs raw drain', h)}, worker ${fmtInt(h.cpuUsPerEvent)} us CPU/event; drained after at ${fmtInt(h.drainEventsPerSec)}/s`,
      ...mark('HTTP ingest vs raw drain'),
    ]);
  }
  const pacedRow = (label: string, check: string, p: PacedResult) => [
    label,
    `${fmtInt(p.sent)} at ${p.ratePerSec}/s, ${p.removeCalls}/${p.violations} removals`,
    `${lat(p.latencyMs)}, worker ${fmtInt(p.cpuUsPerEvent)} us CPU/event`,
    ...mark(check),
  ];
  if (r.latency) rows.push(pacedRow('paced single-event jobs: enqueue -> remove call', 'paced p99, single-event jobs', r.latency));
  if (r.httpLatency) rows.push(pacedRow('paced HTTP, one event per POST: send -> remove call', 'paced p99, HTTP', r.httpLatency));
  if (r.raid) {
    const raid = r.raid;
    rows.push([
      'raid: bots removed exactly once',
      `${fmtInt(raid.bots)} bots, ${fmtInt(raid.events)} events in ${(raid.durationMs / 1000).toFixed(1)} s, cap ${raid.capPerSec}/s`,
      `${fmtInt(raid.removedOnce)} once, ${raid.staffCalls} staff calls; last event -> last removal ${(raid.lastEventToLastRemovalMs / 1000).toFixed(1)} s; worker ${fmtInt(raid.workerCpuUsPerEvent)} us CPU/event`,
      ...mark('raid: every bot removed once, staff untouched'),
    ]);
    rows.push([
      'raid: remove calls in any 1 s',
      `cap ${raid.capPerSec}/s`,
      `at most ${raid.maxPerSecondSliding} (calendar second ${raid.maxPerCalendarSecond}), ${raid.removalsPerSec}/s first to last, worker RSS peak ${raid.workerRssPeakMb.toFixed(1)} MB`,
      ...mark('raid: API cap held in every second'),
    ]);
    // The raid's story: each of its checks is a row of its own.
    for (const check of checks.filter((c) => RAID_STORY.test(c.name))) rows.push([check.name, '', check.measured, ...mark(check.name)]);
  }
  if (r.memory) {
    const { workerRssMb: rss, redisUsedMb: redis } = r.memory;
    rows.push([
      'worker RSS start / peak / end',
      'the product worker',
      `${rss.start.toFixed(1)} / ${rss.peak.toFixed(1)} / ${rss.end.toFixed(1)} MB`,
      ...mark('worker RSS (peak)'),
    ]);
    rows.push([
      'Redis used_memory start / peak / end',
      `end after ${r.memory.settleSeconds} s settle`,
      `${redis.start.toFixed(2)} / ${redis.peak.toFixed(2)} / ${redis.end.toFixed(2)} MB`,
      ...mark('Redis used_memory back down'),
    ]);
  }
  if (r.evaluation) {
    rows.push([
      'rule evaluation alone',
      `${r.evaluation.rules} rules, 1 core`,
      `${fmtInt(r.evaluation.eventsPerSec)} events/s (${fmtInt(r.evaluation.concurrentEventsPerSec)} with 50 at once)`,
      ...mark('rule evaluation (30 rules, 1 core)'),
    ]);
    const { folding, longText, worstPattern } = r.evaluation;
    rows.push([
      'rule evaluation, folded vs raw text',
      'same rules, every text condition exact',
      `${fmtInt(folding.foldedEventsPerSec)} vs ${fmtInt(folding.rawEventsPerSec)} events/s (${folding.ratio.toFixed(2)} x)`,
      ...mark('folded text vs raw (same run)'),
    ]);
    rows.push([
      'one 64 KB chat text',
      'fold ASCII / mixed, words, evaluate',
      `${longText.foldAsciiMs} / ${longText.foldMixedMs} / ${longText.wordsMs} / ${longText.evaluateMs} ms`,
      'not judged',
      '',
    ]);
    rows.push([
      'worst admitted pattern',
      worstPattern.pattern,
      `${worstPattern.costMs} ms to search 64 KB`,
      ...mark('worst admitted pattern on 64 KB'),
    ]);
  }
  if (r.processor) {
    for (const [label, p] of [
      [`in jobs of ${r.processor.batched.batch}`, r.processor.batched],
      ['one job each', r.processor.single],
    ] as const)
      rows.push([
        'events processor alone (no BullMQ)',
        `${fmtInt(r.processor.events)} events ${label}, real Redis`,
        `${fmtInt(p.eventsPerSec)} events/s, ${fmtInt(p.cpuUsPerEvent)} us CPU/event, Redis ${fmtInt(p.redisCpuUsPerEvent)} us/event`,
        'not judged',
        '',
      ]);
  }
  if (r.listChanges) {
    const l = r.listChanges;
    const size = `${fmtInt(l.listValues)} values, ${l.changes} changes`;
    rows.push([
      'list changes under load',
      `${size}, ${fmtInt(l.events)} at ${l.ratePerSec}/s`,
      `${fmtInt(l.eventsPerSec)} events/s, backlog max ${fmtInt(l.maxBacklog)}`,
      'not judged',
      '',
    ]);
    rows.push([
      'list changes: worker RSS / Redis peak',
      size,
      `${l.workerRssMb.start.toFixed(1)} -> ${l.workerRssMb.peak.toFixed(1)} MB / ${l.redisUsedMb.start.toFixed(2)} -> ${l.redisUsedMb.peak.toFixed(2)} MB`,
      'not judged',
      '',
    ]);
  }
  return table(['measure', 'size', 'measured', 'target', 'result'], rows);
}

export function fmtMs(ms: number): string {
  return `${round(ms, ms < 10 ? 2 : 1)} ms`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
