import type { Services } from '../../app/services.js';
import type { Simulator } from '../../simulator/simulator.js';
import { sleep } from '../../shared/sleep.js';

/** Bots in the demo's raid: more than the `join-wave` rule's 30 joins within 10 seconds. */
const RAID_BOTS = 40;

/**
 * A raid on the demo's meeting: 40 bots join within two seconds. The shipped `join-wave` rule
 * locks the meeting at the 30th join (ask mode); the bots in the room are removed with rule
 * `lockdown`, and so are those whose joins come after; the host, the moderator and the regulars,
 * who joined before the wave, are admitted and untouched; the gate sends a new bot to the waiting
 * room. Answers the lines to print.
 */
export async function showRaid(input: {
  automodUrl: string;
  simulator: Simulator;
  services: Pick<Services, 'sessions' | 'lockdownActions'>;
  session: string;
  meeting: string;
  regulars: readonly { participantId: string; name: string }[];
}): Promise<string[]> {
  const { automodUrl, simulator, services, session, meeting, regulars } = input;
  const bots = Array.from({ length: RAID_BOTS }, (_, i) => `raid-bot-${String(i + 1).padStart(2, '0')}`);
  const t0 = Date.now();
  for (const bot of bots) simulator.join(session, bot, bot);
  await fetch(`${automodUrl}/v1/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(
      bots.map((bot, i) => ({
        id: `demo-raid-${t0}-${i}`,
        type: 'participant-joined',
        meetingId: meeting,
        sessionId: session,
        participantId: bot,
        participantName: bot,
        timestamp: new Date(t0 + i * 50).toISOString(),
      })),
    ),
  });
  const removedBots = async () =>
    new Set(
      ((await services.sessions.get(session))?.removals ?? [])
        .filter((r) => r.rule === 'lockdown' && r.outcome === 'removed')
        .map((r) => r.participantId),
    );
  const deadline = Date.now() + 20_000;
  while ((await removedBots()).size < bots.length && Date.now() < deadline) await sleep(100);
  const tookMs = Date.now() - t0;
  const lockdown = (await services.lockdownActions.list()).find((l) => l.meetingId === meeting);
  const removed = await removedBots();
  const stillIn = new Set(
    simulator
      .getSession(session)
      ?.participants.filter((p) => p.timelog.at(-1)?.end === null)
      .map((p) => p.participantId) ?? [],
  );
  const gate = await fetch(`${automodUrl}/v1/gate?meetingId=${meeting}&participantId=raid-bot-99`);
  const lines = [
    `\nA raid: ${bots.length} bots join ${meeting} within ${((bots.length - 1) * 50) / 1000} s.`,
    lockdown
      ? `Rule ${lockdown.rule ?? '?'} locked the meeting (${lockdown.mode} mode) until ${lockdown.until}: ${lockdown.reason}.`
      : 'The meeting was not locked.',
    `${removed.size} of ${bots.length} bots removed (rule "lockdown") ${tookMs} ms after the wave began; ${bots.filter((b) => stillIn.has(b)).length} still in.`,
    `Untouched: ${regulars
      .filter((r) => stillIn.has(r.participantId))
      .map((r) => r.name)
      .join(', ')}.`,
    `The gate for a new bot, GET /v1/gate: ${JSON.stringify(await gate.json())}`,
  ];
  return lines;
}
