import type { MeetingResolver } from '../consequences/meeting-resolver.js';
import type { MeetingEvent } from '../shared/event-schema.js';
import type { CheckInput, LockdownStore, ParticipantCheck } from '../store/lockdowns.js';
import { createTickBatcher } from '../store/tick-batcher.js';

/**
 * Each participant event's ban and lockdown (undefined for other events); joins and roles are
 * recorded on the way. The events of every job that asks in the same tick (a batch job's, or
 * single-event jobs in flight together) go in one script run, never split: one round trip for all.
 */
export function createParticipantChecks(lockdowns: Pick<LockdownStore, 'check'>, meetings: MeetingResolver) {
  const checkBatch = createTickBatcher<CheckInput[], ParticipantCheck[]>(
    async (groups) => {
      const answers = await lockdowns.check(groups.length === 1 ? groups[0]! : groups.flat());
      let at = 0;
      return groups.map((g) => answers.slice(at, (at += g.length)));
    },
    { maxBatch: 1000, weight: (group) => group.length },
  );

  return async (events: readonly MeetingEvent[]): Promise<(ParticipantCheck | undefined)[]> => {
    // An event without a meeting id is checked by the meeting its session is known to be in (no
    // I/O here); when none is known, only an every-meeting ban can match it.
    const asked: CheckInput[] = [];
    for (const e of events) {
      if (e.participantId === undefined) continue;
      const role = e.data.role;
      asked.push({
        meetingId: meetings.known(e),
        participantId: e.participantId,
        sessionId: e.sessionId,
        joinedAt: e.type === 'participant-joined' ? Date.parse(e.timestamp) : undefined,
        role: typeof role === 'string' ? role.toLowerCase() : undefined,
      });
    }
    if (asked.length === 0) return events.map(() => undefined);
    const found = await checkBatch(asked);
    let next = 0;
    return events.map((e) => (e.participantId === undefined ? undefined : found[next++]));
  };
}
