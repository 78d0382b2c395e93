import type { Redis } from 'ioredis';
import type { Config, Env } from '../shared/config.js';
import { createEventProducer } from '../events/producer.js';
import { createQueues } from '../events/queues.js';
import type { SimCall } from '../simulator/simulator.js';
import { freePort } from '../shared/free-port.js';
import { lockdownSince as lockdownStart, probeGate, type GateProbeResult } from './gate-probe.js';
import type { SimulatorProcess } from './simulator-process.js';
import { createKeys } from '../store/keys.js';
import { cpuMeter } from './cpu-meter.js';
import { waitForDrain } from './drain.js';
import { runPaced } from './pacer.js';
import { deleteKeys } from '../store/scan-keys.js';
import { round, wallClockMs } from './stats.js';
import { sleep } from '../shared/sleep.js';
import { startWorkerProcess } from './worker-process.js';
import { RAID_MEETING, RAID_SESSION, RAID_STAFF, raidBotId, raidEvent } from './workload.js';

export interface RaidSizes {
  bots: number;
  events: number;
  durationMs: number;
  /** `AUTOMOD_API_RATE_PER_SEC` of the raid's worker. */
  capPerSec: number;
  /** How long the simulator takes to answer a remove call (a real API's latency). */
  latencyMs: number;
  /** Gate checks a second while the events are sent (the moment it starts refusing). */
  gateChecksPerSec: number;
  /** Gate checks a second afterwards, for 5 s, the lockdown standing: its latency under load. */
  gateLoadPerSec: number;
}

export interface RaidResult {
  bots: number;
  events: number;
  durationMs: number;
  capPerSec: number;
  /** Bots with exactly one remove call, with none, with more than one. */
  removedOnce: number;
  notRemoved: number;
  removedTwiceOrMore: number;
  /** Remove calls (any answer) for the host or the moderator. */
  staffCalls: number;
  /**
   * Remove calls for bots that were already out (answered 404, recorded already-gone): a bot's join
   * handled after its removal (events of one session are handled out of order across batch jobs)
   * starts a new dedup window, as a rejoin does, and its next message asks again.
   */
  callsFindingBotGone: number;
  /** Most remove calls in any 1 s window (sliding), and in any calendar second. */
  maxPerSecondSliding: number;
  maxPerCalendarSecond: number;
  /** From the last event sent to the last bot's remove call. */
  lastEventToLastRemovalMs: number;
  /** From the first event sent to the last bot's remove call. */
  firstEventToLastRemovalMs: number;
  /** Producer lag behind its schedule (the driver falling behind 5,000 events/s). */
  maxSendLagMs: number;
  failed: number;
  /** Both queues were empty at the end of the wait (bots / cap + 60 s, then 30 s each). */
  drained: boolean;
  /** Bots removed per second, from the first remove call to the last removal. */
  removalsPerSec: number;
  /** Worker CPU (µs) per event, from the first event until everything was drained (removals included). */
  workerCpuUsPerEvent: number;
  workerRssPeakMb: number;
  latencyMs: number;
  /** bots / cap: no removal order can beat it. */
  floorMs: number;
  /** The gate asked about newcomers during the raid. */
  gate: GateProbeResult;
  /** The gate asked `gateLoadPerSec` times a second once the raid was handled, the lockdown standing. */
  gateLoad: GateProbeResult;
  /** From the join that made the wave (the 30th) sent to the gate first refusing a newcomer. */
  waveToGateMs: number | undefined;
  /** From the lockdown's start (Redis's clock) to the gate first refusing a newcomer. */
  lockdownToGateMs: number | undefined;
  /** Bot joins sent after the lockdown began, and how many of those bots were removed. */
  joinsAfterLockdown: number;
  joinsAfterLockdownRemoved: number;
}

/**
 * A raid: `bots` bots join one session and flood its chat with scam messages, `events` events in
 * `durationMs`, while the host and a moderator answer in chat quoting the scam. Events arrive one
 * at a time as webhooks do (the ingest's micro-batching packs them); a worker of its own, under a
 * prefix of its own (`config.keyPrefix`, deleted at the end), with `AUTOMOD_API_RATE_PER_SEC` at
 * `capPerSec`. Every bot must be removed exactly once, the staff never, and no 1 s window may see
 * more remove calls than the cap.
 */
