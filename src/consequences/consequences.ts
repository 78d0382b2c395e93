import { randomUUID } from 'node:crypto';
import type { MeetingEvent } from '../shared/event-schema.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import { formatBudget, type Budget } from '../shared/budget.js';
import { strikeRetentionSeconds, type EvaluationFacts, type ListSource, type RuleHit, type RuleSet } from '../moderation/types.js';
import type { Notify } from '../notify/notifications.js';
import { banRemovalReason } from '../removals/ban-actions.js';
import type { RemovalRequester, RemovalRequestResult } from '../removals/removal-requester.js';
import type { AuditRecord, AuditStore } from '../store/audit.js';
import type { Ban, BanStore } from '../store/bans.js';
import type { CounterStore } from '../store/counters.js';
import type { ReviewStore } from '../store/reviews.js';
import type { RuleBudgets } from '../store/rule-budgets.js';
import type { EndedSessions } from '../store/ended-sessions.js';
import type { Lockdown } from '../store/lockdowns.js';
import { lockdownRemovalReason, type LockdownActions } from './lockdowns.js';
import type { MeetingResolver } from './meeting-resolver.js';
import { createReviewHolder } from './review-holder.js';
import { createRuleBans } from './rule-bans.js';
import { hitRecord } from './hit-record.js';
import { simulatedRecords } from './simulated.js';

export interface ConsequencesDeps {
  requester: RemovalRequester;
  counters: Pick<CounterStore, 'recordStrikes'>;
  audit: AuditStore;
  /** Rule bans are made here; without a store they are not. */
  bans?: Pick<BanStore, 'create'> | undefined;
  /** Holds `review` hits (and hits past a rule's budget) for a moderator. */
  reviews?: Pick<ReviewStore, 'hold'> | undefined;
  /** Every removing rule's budget, shared by every worker; without it removals are not bounded. */
  budgets?: Pick<RuleBudgets, 'take' | 'refund'> | undefined;
  /** `AUTOMOD_RULE_BUDGET`: the budget of a removing rule that does not state its own. */
  defaultBudget: Budget;
  meetings: MeetingResolver;
  /** Lockdowns a `lockdown` rule makes; without them such hits are recorded only. */
  lockdowns?: Pick<LockdownActions, 'lock'> | undefined;
  /** Sessions a lockdown ended: their late joins need no removal. */
  endedSessions?: Pick<EndedSessions, 'has'> | undefined;
  notify?: Notify | undefined;
  logger: Logger;
  metrics?: Metrics | undefined;
  now?: () => number;
}

/** What a decided event led to: the removal asked for (or joined), if any. */
export interface Carried {
  removalJobId?: string;
}

/**
 * The consequences of rule hits, in one place: the event path decides *what* the hits are, this
 * module carries them out. Enforced hits act for real (a removal within the rule's budget, a ban,
 * a review item, a flag); shadow hits are simulated: recorded as what they would have done and
 * nothing else (`simulated.ts`). Every hit leaves an audit record, a metric and a log line.
 */
