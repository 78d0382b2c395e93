import type { RaidResult } from './raid.js';
import type { EndSessionRaidResult, ViolatorsResult } from './raid-story.js';
import type { TargetCheck } from './report.js';

/** What the raid's story is judged on (issue 21's targets). */
export interface RaidStory {
  raid: RaidResult;
  violators?: ViolatorsResult | undefined;
  endSessionRaid?: EndSessionRaidResult | undefined;
  /** Raw BullMQ's worker CPU per no-op job in the same run (µs), when measured. */
  rawCpuUsPerJob?: number | undefined;
}

const s = (ms: number | undefined) => (ms === undefined || Number.isNaN(ms) ? 'never' : `${(ms / 1000).toFixed(1)} s`);

/** The raid's targets: the time to the last removal against the floor, the gate, the violators, the end-session raid. */
export function raidStoryChecks(r: RaidStory): TargetCheck[] {
  const { raid, violators: v, endSessionRaid: e } = r;
  const checks: TargetCheck[] = [
    {
      name: 'raid: last removal within floor + 5 s',
      target: `<= ${s(raid.floorMs + 5000)} after the raid's first event (${raid.latencyMs} ms API)`,
      measured: `${s(raid.firstEventToLastRemovalMs)} (${s(raid.lastEventToLastRemovalMs)} after its last)`,
      pass: raid.firstEventToLastRemovalMs <= raid.floorMs + 5000 && raid.notRemoved === 0,
    },
    {
      name: 'gate: refusing within 1 s of the wave',
      target: '<= 1 s after the 30th join',
      measured:
        raid.waveToGateMs === undefined
          ? 'never refused'
          : `${Math.round(raid.waveToGateMs)} ms after the 30th join (${Math.round(raid.lockdownToGateMs ?? Number.NaN)} ms after the lockdown); ${raid.joinsAfterLockdownRemoved}/${raid.joinsAfterLockdown} later joiners removed`,
      pass: raid.waveToGateMs !== undefined && raid.waveToGateMs <= 1000 && raid.joinsAfterLockdownRemoved === raid.joinsAfterLockdown,
    },
    {
      name: 'gate: p99 at 1,000 checks/s',
      target: `<= 10 ms at ${Math.round(raid.gateLoad.checks / 5)} checks/s`,
      measured: `p50 ${raid.gateLoad.latency.p50} ms, p99 ${raid.gateLoad.latency.p99} ms, ${raid.gateLoad.errors} errors in ${raid.gateLoad.checks} (during the raid's events: p50 ${raid.gate.latency.p50} ms, p99 ${raid.gate.latency.p99} ms at ${Math.round(raid.gate.checks / (raid.durationMs / 1000))}/s)`,
      pass: raid.gateLoad.latency.p99 <= 10 && raid.gateLoad.errors === 0,
    },
  ];
  if (v) {
    checks.push({
      name: 'violators: cleared within floor + 2 s',
      target: `<= ${s(v.floorMs + 2000)} (${v.count} at ${v.capPerSec}/s, ${v.latencyMs} ms API)`,
      measured: `${s(v.clearedMs)}, ${v.removedOnce}/${v.count} once, at most ${v.maxPerSecondSliding} in any 1 s`,
      pass: v.clearedMs <= v.floorMs + 2000 && v.removedOnce === v.count && v.maxPerSecondSliding <= v.capPerSec,
    });
    if (r.rawCpuUsPerJob !== undefined && r.rawCpuUsPerJob > 0) {
      const ratio = v.workerCpuUsPerRemoval / r.rawCpuUsPerJob;
      checks.push({
        name: 'worker CPU per removal vs raw BullMQ per job',
        target: '<= 6 x',
        measured: `${ratio.toFixed(1)} x (${v.workerCpuUsPerRemoval} vs ${Math.round(r.rawCpuUsPerJob)} us; Redis ${v.redisCpuUsPerRemoval} us per removal)`,
        pass: ratio <= 6,
      });
    }
  }
  if (e) {
    checks.push({
      name: 'end-session raid: emptied in one call, rejoiners removed, admitted back',
      target: 'ended <= 1 s after the lockdown, 0 remove calls in it, every rejoiner removed, 0 admitted touched',
      measured: `ended ${e.sessionEndedAfterMs === undefined ? 'never' : `${Math.round(e.sessionEndedAfterMs)} ms`} after, ${e.removeCallsInEndedSession} remove calls in it; ${e.rejoinedRemoved}/${e.rejoined} rejoiners removed in ${s(e.rejoinsClearedMs)}; ${e.admittedRemoveCalls} calls for ${e.admitted} admitted`,
      pass:
        e.sessionEndedAfterMs !== undefined &&
        e.sessionEndedAfterMs <= 1000 &&
        e.removeCallsInEndedSession === 0 &&
        e.rejoinedRemoved === e.rejoined &&
        e.admittedRemoveCalls === 0,
    });
  }
  return checks;
}
