import type { MeetingEvent } from '../events/event-schema.js';

/** Sessions the events spread over, and benign participants per phase (round-robin over sessions). */
export const SESSIONS = 40;
export const PARTICIPANTS = 2000;

const BENIGN_TEXTS = [
  'hello everyone',
  'can you hear me?',
  'I think the slide deck is great, thanks for sharing it with us today',
  'ok',
  'brb 5 min',
  'Ça va? très bien merci',
  'could you share the link to the doc again please',
  'agreed, let us move on to the next item',
  'my video is frozen, rejoining',
  '+1',
  'what time is the follow-up meeting tomorrow?',
  'great point about the Q3 roadmap, Zoë',
];

/** The kinds of violation; each makes an enforced removal of its participant. */
const VIOLATIONS = ['banned-chat', 'impersonating-join', 'impersonating-rename', 'invite-link'] as const;

/** In the saturation mix each offender violates this often (spam repeats), always the same way. */
export const VIOLATIONS_PER_OFFENDER = 4;

export function sessionIdOf(i: number): string {
  return `bench-sess-${i % SESSIONS}`;
}

function meetingIdOf(i: number): string {
  return `bench-room-${i % SESSIONS}`;
}

/** Which participant a violator is, per phase (`vs-` saturation, `vl-` latency). */
export function violatorId(phase: 'sat' | 'lat', k: number): string {
  return `v${phase === 'sat' ? 's' : 'l'}-${k}`;
}

/** Every violator of a phase with its session, for the simulator (only they are ever removed). */
export function violators(phase: 'sat' | 'lat', count: number): { sessionId: string; meetingId: string; participantId: string }[] {
  return Array.from({ length: count }, (_, k) => ({
    sessionId: sessionIdOf(k),
    meetingId: meetingIdOf(k),
    participantId: violatorId(phase, k),
  }));
}

/** A violation by violator `k` of its phase; `k` also picks the kind. */
function violation(phase: 'sat' | 'lat', k: number, id: string, timestamp: string): MeetingEvent {
  const participantId = violatorId(phase, k);
  const base = { id, sessionId: sessionIdOf(k), meetingId: meetingIdOf(k), participantId, timestamp };
  switch (VIOLATIONS[k % VIOLATIONS.length]!) {
    case 'banned-chat':
      return { ...base, type: 'chat-message', data: { text: 'get FREE crypto here, limited offer', role: 'participant' } };
    case 'impersonating-join':
      return { ...base, type: 'participant-joined', participantName: 'Support Desk', data: { role: 'participant' } };
    case 'impersonating-rename':
      return {
        ...base,
        type: 'participant-renamed',
        participantName: `Guest ${k}`,
        data: { name: 'Admin (official)', role: 'participant' },
      };
    case 'invite-link':
      return { ...base, type: 'chat-message', data: { text: `free stuff at discord.gg/x${k}abc`, role: 'participant' } };
  }
}

/** Counters of one phase's generator: the n-th chat, join and rename pick participants round-robin. */
interface Cursor {
  chats: number;
  joins: number;
  renames: number;
  violations: number;
}

function benign(kind: 'chat' | 'join' | 'rename', prefix: string, cursor: Cursor, id: string, timestamp: string): MeetingEvent {
  if (kind === 'chat') {
    const c = cursor.chats++;
    const p = c % PARTICIPANTS;
    const role = c % 40 === 0 ? 'host' : c % 17 === 0 ? 'guest' : 'participant';
    return {
      id,
      type: 'chat-message',
      sessionId: sessionIdOf(p),
      meetingId: meetingIdOf(p),
      participantId: `${prefix}-${p}`,
      timestamp,
      data: { text: BENIGN_TEXTS[c % BENIGN_TEXTS.length]!, role },
    };
  }
  if (kind === 'join') {
    // Spread so that nobody joins often enough for the join-flood rule.
    const p = (cursor.joins++ * 7) % PARTICIPANTS;
    return {
      id,
      type: 'participant-joined',
      sessionId: sessionIdOf(p),
      meetingId: meetingIdOf(p),
      participantId: `${prefix}-${p}`,
      participantName: `User ${p}`,
      timestamp,
      data: { role: 'participant' },
    };
  }
  const p = (cursor.renames++ * 13) % PARTICIPANTS;
  return {
    id,
    type: 'participant-renamed',
    sessionId: sessionIdOf(p),
    meetingId: meetingIdOf(p),
    participantId: `${prefix}-${p}`,
    participantName: `User ${p}`,
    timestamp,
    data: { name: `User ${p} (laptop)`, role: 'participant' },
  };
}

/**
 * The saturation mix: 85 % benign chat, 5 % joins, 5 % renames, 5 % violations. Violations come
 * from offenders who each strike `VIOLATIONS_PER_OFFENDER` times, a few seconds apart, as spammers
 * do: the first hit removes them, the later ones collapse into that removal (or, for a rejoining
 * impersonator, ask again). Event times are 1 ms apart from `startMs`, so per-participant rates
 * of benign traffic stay well under the flood rules (about 4 chat messages per 10 s).
 */
export function saturationEvents(count: number, startMs: number): { events: MeetingEvent[]; violations: number; offenders: number } {
  const cursor: Cursor = { chats: 0, joins: 0, renames: 0, violations: 0 };
  const violations = Math.floor((count + 17) / 20);
  const offenders = Math.max(1, Math.ceil(violations / VIOLATIONS_PER_OFFENDER));
  const events: MeetingEvent[] = [];
  for (let i = 0; i < count; i++) {
    const id = `sat-${i}`;
    const timestamp = new Date(startMs + i).toISOString();
    const r = i % 20;
    if (r === 2) events.push(violation('sat', cursor.violations++ % offenders, id, timestamp));
    else events.push(benign(r === 0 ? 'join' : r === 1 ? 'rename' : 'chat', 'u', cursor, id, timestamp));
  }
  return { events, violations: cursor.violations, offenders };
}

/**
 * The paced mix, one event at a time: 2 % violations (each by a fresh participant, so each must
 * become one remove call), 5 % joins, 5 % renames, the rest chat. `violator` names the participant
 * whose removal the event should cause. Warm-up traffic uses its own participants and ids and no
 * violations.
 */
export function createPacedEvents(
  options: { participantPrefix?: string; idPrefix?: string; violations?: boolean } = {},
): (i: number, nowMs: number) => { event: MeetingEvent; violator?: string } {
  const cursor: Cursor = { chats: 0, joins: 0, renames: 0, violations: 0 };
  const prefix = options.participantPrefix ?? 'l';
  const idPrefix = options.idPrefix ?? 'lat';
  const withViolations = options.violations ?? true;
  return (i, nowMs) => {
    const id = `${idPrefix}-${i}`;
    const timestamp = new Date(nowMs).toISOString();
    const r = i % 100;
    if (withViolations && (r === 0 || r === 50)) {
      const event = violation('lat', cursor.violations++, id, timestamp);
      return { event, violator: `${event.sessionId}/${event.participantId}` };
    }
    return { event: benign(r >= 1 && r <= 5 ? 'join' : r >= 6 && r <= 10 ? 'rename' : 'chat', prefix, cursor, id, timestamp) };
  };
}
