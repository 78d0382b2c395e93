import { table } from '../cli/format.js';
import type { EvalMicroResult } from './eval-micro.js';
import type { ListChangesResult } from './list-changes.js';
import type { ProcessorMicroResult } from './processor-micro.js';
import type { RawDrainResult, RawTwoHopResult } from './raw-baseline.js';
import { round, type LatencySummary } from './stats.js';

/** Everything one run measured. */
export interface BenchResults {
  rawDrain: RawDrainResult;
  rawTwoHop: RawTwoHopResult;
  saturation: {
    events: number;
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
    /** Redis commands per event during the drain (all clients: the worker's, BullMQ's, the bench's polling). */
    redisCommandsPerEvent: Record<string, { calls: number; usec: number }>;
  };
  latency: {
    ratePerSec: number;
    sent: number;
    violations: number;
    removeCalls: number;
    /** Producer lag behind its schedule (the paced producer itself falling behind). */
    maxSendLagMs: number;
    latencyMs: LatencySummary;
  };
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

export interface TargetCheck {
  name: string;
  target: string;
  measured: string;
  pass: boolean;
}

/** The targets, judged against one run's figures. */
export function checkTargets(r: BenchResults): TargetCheck[] {
  const latencyLimit = 1.5 * r.rawTwoHop.latencyMs.p99 + 5;
  const redisLimit = r.memory.redisUsedMb.start * 1.1;
  return [
    {
      name: 'saturation vs raw drain',
      target: '>= 0.60 x raw',
      measured: `${r.saturation.ratioToRaw.toFixed(2)} x raw`,
      pass: r.saturation.ratioToRaw >= 0.6 && r.saturation.failed === 0 && r.saturation.logged === r.saturation.events,
    },
    {
      name: 'paced p99 event -> remove call',
      target: `<= 1.5 x ${fmtMs(r.rawTwoHop.latencyMs.p99)} + 5 = ${fmtMs(latencyLimit)}`,
      measured: fmtMs(r.latency.latencyMs.p99),
      pass: r.latency.latencyMs.p99 <= latencyLimit && r.latency.removeCalls === r.latency.violations,
    },
    {
      name: 'worker RSS (peak)',
      target: '< 200 MB',
      measured: `${r.memory.workerRssMb.peak.toFixed(1)} MB`,
      pass: r.memory.workerRssMb.peak < 200,
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
  ];
}

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
    const cpu = cpuPerItem(r.rawDrain.workerCpuPct, r.rawDrain.jobsPerSec);
    rows.push([
      'raw BullMQ no-op drain',
      `${fmtInt(r.rawDrain.jobs)} jobs`,
      `${fmtInt(r.rawDrain.jobsPerSec)} jobs/s, worker ${cpu} us CPU/job`,
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
  if (r.saturation) {
    const ratio = r.rawDrain ? ` = ${r.saturation.ratioToRaw.toFixed(2)} x raw` : '';
    const cpu = cpuPerItem(r.saturation.workerCpuPct, r.saturation.eventsPerSec);
    rows.push([
      'saturation: events drained',
      `${fmtInt(r.saturation.events)} events, 30 rules`,
      `${fmtInt(r.saturation.eventsPerSec)} events/s${ratio}, worker ${cpu} us CPU/event`,
      ...mark('saturation vs raw drain'),
    ]);
  }
  if (r.latency) {
    rows.push([
      'paced: event enqueue -> remove call',
      `${fmtInt(r.latency.sent)} at ${r.latency.ratePerSec}/s, ${r.latency.removeCalls}/${r.latency.violations} removals`,
      lat(r.latency.latencyMs),
      ...mark('paced p99 event -> remove call'),
    ]);
  }
  if (r.memory) {
    const { workerRssMb: rss, redisUsedMb: redis } = r.memory;
    rows.push([
      'worker RSS start / peak / end',
      '1 worker process',
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
  }
  if (r.processor) {
    rows.push([
      'events processor alone (no BullMQ)',
      `${fmtInt(r.processor.events)} events, real Redis`,
      `${fmtInt(r.processor.eventsPerSec)} events/s, ${fmtInt(r.processor.cpuUsPerEvent)} us CPU/event`,
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

/** Microseconds of worker CPU per job or event, from CPU use (% of one core) and throughput. */
function cpuPerItem(cpuPct: number, perSec: number): string {
  return perSec > 0 ? fmtInt((cpuPct / 100 / perSec) * 1e6) : '-';
}

export function fmtMs(ms: number): string {
  return `${round(ms, ms < 10 ? 2 : 1)} ms`;
}

export function fmtInt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
