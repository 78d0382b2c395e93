import type { MeetingEvent } from '../shared/event-schema.js';
import type { Logger } from '../shared/logger.js';
import type { RuleHit, RuleSet } from '../moderation/types.js';
import type { Notify } from '../notify/notifications.js';
import type { AuditStore } from '../store/audit.js';
import type { BanStore } from '../store/bans.js';
import { hitRecord } from './hit-record.js';
import type { MeetingResolver } from './meeting-resolver.js';

/** The bans removing rules ask for (`banFor`, `banScope`, `banHosts`): made, or simulated for shadow rules. */
export function createRuleBans(deps: {
  bans?: Pick<BanStore, 'create'> | undefined;
  audit: Pick<AuditStore, 'append'>;
  meetings: MeetingResolver;
  notify?: Notify | undefined;
  logger: Logger;
}) {
  const { audit, logger } = deps;

  /**
   * The ban a removing rule asks for (a host only when the rule says `banHosts`). A rule ban never
   * shortens a longer one already there. A meeting ban is keyed by the meeting, never by a session
   * id: without a meeting that can be found, no ban is made and the trail says why.
   */
  function made(event: MeetingEvent, hit: RuleHit, ruleSet: RuleSet, at: string): Promise<unknown>[] {
    const bans = deps.bans;
    const participantId = event.participantId;
    const ban = hit.action === 'remove-participant' ? ruleSet.rules.find((r) => r.name === hit.rule)?.ban : undefined;
    if (!bans || participantId === undefined || !ban) return [];
    const detail = { scope: ban.scope, for: ban.for };
    const isHost = typeof event.data.role === 'string' && event.data.role.toLowerCase() === 'host';
    const base = (meetingId: string | undefined) => ({
      ...hitRecord(event, at, ruleSet.version),
      kind: 'ban',
      rule: hit.rule,
      mode: hit.mode,
      ...(meetingId !== undefined ? { meetingId } : {}),
      reason: hit.reason,
      requestedBy: `rule:${hit.rule}`,
    });
    if (isHost && !ban.hosts) {
      return [
        audit.append({
          ...base(event.meetingId),
          outcome: 'refused-host',
          detail: { ...detail, why: 'the participant is a host and the rule does not say "banHosts": true' },
        }),
      ];
    }
    return [
      (async () => {
        const meetingId = ban.scope === 'meeting' ? await deps.meetings.resolve(event) : event.meetingId;
        if (ban.scope === 'meeting' && meetingId === undefined) {
          logger.warn({ rule: hit.rule, sessionId: event.sessionId, participantId }, 'no ban made: the meeting of the session is unknown');
          return audit.append({
            ...base(undefined),
            outcome: 'not-made',
            detail: { ...detail, why: 'the event has no meetingId and neither the recorded session nor VideoSDK named its meeting' },
          });
        }
        const { ban: made, created } = await bans.create(
          {
            participantId,
            scope: ban.scope,
            ...(ban.scope === 'meeting' ? { meetingId: meetingId! } : {}),
            forMs: ban.forMs,
            reason: hit.reason,
            rule: hit.rule,
            rulesVersion: ruleSet.version,
            by: `rule:${hit.rule}`,
          },
          { keepLonger: true },
        );
        if (created) {
          void deps.notify?.(
            'ban.created',
            { ban: made },
            `${participantId} banned ${made.until ? `until ${made.until}` : 'permanently'} by rule ${hit.rule}: ${hit.reason}`,
          );
        }
        return audit.append({ ...base(meetingId), outcome: created ? 'banned' : 'kept-longer', detail: { ...detail, until: made.until } });
      })(),
    ];
  }

  /** A shadow rule's ban, recorded as what it would have been (`would-ban`). */
  function simulated(event: MeetingEvent, hit: RuleHit, ruleSet: RuleSet, at: string): Promise<unknown>[] {
    const ban = hit.action === 'remove-participant' ? ruleSet.rules.find((r) => r.name === hit.rule)?.ban : undefined;
    if (!deps.bans || event.participantId === undefined || !ban) return [];
    return [
      audit.append({
        ...hitRecord(event, at, ruleSet.version),
        kind: 'ban',
        rule: hit.rule,
        mode: hit.mode,
        meetingId: deps.meetings.known(event) ?? event.sessionId,
        reason: hit.reason,
        requestedBy: `rule:${hit.rule}`,
        outcome: 'would-ban',
        detail: { scope: ban.scope, for: ban.for },
      }),
    ];
  }

  return { made, simulated };
}
