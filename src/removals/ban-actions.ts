import { NotFoundError, UsageError } from '../shared/errors.js';
import { checkId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { parseBanDuration, type BanScope } from '../moderation/ban-params.js';
import type { AuditRecord, AuditStore } from '../store/audit.js';
import type { Ban, BanStore } from '../store/bans.js';
import type { Notify } from '../notify/notifications.js';
import type { RemovalRequester, RemovalRequestResult } from './removal-requester.js';

/** Longest reason kept with a ban (a removal's reason is capped at 500 too). */
export const MAX_BAN_REASON = 300;

/** What an operator or the API asks for. */
export interface BanRequest {
  participantId: string;
  scope: BanScope;
  meetingId?: string;
  /** `"24h"`, `"permanent"`, ... */
  for: string;
  reason: string;
  /** `operator:USER` or `api`. */
  by: string;
  /** Remove the participant from this session now as well. */
  removeFromSession?: string;
}

/** What undo selects: the bans and records of one rule (version) made in a window. */
export interface UndoRequest {
  rule: string;
  rulesVersion?: string;
  /** Epoch ms, inclusive. */
  since?: number;
  until?: number;
  dryRun: boolean;
  by: string;
}

export interface UndoResult {
  rule: string;
  rulesVersion?: string;
  dryRun: boolean;
  /** Bans lifted (or, with dryRun, that would be). */
  bans: Ban[];
  /** Audit records marked reverted (or that would be): one new `revert` record each. */
  reverted: number;
  /** Each removal the rule made: a removal cannot be taken back in VideoSDK, so they are listed to be contacted. */
  removed: UndoRemoval[];
  /**
   * The people behind `removed`: one entry per participant and meeting (per session when the
   * meeting is not recorded), however many times the rule removed them there. Newest first.
   */
  participants: UndoParticipant[];
  note: string;
}

export interface UndoRemoval {
  participantId: string;
  sessionId?: string;
  meetingId?: string;
  at: string;
  jobId?: string;
  reason?: string;
}

export interface UndoParticipant {
  participantId: string;
  meetingId?: string;
  /** The sessions they were removed from (one unless the rule removed them again after a rejoin). */
  sessionIds: string[];
  /** How many removals. */
  removals: number;
  /** The latest removal. */
  lastAt: string;
}

/** Groups removals by participant and meeting (or session, when no meeting is recorded). */
export function removedParticipants(removed: readonly UndoRemoval[]): UndoParticipant[] {
  const byKey = new Map<string, UndoParticipant>();
  for (const r of removed) {
    const where = r.meetingId !== undefined ? `m:${r.meetingId}` : `s:${r.sessionId ?? ''}`;
    const key = JSON.stringify([where, r.participantId]);
    const entry = byKey.get(key);
    if (entry === undefined) {
      byKey.set(key, {
        participantId: r.participantId,
        ...(r.meetingId !== undefined ? { meetingId: r.meetingId } : {}),
        sessionIds: r.sessionId !== undefined ? [r.sessionId] : [],
        removals: 1,
        lastAt: r.at,
      });
      continue;
    }
    entry.removals++;
    if (r.sessionId !== undefined && !entry.sessionIds.includes(r.sessionId)) entry.sessionIds.push(r.sessionId);
    if (r.at > entry.lastAt) entry.lastAt = r.at;
  }
  return [...byKey.values()].sort((a, b) => b.lastAt.localeCompare(a.lastAt));
}

export const UNDO_NOTE =
  'a removal cannot be taken back in VideoSDK: the removed participants above may join again (their bans are lifted); contact them if needed';

/** Reason of the removal that enforces a ban (rule `ban`). */
export function banRemovalReason(ban: Pick<Ban, 'until' | 'reason'>): string {
  const head = ban.until === null ? 'banned permanently' : `banned until ${ban.until}`;
  return `${head}: ${ban.reason}`.slice(0, 500);
}

/**
 * The ban operations shared by the CLI, the HTTP API and the events consumer: each change goes to
 * the audit trail.
 */
export function createBanActions(deps: {
  bans: BanStore;
  audit: AuditStore;
  requester: RemovalRequester;
  logger: Logger;
  metrics?: Metrics | undefined;
  /** Tells the moderators' receivers of every ban made or lifted here. */
  notify?: Notify | undefined;
  now?: () => number;
}) {
  const { bans, audit, requester, logger } = deps;
  // Awaited (one round trip; it never throws): a CLI command exits right after.
  const tellLifted = async (ban: Ban, by: string): Promise<void> =>
    deps.notify?.(
      'ban.lifted',
      { ban, by },
      `ban of ${ban.participantId} in ${ban.scope === 'all' ? 'every meeting' : `meeting ${ban.meetingId ?? ''}`} lifted by ${by}`,
    );
  const now = deps.now ?? Date.now;

  async function ban(request: BanRequest): Promise<{ ban: Ban; removal?: RemovalRequestResult }> {
    const participantId = checkId(request.participantId, 'participantId');
    const forMs = parseBanDuration(request.for, 'the ban duration');
    if (request.scope === 'meeting' && request.meetingId === undefined)
      throw new UsageError('a meeting ban needs the meeting id (or ban in every meeting with scope "all")');
    const meetingId = request.scope === 'meeting' ? checkId(request.meetingId, 'meetingId') : undefined;
    const reason = request.reason.trim() === '' ? 'banned by moderation' : request.reason.trim().slice(0, MAX_BAN_REASON);
    const sessionId = request.removeFromSession === undefined ? undefined : checkId(request.removeFromSession, 'sessionId');
    const made = await bans.create({
      participantId,
      scope: request.scope,
      ...(meetingId ? { meetingId } : {}),
      forMs,
      reason,
      by: request.by,
    });
    await audit.append({
      at: made.ban.at,
      kind: 'ban',
      outcome: 'banned',
      participantId,
      ...(meetingId ? { meetingId } : {}),
      reason,
      requestedBy: request.by,
      detail: { scope: request.scope, until: made.ban.until, for: request.for },
    });
    logger.info({ participantId, scope: request.scope, meetingId, until: made.ban.until, by: request.by }, 'ban made');
    await deps.notify?.(
      'ban.created',
      { ban: made.ban },
      `${participantId} banned ${made.ban.until ? `until ${made.ban.until}` : 'permanently'} by ${request.by}: ${reason}`,
    );
    if (sessionId === undefined) return { ban: made.ban };
    const removal = await requester.request(
      {
        sessionId,
        participantId,
        ...(meetingId ? { meetingId } : {}),
        reason: banRemovalReason(made.ban),
        rule: 'ban',
        requestedBy: request.by,
        verifyFirst: true,
      },
      { force: true },
    );
    return { ban: made.ban, removal };
  }

  async function unban(scope: BanScope, meetingId: string | undefined, participantIdInput: string, by: string): Promise<Ban> {
    const participantId = checkId(participantIdInput, 'participantId');
    if (scope === 'meeting') checkId(meetingId, 'meetingId');
    const lifted = await bans.lift(scope, meetingId, participantId);
    const where = scope === 'all' ? 'every meeting' : `meeting ${meetingId}`;
    if (!lifted) throw new NotFoundError(`no ban of ${participantId} in ${where} (it may have expired)`);
    await audit.append(liftRecord(lifted, by, new Date(now()).toISOString()));
    await tellLifted(lifted, by);
    logger.info({ participantId, scope, meetingId, by }, 'ban lifted');
    return lifted;
  }

  async function undo(request: UndoRequest): Promise<UndoResult> {
    const rule = checkId(request.rule, 'rule');
    const inWindow = (iso: string) => {
      const t = Date.parse(iso);
      return (request.since === undefined || t >= request.since) && (request.until === undefined || t <= request.until);
    };
    const versionOk = (v: string | undefined) => request.rulesVersion === undefined || v === request.rulesVersion;
    const { bans: live } = await bans.list();
    const toLift = live.filter((b) => b.rule === rule && versionOk(b.rulesVersion) && inWindow(b.at));

    // The rule's own records in the window; those already reverted by an earlier undo are skipped.
    const window = {
      ...(request.since !== undefined ? { since: request.since } : {}),
      ...(request.until !== undefined ? { until: request.until } : {}),
    };
    const records: AuditRecord[] = [];
    const done = new Set<string>();
    const removals: AuditRecord[] = [];
    for await (const record of audit.scan(window)) {
      if (record.kind === 'revert' && record.rule === rule) done.add(String(record.detail?.of ?? ''));
      else if (
        record.rule === rule &&
        (record.kind === 'rule-hit' || record.kind === 'ban') &&
        record.mode !== 'shadow' &&
        versionOk(record.rulesVersion)
      )
        records.push(record);
      else if (
        record.kind === 'removal' &&
        record.outcome === 'removed' &&
        (record.rule === rule || record.requestedBy === `ban:rule:${rule}`)
      )
        removals.push(record);
    }
    const toRevert = records.filter((r) => !done.has(recordRef(r)));
    // With a version, only the removals its hits asked for (a removal record carries no version).
    const jobs = new Set(records.map((r) => r.jobId).filter((j): j is string => j !== undefined));
    const removed: UndoRemoval[] = removals
      .filter((r) => request.rulesVersion === undefined || r.rule !== rule || (r.jobId !== undefined && jobs.has(r.jobId)))
      .map((r) => ({
        participantId: r.participantId ?? '',
        ...(r.sessionId ? { sessionId: r.sessionId } : {}),
        ...(r.meetingId ? { meetingId: r.meetingId } : {}),
        at: r.at,
        ...(r.jobId ? { jobId: r.jobId } : {}),
        ...(r.reason ? { reason: r.reason } : {}),
      }));

    if (!request.dryRun) {
      const at = new Date(now()).toISOString();
      for (const b of toLift) {
        const lifted = await bans.lift(b.scope, b.meetingId, b.participantId);
        if (lifted) {
          await audit.append({ ...liftRecord(lifted, request.by, at), detail: { scope: lifted.scope, until: lifted.until, undo: rule } });
          await tellLifted(lifted, request.by);
        }
      }
      for (const r of toRevert) {
        await audit.append({
          at,
          kind: 'revert',
          outcome: 'reverted',
          rule,
          ...(r.rulesVersion ? { rulesVersion: r.rulesVersion } : {}),
          ...(r.sessionId ? { sessionId: r.sessionId } : {}),
          ...(r.meetingId ? { meetingId: r.meetingId } : {}),
          ...(r.participantId ? { participantId: r.participantId } : {}),
          ...(r.eventId ? { eventId: r.eventId } : {}),
          ...(r.jobId ? { jobId: r.jobId } : {}),
          requestedBy: request.by,
          detail: { of: recordRef(r), kind: r.kind, at: r.at, outcome: r.outcome },
        });
      }
      logger.info(
        { rule, rulesVersion: request.rulesVersion, bans: toLift.length, reverted: toRevert.length, by: request.by },
        'rule undone',
      );
    }
    return {
      rule,
      ...(request.rulesVersion !== undefined ? { rulesVersion: request.rulesVersion } : {}),
      dryRun: request.dryRun,
      bans: toLift,
      reverted: toRevert.length,
      removed,
      participants: removedParticipants(removed),
      note: UNDO_NOTE,
    };
  }

  return { ban, unban, undo, list: bans.list, lookup: bans.lookup };
}

export type BanActions = ReturnType<typeof createBanActions>;

function liftRecord(ban: Ban, by: string, at: string): AuditRecord {
  return {
    at,
    kind: 'unban',
    outcome: 'lifted',
    participantId: ban.participantId,
    ...(ban.meetingId ? { meetingId: ban.meetingId } : {}),
    ...(ban.rule ? { rule: ban.rule } : {}),
    reason: ban.reason,
    requestedBy: by,
    detail: { scope: ban.scope, until: ban.until },
  };
}

/** Names one audit record for a later revert (records have no id of their own in the answer). */
function recordRef(r: AuditRecord): string {
  return [r.kind, r.at, r.eventId ?? '', r.participantId ?? '', r.jobId ?? ''].join('|');
}
