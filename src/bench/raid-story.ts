import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { createEventProducer } from '../events/producer.js';
import { createQueues } from '../events/queues.js';
import { createRemovalRequester } from '../removals/removal-requester.js';
import { parseConfig, type Env } from '../shared/config.js';
import { freePort } from '../shared/free-port.js';
import { createLogger } from '../shared/logger.js';
import { sleep } from '../shared/sleep.js';
import { createKeys } from '../store/keys.js';
import { createRemovalClaims } from '../store/removal-claims.js';
import { deleteKeys } from '../store/scan-keys.js';
import { cpuMeter } from './cpu-meter.js';
import { lockdownSince } from './gate-probe.js';
import { waitForDrain } from './drain.js';
import { runPaced } from './pacer.js';
import { perSecond } from './raid.js';
import type { SimulatorProcess } from './simulator-process.js';
import { round, wallClockMs } from './stats.js';
import { startWorkerProcess } from './worker-process.js';

/** What every raid-story measure works with. */
export interface StoryContext {
  /** The bench's worker environment; each measure runs a worker under `prefix` of its own. */
  env: Env;
  prefix: string;
  producer: Redis;
  monitor: Redis;
  simulator: SimulatorProcess;
  cliPath: string;
  logFile: string;
  say(line: string): void;
}

export interface ViolatorsResult {
  count: number;
  capPerSec: number;
  latencyMs: number;
  /** count / cap. */
  floorMs: number;
  /** From queueing the first removal to the last one taking effect at the simulator. */
  clearedMs: number;
  removedOnce: number;
  maxPerSecondSliding: number;
  /** Worker CPU (µs) per removal: the removal worker's own cost, no events involved. */
  workerCpuUsPerRemoval: number;
  /** Redis CPU (µs) per removal, every client included. */
  redisCpuUsPerRemoval: number;
}

const VIOLATORS_SESSION = 'bench-violators';

/**
 * Distinct violators queued at once as rule removals (batched, as a raid's rule hits are), the
 * simulator answering each remove call after `latencyMs`: how far the last removal lands from the
 * floor the cap sets, and what one removal costs the worker.
 */