export function createConsequences(deps: ConsequencesDeps) {
  const { requester, counters, audit, logger, metrics } = deps;
  const now = deps.now ?? Date.now;
  const holdForReview = createReviewHolder(deps);
  const ruleBans = createRuleBans(deps);

  /**
   * The ban removal (rule `ban`): asked for at once, whatever the rules say, with every removal
   * guarantee. `receivedAt` is when the event was received (see `decided`).
   */
  async function banned(event: MeetingEvent, ban: Ban, rulesVersion: string, receivedAt?: number): Promise<string | undefined> {
    if (event.participantId === undefined) return undefined;
    const reason = banRemovalReason(ban);
    const removal = await requester.request(
      {
        sessionId: event.sessionId,
        participantId: event.participantId,
        ...(event.meetingId ? { meetingId: event.meetingId } : {}),
        reason,
        rule: 'ban',
        eventId: event.id,
        requestedBy: `ban:${ban.by}`,
      },
      { receivedAt },
    );
    const result = removal.collapsed ? 'collapsed' : 'queued';
    metrics?.removalRequests.inc({ result });
    metrics?.banRemovals.inc({ result });
    metrics?.ruleHits.inc({ rule: 'ban', mode: 'enforce', action: 'remove-participant' });
    await audit.append({
      ...hitRecord(event, new Date(now()).toISOString(), rulesVersion),
      rule: 'ban',
      mode: 'enforce',
      action: 'remove-participant',
      outcome: result,
      reason,
      jobId: removal.jobId,
      detail: { ban: { scope: ban.scope, until: ban.until, by: ban.by, ...(ban.rule ? { rule: ban.rule } : {}) } },
    });
    logger.info(
      { rule: 'ban', eventId: event.id, sessionId: event.sessionId, participantId: event.participantId, until: ban.until },
      'banned participant removed',
    );
    return removal.jobId;
  }

  /**
   * The removal of a participant who is not admitted to a locked meeting (rule `lockdown`): asked
   * for at once, whatever the rules say, with every removal guarantee and no budget (the lockdown
   * is the decision). `receivedAt` is when the event was received (see `decided`).
   */
  async function lockedOut(
    event: MeetingEvent,
    lockdown: Lockdown,
    rulesVersion: string,
    receivedAt?: number,
  ): Promise<string | undefined> {
    if (event.participantId === undefined) return undefined;
    const reason = lockdownRemovalReason(lockdown);
    if (await deps.endedSessions?.has(event.sessionId)) {
      // The lockdown ended this session: the participant left with it, and a rejoin comes in a new one.
      await audit.append({
        ...hitRecord(event, new Date(now()).toISOString(), rulesVersion),
        meetingId: lockdown.meetingId,
        rule: 'lockdown',
        mode: 'enforce',
        action: 'remove-participant',
        outcome: 'session-ended',
        reason,
      });
      return undefined;
    }
    const removal = await requester.request(
      {
        sessionId: event.sessionId,
        participantId: event.participantId,
        meetingId: lockdown.meetingId,
        reason,
        rule: 'lockdown',
        eventId: event.id,
        requestedBy: `lockdown:${lockdown.by}`,
      },
      { receivedAt },
    );
    const result = removal.collapsed ? 'collapsed' : 'queued';
    metrics?.removalRequests.inc({ result });
    metrics?.ruleHits.inc({ rule: 'lockdown', mode: 'enforce', action: 'remove-participant' });
    await audit.append({
      ...hitRecord(event, new Date(now()).toISOString(), rulesVersion),
      meetingId: lockdown.meetingId,
      rule: 'lockdown',
      mode: 'enforce',
      action: 'remove-participant',
      outcome: result,
      reason,
      jobId: removal.jobId,
      detail: { lockdown: { mode: lockdown.mode, until: lockdown.until, by: lockdown.by, admitJoinedBefore: lockdown.admitJoinedBefore } },
    });
    logger.info(
      { rule: 'lockdown', eventId: event.id, sessionId: event.sessionId, participantId: event.participantId, until: lockdown.until },
      'participant not admitted to a locked meeting removed',
    );
    return removal.jobId;
  }

  /**
   * Carries out the hits of one event: at most one removal (the highest-priority removing rule
   * whose budget admits it; a rule past its budget has its hit held for review instead), the bans
   * the removing rules ask for, a review item per review rule when nobody is being removed,
   * strikes, and one audit record per hit. The removal is asked for first: it is what is waited for.
   * `lists` are the lists the rules read (the words marked in a review's evidence). `receivedAt` is
   * when the event was received (ms; its events job's timestamp): a hit from an event received
   * after an earlier removal of the participant finished asks again instead of collapsing into it.
   */
  async function decided(
    event: MeetingEvent,
    hits: readonly RuleHit[],
    ruleSet: RuleSet,
    facts: EvaluationFacts,
    lists: ListSource,
    receivedAt?: number,
  ): Promise<Carried> {
    const at = new Date(now()).toISOString();
    const enforced = hits.filter((h) => h.mode === 'enforce');
    const participantId = event.participantId;

    const held = new Map<string, { id: string; created: boolean; tripped?: TripDetail }>();
    let removal: (RemovalRequestResult & { rule: string }) | undefined;
    if (participantId !== undefined) {
      for (const hit of enforced) {
        if (hit.action !== 'remove-participant') continue;
        const budget = ruleSet.rules.find((r) => r.name === hit.rule)?.budget ?? deps.defaultBudget;
        const asked = await requestWithin(event, hit, budget, receivedAt);
        if (asked.kind === 'removal') {
          removal = { ...asked.result, rule: hit.rule };
          break;
        }
        // Past its budget: a moderator decides, and the next removing rule (if any) may still act.
        const trip = { budget: formatBudget(budget), trippedNow: asked.kind === 'tripped-now' };
        held.set(hit.rule, { ...(await holdForReview(event, hit, ruleSet, facts, lists)), tripped: trip });
        if (trip.trippedNow) await tripped(event, hit, trip.budget, at);
      }
      if (removal) metrics?.removalRequests.inc({ result: removal.collapsed ? 'collapsed' : 'queued' });
      // A participant who is being removed needs no review; otherwise each review rule holds its hit.
      if (!removal) {
        if (deps.reviews) {
          for (const hit of enforced)
            if (hit.action === 'review') held.set(hit.rule, await holdForReview(event, hit, ruleSet, facts, lists));
        }
      }
    }

    // A lockdown is about the meeting: made once (a second firing while locked changes nothing).
    const locked = new Map<string, string>();
    for (const hit of enforced) if (hit.action === 'lockdown') locked.set(hit.rule, await lockFor(event, hit, ruleSet));

    const writes: Promise<unknown>[] = [];
    // A strike is a participant's own offence: a lockdown the event set off is not one. A rule
    // that a `ruleHits` counts has each of its enforced hits counted, whatever its action.
    const struck = enforced.filter((h) => h.action !== 'lockdown').map((h) => h.rule);
    const counted = enforced.filter((h) => ruleSet.countedRules.has(h.rule)).map((h) => h.rule);
    if ((struck.length > 0 || counted.length > 0) && participantId !== undefined) {
      writes.push(
        counters.recordStrikes(event, struck, strikeRetentionSeconds(ruleSet.strikeWindows), {
          rules: counted,
          keep: ruleSet.countedRules,
        }),
      );
    }
    for (const hit of hits) {
      if (hit.mode === 'shadow') writes.push(...ruleBans.simulated(event, hit, ruleSet, at));
      else if (!held.has(hit.rule)) writes.push(...ruleBans.made(event, hit, ruleSet, at));
    }
    for (const hit of hits) {
      metrics?.ruleHits.inc({ rule: hit.rule, mode: hit.mode, action: hit.action });
      const review = held.get(hit.rule);
      const record: AuditRecord =
        hit.mode === 'shadow'
          ? simulatedRecords(event, hit, ruleSet, at)
          : {
              ...hitRecord(event, at, ruleSet.version),
              rule: hit.rule,
              mode: hit.mode,
              action: hit.action,
              outcome: locked.get(hit.rule) ?? enforcedOutcome(hit, review !== undefined, removal),
              reason: hit.reason,
              ...(hit.action === 'remove-participant' && removal && !review ? { jobId: removal.jobId } : {}),
              ...(review
                ? {
                    detail: {
                      ...(review.id !== '' ? { reviewId: review.id, newItem: review.created } : {}),
                      ...(review.tripped ? { budget: review.tripped.budget, tripped: true } : {}),
                    },
                  }
                : {}),
            };
      // Sent in order on one connection, so the trail keeps the hits' order.
      writes.push(audit.append(record));
      logger.info(
        {
          rule: hit.rule,
          mode: hit.mode,
          action: hit.action,
          outcome: record.outcome,
          eventId: event.id,
          sessionId: event.sessionId,
          participantId,
        },
        'rule matched',
      );
    }
    await Promise.all(writes);
    return removal ? { removalJobId: removal.jobId } : {};
  }

  /**
   * Locks the event's meeting for a `lockdown` rule: those who first joined before the window the
   * rule counted over began are admitted (so the wave that set it off is not). Answers the hit's
   * outcome: `locked`, `already-locked`, or `not-actionable` when the meeting cannot be found.
   */
  async function lockFor(event: MeetingEvent, hit: RuleHit, ruleSet: RuleSet): Promise<string> {
    const rule = ruleSet.rules.find((r) => r.name === hit.rule)?.lockdown;
    const meetingId = await deps.meetings.resolve(event);
    if (!deps.lockdowns || !rule || meetingId === undefined) return 'not-actionable';
    const eventTime = Date.parse(event.timestamp);
    const result = await deps.lockdowns.lock({
      meetingId,
      forMs: rule.forMs,
      mode: rule.mode,
      reason: hit.reason,
      by: `rule:${hit.rule}`,
      rule: hit.rule,
      endSession: rule.endSession,
      sessionId: event.sessionId,
      cutoff: { at: eventTime - rule.windowMs },
    });
    // The meeting is made to match in the background: the event path does not wait for VideoSDK.
    void result.effects;
    return result.created ? 'locked' : 'already-locked';
  }

  /**
   * Asks for the removal within the rule's budget. The budget is asked first (a removal counts
   * from the moment it is asked for, so concurrent hits of a raid cannot all slip under it); a
   * request that collapses into a removal already under way gives its place back.
   */
  async function requestWithin(
    event: MeetingEvent,
    hit: RuleHit,
    budget: Budget,
    receivedAt: number | undefined,
  ): Promise<{ kind: 'removal'; result: RemovalRequestResult } | { kind: 'tripped' | 'tripped-now' }> {
    const member = randomUUID();
    const verdict = deps.budgets ? await deps.budgets.take({ rule: hit.rule, budget, member }) : 'ok';
    if (verdict !== 'ok') return { kind: verdict };
    const result = await requester.request(
      {
        sessionId: event.sessionId,
        participantId: event.participantId!,
        ...(event.meetingId ? { meetingId: event.meetingId } : {}),
        reason: hit.reason,
        rule: hit.rule,
        eventId: event.id,
        requestedBy: `rule:${hit.rule}`,
      },
      { receivedAt },
    );
    if (result.collapsed) await deps.budgets?.refund(hit.rule, member);
    return { kind: 'removal', result };
  }

  /** The rule just went past its budget: said once, loudly, to the trail, the log and the moderators. */
  async function tripped(event: MeetingEvent, hit: RuleHit, budget: string, at: string): Promise<void> {
    logger.error(
      { rule: hit.rule, budget, sessionId: event.sessionId },
      'RULE TRIPPED: past its removal budget; its hits are held for review until re-armed (automod rules rearm) or its window passes',
    );
    await audit.append({
      at,
      kind: 'rule-tripped',
      rule: hit.rule,
      outcome: 'tripped',
      sessionId: event.sessionId,
      ...(event.meetingId ? { meetingId: event.meetingId } : {}),
      reason: `more than ${budget} removals`,
      detail: { budget },
    });
    void deps.notify?.(
      'rule.tripped',
      { rule: hit.rule, budget, sessionId: event.sessionId, ...(event.meetingId ? { meetingId: event.meetingId } : {}) },
      `Rule ${hit.rule} tripped: more than ${budget} removals; its hits are held for review until re-armed (automod rules rearm ${hit.rule})`,
    );
  }

  return { banned, lockedOut, decided };
}

export type Consequences = ReturnType<typeof createConsequences>;

interface TripDetail {
  budget: string;
  trippedNow: boolean;
}

/** What an enforced hit came to. */
function enforcedOutcome(hit: RuleHit, held: boolean, removal: (RemovalRequestResult & { rule: string }) | undefined): string {
  if (held) return 'held-for-review';
  if (hit.action === 'flag') return 'flagged';
  if (removal === undefined) return 'not-actionable';
  return hit.action === 'review' || removal.collapsed ? 'collapsed' : 'queued';
}