export async function measureRaid(
  ctx: {
    config: Config;
    env: Env;
    producer: Redis;
    monitor: Redis;
    simulator: SimulatorProcess;
    cliPath: string;
    logFile: string;
    say(line: string): void;
  },
  sizes: RaidSizes,
): Promise<RaidResult> {
  const { config, producer, monitor, simulator, say } = ctx;
  const keys = createKeys(config.keyPrefix);
  const queues = createQueues(config, producer);
  await simulator.addSession({
    id: RAID_SESSION,
    meetingId: RAID_MEETING,
    participants: [
      ...RAID_STAFF.map((s) => ({ participantId: s.participantId })),
      ...Array.from({ length: sizes.bots }, (_, k) => ({ participantId: raidBotId(k) })),
    ],
  });
  const isRaidCall = (c: SimCall) => c.operation === 'remove' && c.participantId?.startsWith('raid-') === true;
  // Every remove call answered after `latencyMs`, the removal taking effect then.
  if (sizes.latencyMs > 0) await simulator.addFault({ operation: 'remove', delayMs: sizes.latencyMs, times: Number.POSITIVE_INFINITY });
  const httpPort = await freePort();
  try {
    const worker = await startWorkerProcess({
      httpPort,
      // As for the product worker: BENCH_WORKER_NODE_ARGS (e.g. --cpu-prof) reaches the raid's too.
      nodeArgs: (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter(Boolean),
      cliPath: ctx.cliPath,
      env: ctx.env,
      logFile: ctx.logFile,
      queues: [queues.events, queues.removals],
    });
    let rssPeak = 0;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, worker.rss()?.peakMb ?? 0)), 500);
    try {
      await sleep(300);
      const ingest = createEventProducer({
        redis: producer,
        keys,
        queues: queues.eventPartitions,
        batchMax: config.eventBatchMax,
        lingerMs: config.ingestLingerMs,
        dedupSeconds: config.dedupSeconds,
      });
      // The host and the moderator were in the meeting before the raid, as in life: their joins
      // (with their roles) were seen a minute earlier, so a lockdown the wave sets off admits them.
      for (const staff of RAID_STAFF) {
        await ingest.add({
          id: `raid-staff-join-${staff.participantId}`,
          type: 'participant-joined',
          sessionId: RAID_SESSION,
          meetingId: RAID_MEETING,
          participantId: staff.participantId,
          timestamp: new Date(Date.now() - 60_000).toISOString(),
          data: { role: staff.role },
        });
      }
      await ingest.drain();
      const cpu = await cpuMeter(monitor, worker.pid);
      const firstEventAt = wallClockMs();
      // When each bot's join was sent: the wave, and the joins that came after the lockdown.
      const joinSentAt = new Map<string, number>();
      const gate = probeGate({
        url: `http://127.0.0.1:${httpPort}`,
        meetingId: RAID_MEETING,
        ratePerSec: sizes.gateChecksPerSec,
        durationMs: sizes.durationMs,
      });
      const sent = await runPaced({
        ratePerSec: (sizes.events / sizes.durationMs) * 1000,
        durationMs: sizes.durationMs,
        send: async (i) => {
          const event = raidEvent(i, sizes.bots, Date.now());
          if (event.type === 'participant-joined' && event.participantId !== undefined) joinSentAt.set(event.participantId, wallClockMs());
          await ingest.add(event);
        },
      });
      await ingest.drain();
      const gateResult = await gate;
      const lastEventAt = wallClockMs();
      say(
        `  ${sent.sent} events sent in ${(sent.durationMs / 1000).toFixed(1)} s (lag at most ${round(sent.maxLagMs)} ms); waiting for ${sizes.bots} removals at ${sizes.capPerSec}/s`,
      );
      const deadline = wallClockMs() + (sizes.bots / sizes.capPerSec) * 1000 + 60_000;
      // Bots taken out of the session (the simulator's own count: no copy of its call log a poll).
      const removedBots = async () =>
        Object.keys((await simulator.stats()).removalsByParticipant).filter((k) => k.startsWith(`${RAID_SESSION}/raid-bot-`)).length;
      for (;;) {
        if ((await removedBots()) >= sizes.bots || wallClockMs() > deadline) break;
        await worker.whileRunning(sleep(200));
      }
      // A raid the worker cannot keep up with is a result to report, not a crash of the bench.
      const settled = async (queue: typeof queues.events, timeoutMs: number) => {
        try {
          await worker.whileRunning(waitForDrain(queue, { timeoutMs }));
          return true;
        } catch (err) {
          if (!(err instanceof Error) || !err.message.includes('did not drain')) throw err;
          return false;
        }
      };
      const drained = (await settled(queues.events, 30_000)) && (await settled(queues.removals, 30_000));
      const failed = (await queues.events.getJobCounts('failed')).failed ?? 0;
      const used = await cpu.stop();
      const gateLoad = await worker.whileRunning(
        probeGate({ url: `http://127.0.0.1:${httpPort}`, meetingId: RAID_MEETING, ratePerSec: sizes.gateLoadPerSec, durationMs: 5000 }),
      );
      // A late duplicate would come after the drain, if at all.
      await sleep(1000);
      rssPeak = Math.max(rssPeak, worker.rss()?.peakMb ?? 0);

      const { byOperation, removalsByParticipant } = await simulator.stats();
      say(
        `  VideoSDK calls by operation: ${Object.entries(byOperation)
          .map(([op, n]) => `${op} ${n}`)
          .join(', ')}`,
      );
      const calls = (await simulator.calls()).filter(isRaidCall);
      const lockdownSince = await lockdownStart(`http://127.0.0.1:${httpPort}`, RAID_MEETING);
      const joinsAfter = lockdownSince === undefined ? [] : [...joinSentAt].filter(([, at]) => at > lockdownSince).map(([id]) => id);
      const wave = [...joinSentAt.values()].sort((a, b) => a - b)[29];
      let botCalls = 0;
      let staffCalls = 0;
      let lastRemoval = 0;
      let firstRemoval = Number.POSITIVE_INFINITY;
      for (const c of calls) {
        if (!c.participantId!.startsWith('raid-bot-')) {
          staffCalls += 1;
          continue;
        }
        botCalls += 1;
        if (c.applied) lastRemoval = Math.max(lastRemoval, c.at);
        firstRemoval = Math.min(firstRemoval, c.at);
      }
      // Removed = taken out of the session by a remove call; a call that found the bot already gone
      // (answered 404, recorded already-gone) is counted apart, as a call the cap paid for.
      const counts = Array.from({ length: sizes.bots }, (_, k) => removalsByParticipant[`${RAID_SESSION}/${raidBotId(k)}`] ?? 0);
      const applied = counts.reduce((a, b) => a + b, 0);
      return {
        bots: sizes.bots,
        events: sent.sent,
        durationMs: round(sent.durationMs),
        capPerSec: sizes.capPerSec,
        removedOnce: counts.filter((n) => n === 1).length,
        notRemoved: counts.filter((n) => n === 0).length,
        removedTwiceOrMore: counts.filter((n) => n > 1).length,
        staffCalls,
        callsFindingBotGone: botCalls - applied,
        ...perSecond(calls.map((c) => c.at)),
        lastEventToLastRemovalMs: round(lastRemoval - lastEventAt),
        firstEventToLastRemovalMs: round(lastRemoval - firstEventAt),
        maxSendLagMs: round(sent.maxLagMs),
        failed,
        drained,
        removalsPerSec: applied > 1 ? Math.round((applied / (lastRemoval - firstRemoval)) * 1000) : 0,
        workerCpuUsPerEvent: Math.round((used.processSeconds / sent.sent) * 1e6),
        workerRssPeakMb: round(rssPeak, 1),
        latencyMs: sizes.latencyMs,
        floorMs: Math.round((sizes.bots / sizes.capPerSec) * 1000),
        gate: gateResult,
        gateLoad,
        waveToGateMs: gateResult.firstRefusalAt !== undefined && wave !== undefined ? round(gateResult.firstRefusalAt - wave) : undefined,
        lockdownToGateMs:
          gateResult.firstRefusalAt !== undefined && lockdownSince !== undefined
            ? round(gateResult.firstRefusalAt - lockdownSince)
            : undefined,
        joinsAfterLockdown: joinsAfter.length,
        joinsAfterLockdownRemoved: joinsAfter.filter((id) => (removalsByParticipant[`${RAID_SESSION}/${id}`] ?? 0) > 0).length,
      };
    } finally {
      clearInterval(sampler);
      const code = await worker.stop();
      if (code !== 0) say(`warning: the raid worker exited with code ${code}`);
    }
  } finally {
    await simulator.clearFaults().catch(() => undefined);
    await queues.close().catch(() => undefined);
    await deleteKeys(monitor, `${config.keyPrefix}*`).catch(() => undefined);
  }
}

/** Most calls in any 1,000 ms window starting at a call (sliding), and in any calendar second. */
export function perSecond(times: readonly number[]): { maxPerSecondSliding: number; maxPerCalendarSecond: number } {
  const sorted = [...times].sort((a, b) => a - b);
  let sliding = 0;
  let j = 0;
  for (let i = 0; i < sorted.length; i++) {
    while (sorted[i]! - sorted[j]! >= 1000) j += 1;
    sliding = Math.max(sliding, i - j + 1);
  }
  const bySecond = new Map<number, number>();
  for (const t of sorted) bySecond.set(Math.floor(t / 1000), (bySecond.get(Math.floor(t / 1000)) ?? 0) + 1);
  return { maxPerSecondSliding: sliding, maxPerCalendarSecond: Math.max(0, ...bySecond.values()) };
}
