import { randomBytes } from 'node:crypto';

/** Meetings full of events for the worker processes of the fault and cluster suites. */
export interface Workload {
  /** Every session's joins first (so the simulator's state matches), then the rest shuffled. */
  events: Record<string, unknown>[];
  /** `sessionId/participantId` of everyone a rule must remove. */
  intended: Set<string>;
  /** Participant ids for the live `blocked-participants` list. */
  blocked: string[];
  /** The sessions for the simulator, everyone in them already joined. */
  sessions: { id: string; room: string; participants: { participantId: string; name: string }[] }[];
}

/**
 * `sessions` sessions, each with a host called "Admin Host" (exempt), `guests` ordinary guests who
 * chat twice and `violators` violators of the three shipped kinds in turn: impersonators (a
 * staff-like name on join, then a staff-like rename), banned-word chatters, and blocklisted ids
 * (a live list). Each violator breaks rules 2-3 times; all of it collapses into one removal each.
 */
export function meetingWorkload(options: { sessions: number; guests: number; violators: number }): Workload {
  const joins: Record<string, unknown>[] = [];
  const later: Record<string, unknown>[] = [];
  const intended = new Set<string>();
  const blocked: string[] = [];
  const sessions: Workload['sessions'] = [];
  for (let s = 0; s < options.sessions; s++) {
    const id = randomBytes(12).toString('hex');
    const room = `room-${s}-${id.slice(0, 4)}`;
    const participants: { participantId: string; name: string }[] = [];
    let n = 0;
    const event = (type: string, participantId: string, participantName: string, data: Record<string, unknown>) => ({
      id: `${id}-${n++}`,
      type,
      meetingId: room,
      sessionId: id,
      participantId,
      participantName,
      data,
    });
    participants.push({ participantId: `host-${s}`, name: 'Admin Host' });
    joins.push(event('participant-joined', `host-${s}`, 'Admin Host', { role: 'host' }));
    later.push(event('chat-message', `host-${s}`, 'Admin Host', { role: 'host', text: 'Welcome, admin here' }));
    for (let i = 0; i < options.guests; i++) {
      const pid = `guest-${s}-${i}`;
      participants.push({ participantId: pid, name: `Guest ${i}` });
      joins.push(event('participant-joined', pid, `Guest ${i}`, { role: 'participant' }));
      later.push(event('chat-message', pid, `Guest ${i}`, { role: 'participant', text: 'good morning everyone' }));
      later.push(event('chat-message', pid, `Guest ${i}`, { role: 'participant', text: 'can you hear me?' }));
    }
    for (let i = 0; i < options.violators; i++) {
      // The kinds turn from violator to violator and from session to session.
      const kind = (s + i) % 3;
      const pid = kind === 2 ? `blocked-${s}-${i}` : `viol-${s}-${i}`;
      const name = kind === 0 ? `Admin ${i}` : `Viewer ${i}`;
      participants.push({ participantId: pid, name });
      intended.add(`${id}/${pid}`);
      if (kind === 2) blocked.push(pid);
      joins.push(event('participant-joined', pid, name, { role: 'participant' }));
      if (kind === 0) {
        later.push(event('participant-renamed', pid, name, { role: 'participant', name: 'Support Team' }));
        later.push(event('chat-message', pid, name, { role: 'participant', text: 'hello' }));
      } else if (kind === 1) {
        later.push(event('chat-message', pid, name, { role: 'participant', text: 'free crypto for everyone' }));
        later.push(event('chat-message', pid, name, { role: 'participant', text: 'crypto giveaway, click' }));
      } else {
        later.push(event('chat-message', pid, name, { role: 'participant', text: 'hi all' }));
        later.push(event('chat-message', pid, name, { role: 'participant', text: 'anyone here?' }));
      }
    }
    sessions.push({ id, room, participants });
  }
  // Chat and renames of every session interleaved.
  later.sort(() => Math.random() - 0.5);
  return { events: [...joins, ...later], intended, blocked, sessions };
}
