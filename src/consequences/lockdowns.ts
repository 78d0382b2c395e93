import { ALL_DURATION_UNITS, parseDuration } from '../shared/duration.js';
import { ConflictError, NotFoundError, UsageError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { Notify } from '../notify/notifications.js';
import type { RemovalRequester } from '../removals/removal-requester.js';
import type { AuditStore } from '../store/audit.js';
import type { EndedSessions } from '../store/ended-sessions.js';
import type { Lockdown, LockdownMode, LockdownStore, NewLockdown } from '../store/lockdowns.js';
import type { VideoSdkClient } from '../videosdk/client.js';
import { parseSession, type SessionParticipant } from '../videosdk/session.js';

/** What an operator, the API or a rule asks for. */
export interface LockRequest {
  meetingId: string;
  forMs: number;
  mode: LockdownMode;
  reason: string;
  by: string;
  rule?: string;
  admit?: readonly string[];
  /** Who is admitted by join time (see `NewLockdown.cutoff`); by default the moment it begins. */
  cutoff?: NewLockdown['cutoff'];
  /** End the meeting's live session through VideoSDK as it begins. */
  endSession?: boolean;
  /**
   * The live session to make match (a rule's event's, or an operator's `--session`); else the one
   * the worker last saw a join in, else VideoSDK's live session of the room (v2).
   */
  sessionId?: string;
}

/** What locking did: the lockdown, whether it is new, and what it did to the meeting when new. */
export interface LockResult {
  lockdown: Lockdown;
  created: boolean;
  /** Runs once a new lockdown stands: the session ended, or the unadmitted purged. */
  effects: Promise<LockEffects>;
}

export interface LockEffects {
  sessionId?: string;
  /** The live session was ended through VideoSDK (everyone in it left at once). */
  sessionEnded?: boolean;
  /** Unadmitted participants found in the live session and asked to be removed (rule `lockdown`). */
  removals: number;
  /** Why nothing could be done to the meeting itself (no live session known, VideoSDK refused...). */
  note?: string;
}

/** The reason a removal of a locked-out participant carries (rule `lockdown`). */
export function lockdownRemovalReason(lockdown: Pick<Lockdown, 'reason' | 'until'>): string {
  return `meeting locked until ${lockdown.until}: ${lockdown.reason}`.slice(0, 500);
}

/**
 * Lockdowns (raid mode), as operators, the API and rules use them. While a meeting is locked only
 * admitted participants may get a join token (the gate) or stay: hosts and moderators, those
 * admitted by name, and those who first joined before the cutoff. When a lockdown begins, the
 * meeting is made to match: its live session is ended in one call (`endSession`), or the
 * unadmitted participants in it are removed with rule `lockdown` (no budget: the lockdown is the
 * decision). Every change goes to the audit trail and the moderators.
 */
export function createLockdownActions(deps: {
  lockdowns: LockdownStore;
  client: Pick<VideoSdkClient, 'getSession' | 'endSession' | 'findLiveSession'>;
  requester: Pick<RemovalRequester, 'requestMany'>;
  audit: Pick<AuditStore, 'append'>;
  /** Where an `endSession` lockdown notes the session it ends. */
  endedSessions?: Pick<EndedSessions, 'note' | 'forget'> | undefined;
  notify?: Notify | undefined;
  logger: Logger;
  metrics?: Metrics | undefined;
  now?: () => number;
}) {
  const { lockdowns, client, requester, audit, logger } = deps;
  const now = deps.now ?? Date.now;
  const at = () => new Date(now()).toISOString();

  async function lock(request: LockRequest): Promise<LockResult> {
    const { lockdown, created } = await lockdowns.lock({
      meetingId: request.meetingId,
      mode: request.mode,
      forMs: request.forMs,
      reason: request.reason,
      by: request.by,
      ...(request.rule !== undefined ? { rule: request.rule } : {}),
      ...(request.admit !== undefined ? { admit: request.admit } : {}),
      ...(request.cutoff !== undefined ? { cutoff: request.cutoff } : {}),
      ...(request.endSession ? { endSession: true } : {}),
    });
    if (!created) return { lockdown, created, effects: Promise.resolve({ removals: 0, note: 'the meeting was locked already' }) };
    logger.info(
      { meetingId: lockdown.meetingId, mode: lockdown.mode, until: lockdown.until, by: lockdown.by, rule: lockdown.rule },
      'meeting locked down',
    );
    // Made to match at once: in a raid every moment lets more in.
    const effects = settle(lockdown, request.sessionId).catch(async (err: unknown) => {
      logger.error({ err, meetingId: lockdown.meetingId }, 'could not make the locked meeting match its lockdown');
      const note = `could not reach VideoSDK: ${err instanceof Error ? err.message.slice(0, 200) : 'unknown error'}`;
      await audit
        .append({ at: at(), kind: 'lockdown', outcome: 'purge-failed', meetingId: lockdown.meetingId, reason: note })
        .catch(() => undefined);
      return { removals: 0, note };
    });
    await audit.append({
      at: lockdown.since,
      kind: 'lockdown',
      outcome: 'locked',
      meetingId: lockdown.meetingId,
      ...(request.sessionId !== undefined ? { sessionId: request.sessionId } : {}),
      ...(lockdown.rule !== undefined ? { rule: lockdown.rule } : {}),
      reason: lockdown.reason,
      requestedBy: lockdown.by,
      detail: {
        mode: lockdown.mode,
        until: lockdown.until,
        admitJoinedBefore: lockdown.admitJoinedBefore,
        endSession: request.endSession === true,
      },
    });
    void deps.notify?.(
      'lockdown.started',
      { lockdown },
      `Meeting ${lockdown.meetingId} locked (${lockdown.mode}) until ${lockdown.until} by ${lockdown.by}: ${lockdown.reason}`,
    );
    return { lockdown, created, effects };
  }

  /**
   * Makes the meeting match a new lockdown. The live session's time log first tells who joined
   * when (so regulars the worker never saw join are admitted by their real first join); then the
   * session is ended in one call, or the unadmitted still in it are asked to be removed.
   */
  async function settle(lockdown: Lockdown, knownSession: string | undefined): Promise<LockEffects> {
    const sessionId =
      knownSession ?? (await lockdowns.lastSession(lockdown.meetingId)) ?? (await client.findLiveSession(lockdown.meetingId));
    if (sessionId === undefined) {
      const note = 'no live session of the meeting is known: joins from now on are checked as they come';
      await audit.append({ at: at(), kind: 'lockdown', outcome: 'no-session', meetingId: lockdown.meetingId, reason: note });
      return { removals: 0, note };
    }
    // Noted before anything else: joins of this session handled from now on (a raid's keep
    // coming) and removals not yet sent are of people the end takes out.
    if (lockdown.endSession) await deps.endedSessions?.note(sessionId, Date.parse(lockdown.until) - now());
    const session = parseSession((await client.getSession(sessionId)).body);
    const present = (session?.participants ?? []).filter(isPresent);
    const checks = await lockdowns.check(
      present.map((p) => ({ meetingId: lockdown.meetingId, participantId: p.participantId, joinedAt: firstJoin(p) ?? now(), sessionId })),
    );
    if (lockdown.endSession) {
      try {
        await client.endSession({ roomId: lockdown.meetingId, sessionId });
      } catch (err) {
        await deps.endedSessions?.forget(sessionId).catch(() => undefined);
        throw err;
      }
      await audit.append({
        at: at(),
        kind: 'lockdown',
        outcome: 'session-ended',
        meetingId: lockdown.meetingId,
        sessionId,
        reason: lockdown.reason,
        requestedBy: lockdown.by,
        detail: { participants: present.length },
      });
      logger.warn({ meetingId: lockdown.meetingId, sessionId, participants: present.length }, 'locked meeting: live session ended');
      return { sessionId, sessionEnded: true, removals: 0 };
    }
    const out = present.filter((_, i) => checks[i]?.lockedOut !== undefined && checks[i]?.ban === undefined);
    const reason = lockdownRemovalReason(lockdown);
    const jobs = await requester.requestMany(
      out.map((p) => ({
        sessionId,
        participantId: p.participantId,
        meetingId: lockdown.meetingId,
        reason,
        rule: 'lockdown',
        requestedBy: `lockdown:${lockdown.by}`,
      })),
    );
    await audit.append({
      at: at(),
      kind: 'lockdown',
      outcome: 'purged',
      meetingId: lockdown.meetingId,
      sessionId,
      reason: lockdown.reason,
      requestedBy: lockdown.by,
      detail: { present: present.length, removals: jobs.filter((j) => !j.collapsed).length },
    });
    deps.metrics?.ruleHits.inc({ rule: 'lockdown', mode: 'enforce', action: 'remove-participant' }, out.length);
    return { sessionId, removals: out.length };
  }

  async function lift(meetingId: string, by: string): Promise<Lockdown> {
    const lifted = await lockdowns.lift(meetingId);
    if (!lifted) throw new NotFoundError(`meeting ${meetingId} is not locked`);
    await ended(lifted, by);
    return lifted;
  }

  /** Tells that a lockdown ended (lifted by someone, or its time was up). */
  async function ended(lockdown: Lockdown, by: string | undefined): Promise<void> {
    const how = by === undefined ? 'its time was up' : `lifted by ${by}`;
    await audit.append({
      at: at(),
      kind: 'lockdown',
      outcome: by === undefined ? 'ended' : 'lifted',
      meetingId: lockdown.meetingId,
      reason: lockdown.reason,
      ...(by !== undefined ? { requestedBy: by } : {}),
      detail: { mode: lockdown.mode, since: lockdown.since, until: lockdown.until },
    });
    void deps.notify?.(
      'lockdown.ended',
      { lockdown, ...(by !== undefined ? { by } : {}) },
      `Lockdown of meeting ${lockdown.meetingId} ended: ${how}`,
    );
    logger.info({ meetingId: lockdown.meetingId, by }, 'lockdown ended');
  }

  async function admit(meetingId: string, participantIds: readonly string[], by: string): Promise<{ admitted: number }> {
    if (participantIds.length === 0) throw new UsageError('give at least one participant id to admit');
    const added = await lockdowns.admit(meetingId, participantIds);
    if (added === undefined) throw new NotFoundError(`meeting ${meetingId} is not locked`);
    await audit.append({
      at: at(),
      kind: 'lockdown',
      outcome: 'admitted',
      meetingId,
      requestedBy: by,
      detail: { participantIds: participantIds.slice(0, 100), count: participantIds.length },
    });
    return { admitted: added };
  }

  /** Ends the lockdowns whose time is up: each is told once, by whichever worker takes it. */
  async function sweepEnded(): Promise<number> {
    const over = await lockdowns.takeEnded();
    for (const lockdown of over) await ended(lockdown, undefined);
    return over.length;
  }

  return { lock, lift, admit, sweepEnded, list: lockdowns.list, gate: lockdowns.gate };
}

export type LockdownActions = ReturnType<typeof createLockdownActions>;

/**
 * Who a lockdown admits by join time, as an operator writes it: an ISO time (those who first joined
 * before it), or a duration before the lockdown begins (`5m`). `name` is the option or field.
 */
export function parseAdmitJoinedBefore(value: string, name: string): { at: number } | { agoMs: number } {
  const ago = parseDuration(value, ALL_DURATION_UNITS);
  if (ago !== undefined) return { agoMs: ago };
  if (!/^\d{4}-\d{2}-\d{2}T/.test(value.trim()) || Number.isNaN(Date.parse(value)))
    throw new UsageError(`${name} must be an ISO time or a duration like "5m", got ${JSON.stringify(value.slice(0, 100))}`);
  return { at: Date.parse(value) };
}

/** A 409 for a meeting locked already (the HTTP API's answer to a second `POST /v1/lockdowns`). */
export function alreadyLocked(lockdown: Lockdown): ConflictError {
  return new ConflictError(`meeting ${lockdown.meetingId} is locked already (until ${lockdown.until}); lift it first to change it`);
}

function isPresent(p: SessionParticipant): boolean {
  const last = p.timelog.at(-1);
  return last === undefined || last.end === null;
}

/** When a participant first joined the session, by VideoSDK's time log. */
function firstJoin(p: SessionParticipant): number | undefined {
  const start = p.timelog[0]?.start;
  const t = start ? Date.parse(start) : Number.NaN;
  return Number.isNaN(t) ? undefined : t;
}
