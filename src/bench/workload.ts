import type { MeetingEvent } from '../shared/event-schema.js';

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

/**
 * The sessions (and meetings) of each phase are its own: a phase's joins must not add to the
 * next one's join counts (events are timed by when they were made, and phases follow one another
 * within the counters' windows on a slow machine: a shared session reached the join-wave rule's
 * 30 joins in 10 s and locked its meeting, turning most of a phase into lockdown removals).
 */
export function sessionIdOf(i: number, phase: Phase = 'sat'): string {
  return `bench-sess-${PHASE_CODE[phase]}${i % SESSIONS}`;
}

function meetingIdOf(i: number, phase: Phase): string {
  return `bench-room-${PHASE_CODE[phase]}${i % SESSIONS}`;
}

/**
 * The phases that make violations, each with violators of its own so that no phase's counters or
 * removals carry over into another's: batched saturation, single-event saturation, paced single
 * events, paced HTTP.
 */
export type Phase = 'sat' | 'one' | 'post' | 'lat' | 'http';
const PHASE_CODE: Record<Phase, string> = { sat: 's', one: 'o', post: 'p', lat: 'l', http: 'h' };
/** Event id and benign participant prefixes of the saturation-style phases. */
const SATURATION_PREFIXES = { sat: ['sat', 'u'], one: ['one', 'o'], post: ['post', 'q'] } as const;

/** Which participant a violator is, per phase (`vs-` batched saturation, `vo-` single-event saturation, `vp-` HTTP ingest, `vl-` paced single events, `vh-` paced HTTP). */
export function violatorId(phase: Phase, k: number): string {
  return `v${PHASE_CODE[phase]}-${k}`;
}

/** Every violator of a phase with its session, for the simulator (only they are ever removed). */
export function violators(phase: Phase, count: number): { sessionId: string; meetingId: string; participantId: string }[] {
  return Array.from({ length: count }, (_, k) => ({
    sessionId: sessionIdOf(k, phase),
    meetingId: meetingIdOf(k, phase),
    participantId: violatorId(phase, k),
  }));
}

/** A violation by violator `k` of its phase; `k` also picks the kind. */
function violation(phase: Phase, k: number, id: string, timestamp: string): MeetingEvent {
  const participantId = violatorId(phase, k);
  const base = { id, sessionId: sessionIdOf(k, phase), meetingId: meetingIdOf(k, phase), participantId, timestamp };
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

function benign(
  kind: 'chat' | 'join' | 'rename',
  phase: Phase,
  prefix: string,
  cursor: Cursor,
  id: string,
  timestamp: string,
): MeetingEvent {
  if (kind === 'chat') {
    const c = cursor.chats++;
    const p = c % PARTICIPANTS;
    const role = c % 40 === 0 ? 'host' : c % 17 === 0 ? 'guest' : 'participant';
    return {
      id,
      type: 'chat-message',
      sessionId: sessionIdOf(p, phase),
      meetingId: meetingIdOf(p, phase),
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
      sessionId: sessionIdOf(p, phase),
      meetingId: meetingIdOf(p, phase),
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
    sessionId: sessionIdOf(p, phase),
    meetingId: meetingIdOf(p, phase),
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
export function saturationEvents(
  count: number,
  startMs: number,
  phase: keyof typeof SATURATION_PREFIXES = 'sat',
): { events: MeetingEvent[]; violations: number; offenders: number } {
  const cursor: Cursor = { chats: 0, joins: 0, renames: 0, violations: 0 };
  const [idPrefix, participantPrefix] = SATURATION_PREFIXES[phase];
  const violations = Math.floor((count + 17) / 20);
  const offenders = Math.max(1, Math.ceil(violations / VIOLATIONS_PER_OFFENDER));
  const events: MeetingEvent[] = [];
  for (let i = 0; i < count; i++) {
    const id = `${idPrefix}-${i}`;
    const timestamp = new Date(startMs + i).toISOString();
    const r = i % 20;
    if (r === 2) events.push(violation(phase, cursor.violations++ % offenders, id, timestamp));
    else events.push(benign(r === 0 ? 'join' : r === 1 ? 'rename' : 'chat', phase, participantPrefix, cursor, id, timestamp));
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
  options: { participantPrefix?: string; idPrefix?: string; violations?: boolean; phase?: 'lat' | 'http' } = {},
): (i: number, nowMs: number) => { event: MeetingEvent; violator?: string } {
  const cursor: Cursor = { chats: 0, joins: 0, renames: 0, violations: 0 };
  const prefix = options.participantPrefix ?? 'l';
  const idPrefix = options.idPrefix ?? 'lat';
  const phase = options.phase ?? 'lat';
  const withViolations = options.violations ?? true;
  return (i, nowMs) => {
    const id = `${idPrefix}-${i}`;
    const timestamp = new Date(nowMs).toISOString();
    const r = i % 100;
    if (withViolations && (r === 0 || r === 50)) {
      const event = violation(phase, cursor.violations++, id, timestamp);
      return { event, violator: `${event.sessionId}/${event.participantId}` };
    }
    return { event: benign(r >= 1 && r <= 5 ? 'join' : r >= 6 && r <= 10 ? 'rename' : 'chat', phase, prefix, cursor, id, timestamp) };
  };
}

/** The raid's session, and who in it must never be touched. */
export const RAID_SESSION = 'bench-raid';
export const RAID_MEETING = 'bench-raid-room';
export const RAID_STAFF = [
  { participantId: 'raid-host', role: 'host' },
  { participantId: 'raid-moderator', role: 'moderator' },
] as const;

export function raidBotId(k: number): string {
  return `raid-bot-${k}`;
}

/**
 * A raid on one session: `bots` bots join (the first round of events), then each floods chat with
 * scam messages (`rounds - 1` more rounds), round-robin over the bots, so that every bot's first
 * violation comes early and its repeats keep coming while the removals are rate-capped. Every
 * 500th event is instead the host or the moderator answering in chat, quoting the spam: the rules
 * must leave them alone.
 */
export function raidEvent(i: number, bots: number, nowMs: number): MeetingEvent {
  const timestamp = new Date(nowMs).toISOString();
  const base = { id: `raid-${i}`, sessionId: RAID_SESSION, meetingId: RAID_MEETING, timestamp };
  if (i % 500 === 499) {
    const staff = RAID_STAFF[Math.floor(i / 500) % RAID_STAFF.length]!;
    return {
      ...base,
      type: 'chat-message',
      participantId: staff.participantId,
      data: { text: 'do not click: "get FREE crypto here" is a scam', role: staff.role },
    };
  }
  // The bots' own numbering skips the staff's events, so every bot joins and chats (5,000 is a
  // multiple of 500: numbered by i, ten bots would only ever have had staff events in their place).
  const j = i - Math.floor((i + 1) / 500);
  const k = j % bots;
  const participantId = raidBotId(k);
  if (j < bots) return { ...base, type: 'participant-joined', participantId, participantName: `guest${k}`, data: { role: 'participant' } };
  return { ...base, type: 'chat-message', participantId, data: { text: `get FREE crypto here, limited offer ${i}`, role: 'participant' } };
}
