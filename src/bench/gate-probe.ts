import { runPaced } from './pacer.js';
import { summarize, wallClockMs, type LatencySummary } from './stats.js';

/** What the gate answered while a raid ran. */
export interface GateProbeResult {
  checks: number;
  /** Client-side latency of `GET /v1/gate` (ms), keep-alive connections. */
  latency: LatencySummary;
  /** Checks that failed (no answer, or not 200). */
  errors: number;
  /** When a newcomer was first refused or sent to the waiting room (wall clock ms), if ever. */
  firstRefusalAt: number | undefined;
}

/**
 * Asks a worker's gate `ratePerSec` times a second, for `durationMs`, about a newcomer each time
 * (a participant id never seen, as a raid's next bot is): the latency a platform's token service
 * would see during the raid, and the moment the gate stopped letting newcomers in.
 */
export async function probeGate(options: {
  url: string;
  meetingId: string;
  ratePerSec: number;
  durationMs: number;
  /** Stops early (the raid is over). */
  until?: () => boolean;
}): Promise<GateProbeResult> {
  const latencies: number[] = [];
  let errors = 0;
  let firstRefusalAt: number | undefined;
  const done = options.until ?? (() => false);
  await runPaced({
    ratePerSec: options.ratePerSec,
    durationMs: options.durationMs,
    send: async (i) => {
      if (done()) return;
      const started = wallClockMs();
      try {
        const response = await fetch(
          `${options.url}/v1/gate?meetingId=${encodeURIComponent(options.meetingId)}&participantId=gate-probe-${i}`,
        );
        const body = (await response.json()) as { permission?: string | null };
        const answered = wallClockMs();
        latencies.push(answered - started);
        if (!response.ok) errors += 1;
        else if (body.permission !== 'allow_join') firstRefusalAt = Math.min(firstRefusalAt ?? Number.POSITIVE_INFINITY, started);
      } catch {
        errors += 1;
      }
    },
  });
  return { checks: latencies.length + errors, latency: summarize(latencies), errors, firstRefusalAt };
}

/** When the meeting's lockdown began (ms), from a worker's `GET /v1/lockdowns`; undefined when none stands. */
export async function lockdownSince(url: string, meetingId: string): Promise<number | undefined> {
  try {
    const body = (await (await fetch(`${url}/v1/lockdowns`)).json()) as { lockdowns?: { meetingId: string; since: string }[] };
    const since = body.lockdowns?.find((l) => l.meetingId === meetingId)?.since;
    return since === undefined ? undefined : Date.parse(since);
  } catch {
    return undefined;
  }
}
