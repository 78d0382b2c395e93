import { randomBytes } from 'node:crypto';
import type { ApiVersion } from './routes.js';
import type { SimRoom, SimSession } from './types.js';

export type Participant = SimSession['participants'][number];

/** Where an answer object keeps the JSON it is sent as (see `view`). */
export const RAW_JSON = Symbol('raw JSON');
const PARTICIPANTS_MARK = `participants-${randomBytes(8).toString('hex')}`;

/** How the world's sessions and rooms read in VideoSDK's answers (v1 and v2 shapes, `links`). */
export function createViews({ rooms, url }: { rooms: ReadonlyMap<string, SimRoom>; url: () => string }) {
  /** Each participant's JSON as answers carry it, dropped whenever the participant changes. */
  const fragments = new WeakMap<Participant, string>();

  function links(roomId: string, sessionId?: string): Record<string, string> {
    const room = encodeURIComponent(roomId);
    return sessionId === undefined
      ? { get_room: `${url()}/v2/rooms/${room}`, get_session: `${url()}/v2/sessions/?roomId=${room}` }
      : { get_room: `${url()}/v2/rooms/${room}`, get_session: `${url()}/v2/sessions/${encodeURIComponent(sessionId)}` };
  }

  function view(session: SimSession, version: ApiVersion, participants = session.participants): Record<string, unknown> {
    const fields = (list: unknown): Record<string, unknown> => {
      const common = { start: session.start, end: session.end, participants: list };
      if (version === 'v1') return { id: session.id, meetingId: session.meetingId, ...common };
      const customRoomId = rooms.get(session.roomId)?.customRoomId;
      return {
        id: session.id,
        roomId: session.roomId,
        ...(customRoomId ? { customRoomId } : {}),
        ...common,
        // VideoSDK's types and its SDK call a closed session "ended".
        status: session.end === null ? 'ongoing' : 'ended',
        links: links(session.roomId, session.id),
      };
    };
    const answer = fields(participants.map(copyParticipant));
    // The answer as sent, from each participant's cached JSON: a raid's 5,000-participant session
    // is written for every remove answer, and a whole JSON.stringify of it each time held the
    // simulator to about 80 answers a second.
    const json = JSON.stringify(fields(PARTICIPANTS_MARK)).replace(
      `"${PARTICIPANTS_MARK}"`,
      () => `[${participants.map(participantJson).join(',')}]`,
    );
    Object.defineProperty(answer, RAW_JSON, { value: json, enumerable: false });
    return answer;
  }

  function participantJson(p: Participant): string {
    let json = fragments.get(p);
    if (json === undefined) {
      json = JSON.stringify(copyParticipant(p));
      fragments.set(p, json);
    }
    return json;
  }

  function roomView(room: SimRoom): Record<string, unknown> {
    return { ...copy(room), links: links(room.roomId) };
  }

  return {
    view,
    roomView,
    /** Drops a participant's cached JSON: called on every change to the participant. */
    forget(p: Participant): void {
      fragments.delete(p);
    },
  };
}

export type Views = ReturnType<typeof createViews>;

export function copy<T>(value: T): T {
  return structuredClone(value);
}

/**
 * A participant as an answer carries it, copied field by field: every session answer lists all
 * participants, and `structuredClone` of a raid's 5,000 cost the simulator more than the worker's
 * whole removal path.
 */
function copyParticipant(p: Participant): Participant {
  return { participantId: p.participantId, name: p.name, timelog: p.timelog.map((t) => ({ start: t.start, end: t.end })) };
}

export function isActive(p: Participant): boolean {
  const last = p.timelog.at(-1);
  return last !== undefined && last.end === null;
}
