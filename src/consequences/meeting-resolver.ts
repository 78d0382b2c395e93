import type { MeetingEvent } from '../shared/event-schema.js';
import type { Logger } from '../shared/logger.js';
import type { SessionStore } from '../store/session-store.js';
import type { VideoSdkClient } from '../videosdk/client.js';
import { parseSession } from '../videosdk/session.js';

/** Sessions whose meeting is remembered; the least recently used are forgotten first. */
const MAX_REMEMBERED = 10_000;

/**
 * Which meeting a session belongs to. `meetingId` is optional in the event contract, but a ban in
 * "this meeting" must be keyed by the meeting (the rejoin's webhook and the token gate ask by
 * meeting id): a session id in its place bans nothing anyone looks up. Learned for free from
 * events that carry both ids; else read from what the worker recorded of the session, else from
 * VideoSDK.
 */
export function createMeetingResolver(deps: {
  sessions?: Pick<SessionStore, 'get'> | undefined;
  client?: Pick<VideoSdkClient, 'getSession'> | undefined;
  logger: Logger;
  max?: number;
}) {
  const max = deps.max ?? MAX_REMEMBERED;
  const known = new Map<string, string>();

  const remember = (sessionId: string, meetingId: string): void => {
    if (known.get(sessionId) === meetingId) return;
    known.delete(sessionId);
    known.set(sessionId, meetingId);
    if (known.size > max) known.delete(known.keys().next().value!);
  };

  const meetingOf = (session: unknown): string | undefined => {
    const parsed = parseSession(session);
    const id = parsed?.roomId ?? parsed?.meetingId;
    return id === undefined || id === '' ? undefined : id;
  };

  return {
    /** Learns the meeting of the event's session when the event names both (no I/O). */
    note(event: Pick<MeetingEvent, 'sessionId' | 'meetingId'>): void {
      if (event.meetingId !== undefined) remember(event.sessionId, event.meetingId);
    },

    /** The meeting of a session when already known (no I/O). */
    known(event: Pick<MeetingEvent, 'sessionId' | 'meetingId'>): string | undefined {
      return event.meetingId ?? known.get(event.sessionId);
    },

    /** The meeting of the event's session, asking Redis and then VideoSDK when needed; undefined when neither tells. */
    async resolve(event: Pick<MeetingEvent, 'sessionId' | 'meetingId'>): Promise<string | undefined> {
      const cached = event.meetingId ?? known.get(event.sessionId);
      if (cached !== undefined) return cached;
      try {
        const recorded = await deps.sessions?.get(event.sessionId);
        const fromRecord = recorded ? meetingOf(recorded.session) : undefined;
        if (fromRecord !== undefined) {
          remember(event.sessionId, fromRecord);
          return fromRecord;
        }
        const answer = await deps.client?.getSession(event.sessionId);
        const fromApi = answer ? meetingOf(answer.body) : undefined;
        if (fromApi !== undefined) remember(event.sessionId, fromApi);
        return fromApi;
      } catch (err) {
        deps.logger.warn({ err, sessionId: event.sessionId }, 'could not find the meeting of a session');
        return undefined;
      }
    },
  };
}

export type MeetingResolver = ReturnType<typeof createMeetingResolver>;
