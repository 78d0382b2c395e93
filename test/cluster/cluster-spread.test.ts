import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServices, type Services } from '../../src/app/services.js';
import { parseConfig } from '../../src/shared/config.js';
import { createLogger } from '../../src/shared/logger.js';
import { partitionOf } from '../../src/shared/partitions.js';
import { createProducer, type Producer } from '../../src/events/producer.js';
import { keySlot } from '../../src/store/cluster-plan.js';
import { createSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { startCluster, type LocalCluster } from '../helpers/cluster.js';
import { requireBuild, ROOT, sleep, spawnAutomod, type AutomodProcess, type RedisServer } from '../helpers/processes.js';
import { uniquePrefix } from '../helpers/redis.js';
import { meetingWorkload } from '../helpers/workload.js';

/**
 * A Redis Cluster that really spreads the load: three masters, AUTOMOD_PARTITIONS=12, the slots
 * laid out by `automod cluster-plan --apply` (as an operator would), two real `automod start`
 * processes of which one is SIGKILLed mid-run, events through the HTTP ingest and the producer
 * library. Judged by INFO commandstats / errorstats on each master, the simulator's call log and
 * the event markers in Redis. Prints the measured per-event costs the README's scale-out
 * arithmetic uses.
 */

const PARTITIONS = 12;
const SECRET = randomBytes(16).toString('hex');

/** Calls and CPU of one master, from INFO. */
interface NodeStats {
  calls: number;
  byCommand: Map<string, number>;
  cpuSeconds: number;
  crossslot: number;
}

function nodeStats(cluster: LocalCluster, node: RedisServer): NodeStats {
  const info = cluster.cli(node, 'info', 'all');
  let calls = 0;
  const byCommand = new Map<string, number>();
  for (const m of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    calls += Number(m[2]);
    byCommand.set(m[1]!, Number(m[2]));
  }
  const cpu = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
  const crossslot = Number(/^errorstat_CROSSSLOT:count=(\d+)/m.exec(info)?.[1] ?? 0);
  return { calls, byCommand, cpuSeconds: cpu('used_cpu_sys') + cpu('used_cpu_user'), crossslot };
}

/** A child's CPU time so far (user + system), from /proc. */
function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of the file, in clock ticks (100 a second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe('Redis Cluster spreading the load (3 masters, AUTOMOD_PARTITIONS=12)', () => {
  let cluster: LocalCluster | undefined;
  let simulator: Simulator | undefined;
  let services: Services | undefined;
  let producer: Producer | undefined;
  const workers: AutomodProcess[] = [];
  const prefix = uniquePrefix('spread');

  beforeAll(async () => {
    requireBuild();
    cluster = await startCluster(3);
  }, 60_000);

  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
    await Promise.all(workers.map((w) => Promise.race([w.exit, sleep(8000).then(() => w.child.kill('SIGKILL'))])));
    const dir = join(ROOT, 'test-results', 'cluster-logs');
    await mkdir(dir, { recursive: true }).catch(() => undefined);
    for (const w of workers)
      await writeFile(join(dir, `${w.name}.log`), `${w.logs.map((l) => JSON.stringify(l)).join('\n')}\n`).catch(() => undefined);
    await producer?.close().catch(() => undefined);
    await services?.close().catch(() => undefined);
    await simulator?.close();
    await cluster?.destroy();
  }, 30_000);

  it('spreads commands 20-45 % per master, no CROSSSLOT, nothing lost or doubled when a worker is SIGKILLed', async () => {
    const c = cluster!;
    const env = { REDIS_CLUSTER_NODES: c.seeds, AUTOMOD_PREFIX: prefix, AUTOMOD_PARTITIONS: String(PARTITIONS) };

    // The operator's step: lay the slots out so the 12 partitions (and the global tag) spread.
    const planRun = (...args: string[]) => {
      const run = spawnSync(process.execPath, [join(ROOT, 'dist', 'cli.js'), 'cluster-plan', '--json', ...args], {
        env: { PATH: process.env.PATH ?? '', ...env },
        encoding: 'utf8',
        timeout: 30_000,
      });
      expect(run.stderr).toBe('');
      expect(run.status).toBe(0);
      return JSON.parse(run.stdout) as {
        tags: { tag: string; slot: number; to: string }[];
        moves: unknown[];
        load: { master: string; planned: number }[];
      };
    };
    const applied = planRun('--apply');
    // Our slots are Redis's own.
    for (const t of applied.tags) expect(Number(c.cli(c.nodes[0]!, 'cluster', 'keyslot', t.tag).trim())).toBe(t.slot);
    // Gossip takes a moment; then the plan has nothing left to move.
    let again = planRun();
    for (let i = 0; i < 50 && again.moves.length > 0; i++) {
      await sleep(100);
      again = planRun();
    }
    expect(again.moves).toEqual([]);
    const planned = again.load.map((l) => l.planned);
    expect(Math.max(...planned) - Math.min(...planned)).toBeLessThanOrEqual(1);

    simulator = createSimulator({ secret: SECRET, apiKey: 'spread-key' });
    const simulatorUrl = await simulator.listen(0);
    // Many sessions, each a host (exempt), chatting guests and one violator (about 4 % of the events ask for a removal).
    const p = meetingWorkload({ sessions: 240, guests: 6, violators: 1 });
    for (const s of p.sessions) simulator.addSession({ id: s.id, meetingId: s.room, participants: s.participants });
    const config = parseConfig({ ...env, LOG_LEVEL: 'silent' });
    services = createServices(config, createLogger(config), {});
    await services.lists.add('blocked-participants', p.blocked);

    const workerEnv = {
      ...env,
      AUTOMOD_RULES: join(ROOT, 'rules'),
      VIDEOSDK_API_BASE: simulatorUrl,
      VIDEOSDK_API_VERSION: 'v2',
      VIDEOSDK_API_KEY: 'spread-key',
      VIDEOSDK_SECRET: SECRET,
      VIDEOSDK_TIMEOUT_MS: '2000',
      AUTOMOD_REMOVAL_ATTEMPTS: '20',
      AUTOMOD_BACKOFF_MS: '50',
      AUTOMOD_BACKOFF_MAX_MS: '500',
      AUTOMOD_LOCK_MS: '3000',
      AUTOMOD_STALLED_INTERVAL_MS: '1000',
      AUTOMOD_SHUTDOWN_TIMEOUT_MS: '5000',
      AUTOMOD_HTTP_PORT: '0',
      LOG_LEVEL: 'info',
    };
    workers.push(spawnAutomod('spread-a', ['start'], workerEnv), spawnAutomod('spread-b', ['start', '--no-http'], workerEnv));
    const [listening] = await Promise.all([
      workers[0]!.waitForLog((l) => l.msg === 'HTTP API listening', 30_000),
      ...workers.map((w) => w.waitForLog((l) => l.msg === 'automod started', 30_000)),
    ]);
    const url = listening!.url as string;
    await sleep(500);

    const before = c.nodes.map((n) => nodeStats(c, n));
    const cpuBefore = workers.map((w) => processCpuSeconds(w.child.pid!));
    const started = Date.now();

    // Half the events through the HTTP ingest (arrays of 100, and some one at a time), half
    // through the producer library; a slice of them a second time straight onto the queues.
    producer = createProducer({ connection: services.redis, prefix, partitions: PARTITIONS });
    const again2 = createProducer({ connection: services.redis, prefix, partitions: PARTITIONS, dedupSeconds: 0 });
    const post = async (body: unknown) => {
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      expect(res.status).toBe(202);
    };
    const send = async (events: Record<string, unknown>[]) => {
      for (let i = 0; i < events.length; i += 200) {
        const chunk = events.slice(i, i + 200);
        const http = chunk.slice(0, 100);
        await Promise.all([post(http.slice(0, 90)), ...http.slice(90).map((e) => post(e)), producer!.addMany(chunk.slice(100))]);
      }
    };
    const applied2 = () => simulator!.calls().filter((call) => call.applied).length;
    const half = Math.floor(p.events.length / 2);
    await send(p.events.slice(0, half));
    const deadline = Date.now() + 30_000;
    while (applied2() < 40 && Date.now() < deadline) await sleep(25);
    const victim = workers[1]!;
    const victimCpu = processCpuSeconds(victim.child.pid!) - cpuBefore[1]!;
    victim.child.kill('SIGKILL');
    expect((await victim.exit).signal).toBe('SIGKILL');
    await send(p.events.slice(half));
    // Redeliveries as a direct producer would cause them: ids the worker has already seen.
    await again2.addMany(p.events.slice(0, 300));
    await again2.close();

    // Settled: every events partition and the removals queue idle, every intended removal recorded.
    const busy = async () => {
      let n = 0;
      for (const q of [...services!.queues.eventPartitions, services!.queues.removals]) {
        const counts = await q.getJobCounts('waiting', 'active', 'delayed', 'prioritized', 'waiting-children');
        n += Object.values(counts).reduce((a, b) => a + b, 0);
      }
      return n;
    };
    const settleBy = Date.now() + 45_000;
    for (;;) {
      if (applied2() >= p.intended.size && (await busy()) === 0) break;
      if (Date.now() > settleBy)
        throw new Error(`did not settle: ${applied2()}/${p.intended.size} removals applied, ${await busy()} jobs busy`);
      await sleep(500);
    }
    const wallMs = Date.now() - started;
    const after = c.nodes.map((n) => nodeStats(c, n));
    const survivorCpu = processCpuSeconds(workers[0]!.child.pid!) - cpuBefore[0]!;

    // Each master's share of the commands served during the run.
    const calls = after.map((a, i) => a.calls - before[i]!.calls);
    const total = calls.reduce((a, b) => a + b, 0);
    const shares = calls.map((n) => n / total);
    const events = p.events.length;
    const redisCpu = after.reduce((sum, a, i) => sum + a.cpuSeconds - before[i]!.cpuSeconds, 0);
    const figures = {
      events,
      duplicatesSent: 300,
      removals: p.intended.size,
      wallSeconds: wallMs / 1000,
      commandsPerMaster: calls,
      // The tags each master serves (in c.nodes order) and the sessions of each partition.
      tagsPerMaster: c.nodes.map((n) => again.tags.filter((t) => t.to === `127.0.0.1:${n.port}`).map((t) => t.tag.replace(prefix, ''))),
      sessionsPerPartition: Array.from(
        { length: PARTITIONS },
        (_, k) => p.sessions.filter((s) => partitionOf(s.id, PARTITIONS) === k).length,
      ),
      shares: shares.map((s) => Number(s.toFixed(3))),
      commandsPerEvent: Number((total / events).toFixed(2)),
      redisCpuUsPerEvent: Math.round((redisCpu * 1e6) / events),
      workerCpuUsPerEvent: Math.round(((survivorCpu + victimCpu) * 1e6) / events),
      // The busiest commands of each master, for a look at where the calls go.
      topCommands: after.map((a, i) =>
        Object.fromEntries(
          [...a.byCommand]
            .map(([name, n]) => [name, n - (before[i]!.byCommand.get(name) ?? 0)] as const)
            .sort((x, y) => y[1] - x[1])
            .slice(0, 8),
        ),
      ),
    };
    process.stdout.write(`cluster spread: ${JSON.stringify(figures)}\n`);
    await mkdir(join(ROOT, 'test-results'), { recursive: true });
    await writeFile(join(ROOT, 'test-results', 'cluster-spread.json'), `${JSON.stringify(figures, null, 2)}\n`);
    for (const share of shares) {
      expect(share).toBeGreaterThanOrEqual(0.2);
      expect(share).toBeLessThanOrEqual(0.45);
    }

    // No script or pipeline crossed slots: not on any master, not in any worker's log.
    expect(after.map((a) => a.crossslot)).toEqual([0, 0, 0]);
    for (const w of workers) expect(w.logs.filter((l) => JSON.stringify(l).includes('CROSSSLOT'))).toEqual([]);

    // Nothing doubled, nothing wrong, nothing lost: the simulator's call log is the judge.
    const removed = new Map<string, number>();
    for (const call of simulator.calls())
      if (call.applied)
        removed.set(`${call.sessionId}/${call.participantId}`, (removed.get(`${call.sessionId}/${call.participantId}`) ?? 0) + 1);
    expect([...removed.keys()].filter((k) => !p.intended.has(k))).toEqual([]);
    expect([...p.intended].filter((k) => removed.get(k) !== 1)).toEqual([]);
    // Every event was processed: its marker names the one job (and place) that owns it.
    const unprocessed: string[] = [];
    for (let k = 0; k < PARTITIONS; k++) {
      const mine = p.events.filter((e) => partitionOf(String(e.sessionId), PARTITIONS) === k);
      const pipeline = services.redis.pipeline();
      for (const e of mine) pipeline.exists(services.keys.part(String(e.sessionId)).eventDone(String(e.id)));
      const found = (await pipeline.exec()) ?? [];
      mine.forEach((e, i) => {
        if (found[i]?.[1] !== 1) unprocessed.push(String(e.id));
      });
    }
    expect(unprocessed.slice(0, 5)).toEqual([]);
    for (const q of [...services.queues.eventPartitions, services.queues.removals]) expect((await q.getJobCounts('failed')).failed).toBe(0);
    expect(await services.redis.llen(services.keys.deadLetter())).toBe(0);
    // The victim really held work that the survivor took over.
    expect(victimCpu).toBeGreaterThan(0);
    expect(keySlot(`{${prefix}}`)).toBe(Number(c.cli(c.nodes[0]!, 'cluster', 'keyslot', `{${prefix}}`).trim()));
  }, 120_000);
});
