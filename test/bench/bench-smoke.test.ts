import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createRedis } from '../../src/store/redis.js';
import { ROOT, exited, requireBuild } from '../helpers/processes.js';
import { REDIS_URL, testConfig, uniquePrefix } from '../helpers/redis.js';

// Proves that `npm run bench` works end to end (baseline child, worker process, simulator, the
// table, the JSON, the cleanup) in its tiny `--quick` form. Not a performance test: no figure is
// judged here, the machine running CI may be as slow as it likes.
describe('npm run bench --quick', () => {
  let out: string | undefined;
  afterAll(async () => {
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('runs every part, prints the table, writes the JSON and leaves no keys behind', async () => {
    requireBuild();
    out = await mkdtemp(join(tmpdir(), 'automod-bench-smoke-'));
    const child = spawn(
      process.execPath,
      [join(ROOT, 'dist', 'bench', 'bench.js'), '--quick', '--list-values', '1500', '--list-changes', '3', '--out', out],
      {
        cwd: ROOT,
        env: { PATH: process.env.PATH, HOME: process.env.HOME, REDIS_URL },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const { code } = await exited(child);
    expect(code, stderr).toBe(0);

    for (const line of [
      'raw BullMQ no-op drain',
      'raw BullMQ no-op drain, again after',
      'raw BullMQ two hops',
      'batched saturation: events drained',
      'single-event jobs: events drained',
      'HTTP ingest: POST /v1/events accepted',
      'paced single-event jobs: enqueue -> remove call',
      'paced HTTP, one event per POST: send -> remove call',
      'raid: bots removed exactly once',
      'raid: remove calls in any 1 s',
      'worker RSS',
      'Redis used_memory',
      'rule evaluation alone',
      'events processor alone',
      'list changes under load',
    ]) {
      expect(stdout).toContain(line);
    }
    expect(stdout).toContain('Quick run');

    const file = (await readdir(out)).find((f) => /^bench-.*\.json$/.test(f));
    expect(file).toBeDefined();
    const report = JSON.parse(await readFile(join(out, file!), 'utf8')) as {
      mode: string;
      versions: Record<string, string>;
      workerEnv: Record<string, string>;
      results: Record<string, unknown>;
      targets: { name: string; pass: boolean }[];
    };
    expect(report.mode).toBe('quick');
    expect(Object.keys(report.versions)).toEqual(expect.arrayContaining(['node', 'redis', 'bullmq', 'ioredis', 'json-rules-engine']));
    expect(Object.keys(report.results).sort()).toEqual([
      'endSessionRaid',
      'evaluation',
      'httpIngest',
      'httpLatency',
      'latency',
      'listChanges',
      'memory',
      'processor',
      'raid',
      'rawDrain',
      'rawDrainAfter',
      'rawTwoHop',
      'saturation',
      'single',
      'violators',
    ]);
    expect(report.targets).toHaveLength(18);
    expect((report.targets as { name: string }[]).map((t) => t.name)).toEqual(
      expect.arrayContaining([
        'folded text vs raw (same run)',
        'worst admitted pattern on 64 KB',
        'gate: refusing within 1 s of the wave',
        'worker CPU per removal vs raw BullMQ per job',
        'end-session raid: emptied in one call, rejoiners removed, admitted back',
      ]),
    );
    expect(report.workerEnv.VIDEOSDK_SECRET).toBeUndefined();
    const results = report.results as {
      saturation: {
        events: number;
        logged: number;
        failed: number;
        batchSize: number;
        offenders: number;
        removeCalls: number;
        cpuUsPerEvent: number;
      };
      single: { events: number; failed: number; offenders: number; removeCalls: number; cpuUsPerEvent: number };
      httpIngest: {
        events: number;
        accepted: number;
        rejected: number;
        failed: number;
        offenders: number;
        removeCalls: number;
        cpuUsPerEvent: number;
      };
      latency: { violations: number; removeCalls: number; cpuUsPerEvent: number };
      httpLatency: { violations: number; removeCalls: number; cpuUsPerEvent: number };
      raid: {
        bots: number;
        removedOnce: number;
        notRemoved: number;
        removedTwiceOrMore: number;
        staffCalls: number;
        maxPerSecondSliding: number;
        capPerSec: number;
        failed: number;
        workerCpuUsPerEvent: number;
      };
      processor: { events: number; batched: { cpuUsPerEvent: number }; single: { cpuUsPerEvent: number } };
      listChanges: { listValues: number; changes: number; events: number; eventsPerSec: number; workerRssMb: { peak: number } };
    };
    expect(results.processor.events).toBeGreaterThan(0);
    expect(results.processor.batched.cpuUsPerEvent).toBeGreaterThan(0);
    expect(results.processor.single.cpuUsPerEvent).toBeGreaterThan(0);
    // Every queued event was processed and logged, every paced violation became a remove call.
    expect(results.saturation.logged).toBe(results.saturation.events);
    expect(results.saturation.failed).toBe(0);
    expect(results.latency.removeCalls).toBe(results.latency.violations);
    // The batched path packs 100 events a job; each product line reports the worker's CPU per event.
    expect(results.saturation.batchSize).toBe(100);
    expect(results.saturation.removeCalls).toBe(results.saturation.offenders);
    expect(results.single).toMatchObject({ failed: 0, removeCalls: results.single.offenders });
    // Every POSTed event was accepted, drained and its offenders removed.
    expect(results.httpIngest).toMatchObject({
      accepted: results.httpIngest.events,
      rejected: 0,
      failed: 0,
      removeCalls: results.httpIngest.offenders,
    });
    expect(results.httpLatency.violations).toBeGreaterThan(0);
    expect(results.httpLatency.removeCalls).toBe(results.httpLatency.violations);
    for (const line of [results.saturation, results.single, results.httpIngest, results.latency, results.httpLatency])
      expect(line.cpuUsPerEvent).toBeGreaterThan(0);
    expect(results.raid.workerCpuUsPerEvent).toBeGreaterThan(0);
    // The raid at its tiny size: every bot removed exactly once, the staff never, the cap held.
    expect(results.raid).toMatchObject({ removedOnce: results.raid.bots, notRemoved: 0, removedTwiceOrMore: 0, staffCalls: 0, failed: 0 });
    expect(results.raid.bots).toBeGreaterThan(0);
    expect(results.raid.maxPerSecondSliding).toBeLessThanOrEqual(results.raid.capPerSec);
    // The list scenario ran at the size asked for and processed its events.
    expect(results.listChanges).toMatchObject({ listValues: 1500, changes: 3 });
    expect(results.listChanges.events).toBeGreaterThan(0);
    expect(results.listChanges.eventsPerSec).toBeGreaterThan(0);
    expect(results.listChanges.workerRssMb.peak).toBeGreaterThan(0);

    const redis = createRedis(testConfig(uniquePrefix('bench-smoke')).redis);
    try {
      const left: string[] = [];
      let cursor = '0';
      do {
        // The worker's prefix and the scenarios' own (`<prefix>-proc`, `-raid`, `-lists`).
        const [next, keys] = await redis.scan(cursor, 'MATCH', `{${report.workerEnv.AUTOMOD_PREFIX}*`, 'COUNT', 1000);
        cursor = next;
        left.push(...keys);
      } while (cursor !== '0');
      expect(left).toEqual([]);
    } finally {
      await redis.quit();
    }
  }, 120_000);
});