export async function measureViolators(
  ctx: StoryContext,
  sizes: { count: number; capPerSec: number; latencyMs: number },
): Promise<ViolatorsResult> {
  const env = { ...ctx.env, AUTOMOD_PREFIX: `${ctx.prefix}-violators`, AUTOMOD_API_RATE_PER_SEC: String(sizes.capPerSec) };
  const config = parseConfig(env);
  const keys = createKeys(config.keyPrefix);
  const queues = createQueues(config, ctx.producer);
  const ids = Array.from({ length: sizes.count }, (_, k) => `violator-${k}`);
  await ctx.simulator.addSession({
    id: VIOLATORS_SESSION,
    meetingId: `${VIOLATORS_SESSION}-room`,
    participants: ids.map((participantId) => ({ participantId })),
  });
  if (sizes.latencyMs > 0)
    await ctx.simulator.addFault({
      operation: 'remove',
      sessionId: VIOLATORS_SESSION,
      delayMs: sizes.latencyMs,
      times: Number.POSITIVE_INFINITY,
    });
  const worker = await startWorkerProcess({
    // BENCH_WORKER_NODE_ARGS (e.g. --cpu-prof) reaches this worker too: the profile of a removal.
    nodeArgs: (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
    cliPath: ctx.cliPath,
    env,
    logFile: ctx.logFile,
    queues: [queues.events, queues.removals],
  });
  try {
    const claims = createRemovalClaims({ redis: ctx.producer, keys, dedupSeconds: config.dedupSeconds });
    const requester = createRemovalRequester({ queue: queues.removals, claims, logger: createLogger({ logLevel: 'silent' }) });
    const cpu = await cpuMeter(ctx.monitor, worker.pid);
    const started = wallClockMs();
    await requester.requestMany(
      ids.map((participantId) => ({
        sessionId: VIOLATORS_SESSION,
        participantId,
        meetingId: `${VIOLATORS_SESSION}-room`,
        reason: 'bench violation',
        rule: 'bench-violation',
        requestedBy: 'bench',
      })),
    );
    const deadline = started + (sizes.count / sizes.capPerSec) * 1000 + 60_000;
    const removed = async () =>
      Object.keys((await ctx.simulator.stats()).removalsByParticipant).filter((k) => k.startsWith(`${VIOLATORS_SESSION}/`)).length;
    let clearedAt = Number.NaN;
    for (;;) {
      if ((await removed()) >= sizes.count) {
        clearedAt = wallClockMs();
        break;
      }
      if (wallClockMs() > deadline) break;
      await worker.whileRunning(sleep(50));
    }
    await worker.whileRunning(waitForDrain(queues.removals, { timeoutMs: 30_000 })).catch(() => undefined);
    const used = await cpu.stop();
    const seconds = (wallClockMs() - started) / 1000;
    const calls = (await ctx.simulator.calls()).filter((c) => c.operation === 'remove' && c.sessionId === VIOLATORS_SESSION);
    const { removalsByParticipant } = await ctx.simulator.stats();
    return {
      count: sizes.count,
      capPerSec: sizes.capPerSec,
      latencyMs: sizes.latencyMs,
      floorMs: Math.round((sizes.count / sizes.capPerSec) * 1000),
      clearedMs: round(clearedAt - started),
      removedOnce: ids.filter((id) => removalsByParticipant[`${VIOLATORS_SESSION}/${id}`] === 1).length,
      maxPerSecondSliding: perSecond(calls.map((c) => c.at)).maxPerSecondSliding,
      workerCpuUsPerRemoval: Math.round((used.processSeconds / sizes.count) * 1e6),
      redisCpuUsPerRemoval: Math.round((((used.redisPct / 100) * seconds) / sizes.count) * 1e6),
    };
  } finally {
    const code = await worker.stop();
    if (code !== 0) ctx.say(`warning: the violators' worker exited with code ${code}`);
    await ctx.simulator.clearFaults().catch(() => undefined);
    await queues.close().catch(() => undefined);
    await deleteKeys(ctx.monitor, `${config.keyPrefix}*`).catch(() => undefined);
  }
}

export interface EndSessionRaidResult {
  bots: number;
  /** From the lockdown's start to the simulator receiving the end-session call. */
  sessionEndedAfterMs: number | undefined;
  /** Remove calls for bots in the session the lockdown ended (0: the end took them all out). */
  removeCallsInEndedSession: number;
  /** Bots that came back into the room's next session, and how many of them were removed. */
  rejoined: number;
  rejoinedRemoved: number;
  /** From the first rejoin sent to the last rejoined bot removed. */
  rejoinsClearedMs: number;
  /** Admitted participants (host, moderator, regulars) who came back, and remove calls they met. */
  admitted: number;
  admittedRemoveCalls: number;
}

const END_MEETING = 'bench-end-room';
const ADMITTED = [
  { participantId: 'end-host', role: 'host' },
  { participantId: 'end-moderator', role: 'moderator' },
  { participantId: 'end-regular-1', role: 'participant' },
  { participantId: 'end-regular-2', role: 'participant' },
] as const;

/** The shipped join-wave rule, ending the live session when it locks (the answer to a raid of thousands). */
const END_WAVE_RULE = {
  name: 'join-wave-end',
  mode: 'enforce',
  priority: 90,
  conditions: {
    all: [
      { fact: 'event', path: '$.type', operator: 'equal', value: 'participant-joined' },
      {
        fact: 'eventCount',
        params: { type: 'participant-joined', windowSeconds: 10, scope: 'session' },
        operator: 'greaterThanInclusive',
        value: 30,
      },
    ],
  },
  event: { type: 'lockdown', params: { for: '15m', mode: 'closed', endSession: true, reason: 'Join wave: session ended' } },
};

/**
 * A raid of `bots` joins met by a lockdown that ends the live session: the session should end
 * within a second of the lockdown with no remove call for the bots in it; every bot that comes
 * back (into the room's next session) is removed; every admitted participant comes back untouched.
 */
export async function measureEndSessionRaid(
  ctx: StoryContext,
  sizes: { bots: number; capPerSec: number; latencyMs: number; joinsPerSec: number },
): Promise<EndSessionRaidResult> {
  const rulesDir = await mkdtemp(join(tmpdir(), 'automod-bench-end-'));
  await writeFile(join(rulesDir, 'join-wave-end.json'), JSON.stringify(END_WAVE_RULE, null, 2));
  const httpPort = await freePort();
  const env = {
    ...ctx.env,
    AUTOMOD_PREFIX: `${ctx.prefix}-end`,
    AUTOMOD_RULES: rulesDir,
    AUTOMOD_API_RATE_PER_SEC: String(sizes.capPerSec),
  };
  const config = parseConfig(env);
  const keys = createKeys(config.keyPrefix);
  const queues = createQueues(config, ctx.producer);
  const bots = Array.from({ length: sizes.bots }, (_, k) => `end-bot-${k}`);
  const everyone = [...ADMITTED.map((a) => a.participantId), ...bots];
  const first = 'bench-end-1';
  const second = 'bench-end-2';
  await ctx.simulator.addSession({ id: first, meetingId: END_MEETING, participants: everyone.map((participantId) => ({ participantId })) });
  if (sizes.latencyMs > 0) await ctx.simulator.addFault({ operation: 'remove', delayMs: sizes.latencyMs, times: Number.POSITIVE_INFINITY });
  const worker = await startWorkerProcess({
    cliPath: ctx.cliPath,
    env,
    logFile: ctx.logFile,
    queues: [queues.events, queues.removals],
    httpPort,
  });
  try {
    const ingest = createEventProducer({
      redis: ctx.producer,
      keys,
      queues: queues.eventPartitions,
      batchMax: config.eventBatchMax,
      lingerMs: config.ingestLingerMs,
      dedupSeconds: config.dedupSeconds,
    });
    const join = (sessionId: string, participantId: string, role: string, at = Date.now()) =>
      ingest.add({
        id: `${sessionId}-join-${participantId}`,
        type: 'participant-joined',
        sessionId,
        meetingId: END_MEETING,
        participantId,
        timestamp: new Date(at).toISOString(),
        data: { role },
      });
    // The admitted were in the meeting a minute before the raid.
    for (const a of ADMITTED) await join(first, a.participantId, a.role, Date.now() - 60_000);
    await ingest.drain();
    await runPaced({
      ratePerSec: sizes.joinsPerSec,
      durationMs: (sizes.bots / sizes.joinsPerSec) * 1000,
      send: async (i) => {
        await join(first, bots[i]!, 'participant');
      },
    });
    await ingest.drain();
    await worker.whileRunning(waitForDrain(queues.events, { timeoutMs: 60_000 }));
    await worker.whileRunning(waitForDrain(queues.removals, { timeoutMs: 60_000 })).catch(() => undefined);
    const since = await lockdownSince(`http://127.0.0.1:${httpPort}`, END_MEETING);
    const ended = (await ctx.simulator.calls()).find((c) => c.operation === 'end-session');

    // Everyone comes back into the room's next session: the bots with the tokens they hold.
    await ctx.simulator.addSession({
      id: second,
      meetingId: END_MEETING,
      participants: everyone.map((participantId) => ({ participantId })),
    });
    const rejoinStarted = wallClockMs();
    for (const a of ADMITTED) await join(second, a.participantId, a.role);
    await runPaced({
      ratePerSec: sizes.joinsPerSec,
      durationMs: (sizes.bots / sizes.joinsPerSec) * 1000,
      send: async (i) => {
        await join(second, bots[i]!, 'participant');
      },
    });
    await ingest.drain();
    const deadline = wallClockMs() + (sizes.bots / sizes.capPerSec) * 1000 + 60_000;
    const removedIn = async (sessionId: string) =>
      Object.keys((await ctx.simulator.stats()).removalsByParticipant).filter((k) => k.startsWith(`${sessionId}/end-bot-`)).length;
    let clearedAt = Number.NaN;
    for (;;) {
      if ((await removedIn(second)) >= sizes.bots) {
        clearedAt = wallClockMs();
        break;
      }
      if (wallClockMs() > deadline) break;
      await worker.whileRunning(sleep(100));
    }
    await worker.whileRunning(waitForDrain(queues.removals, { timeoutMs: 30_000 })).catch(() => undefined);
    const removes = (await ctx.simulator.calls()).filter((c) => c.operation === 'remove');
    const admittedIds = new Set<string>(ADMITTED.map((a) => a.participantId));
    return {
      bots: sizes.bots,
      sessionEndedAfterMs: ended && since !== undefined ? round(ended.at - since) : undefined,
      removeCallsInEndedSession: removes.filter((c) => c.sessionId === first && c.participantId?.startsWith('end-bot-')).length,
      rejoined: sizes.bots,
      rejoinedRemoved: await removedIn(second),
      rejoinsClearedMs: round(clearedAt - rejoinStarted),
      admitted: ADMITTED.length,
      admittedRemoveCalls: removes.filter((c) => c.participantId !== undefined && admittedIds.has(c.participantId)).length,
    };
  } finally {
    const code = await worker.stop();
    if (code !== 0) ctx.say(`warning: the end-session raid's worker exited with code ${code}`);
    await ctx.simulator.clearFaults().catch(() => undefined);
    await queues.close().catch(() => undefined);
    await deleteKeys(ctx.monitor, `${config.keyPrefix}*`).catch(() => undefined);
    await rm(rulesDir, { recursive: true, force: true });
  }
}
