import type { MeetingEvent } from '../shared/event-schema.js';

/** The fields every hit record of an event shares. */
export function hitRecord(event: MeetingEvent, at: string, rulesVersion: string) {
  return {
    at,
    kind: 'rule-hit',
    eventId: event.id,
    sessionId: event.sessionId,
    ...(event.meetingId ? { meetingId: event.meetingId } : {}),
    ...(event.participantId ? { participantId: event.participantId } : {}),
    rulesVersion,
  };
}
