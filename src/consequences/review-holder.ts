import type { MeetingEvent } from '../shared/event-schema.js';
import { evidenceText, matchedTerms } from '../moderation/matched-terms.js';
import type { EvaluationFacts, ListSource, RuleHit, RuleSet } from '../moderation/types.js';
import type { Notify } from '../notify/notifications.js';
import type { ReviewEvidence, ReviewStore } from '../store/reviews.js';

/**
 * Holds a hit for a moderator: makes (or adds this event as evidence to) the participant's pending
 * item for the rule, with the text the rule read, the words that matched and the counters.
 */
export function createReviewHolder(deps: {
  reviews?: Pick<ReviewStore, 'hold'> | undefined;
  notify?: Notify | undefined;
  now?: () => number;
}) {
  const now = deps.now ?? Date.now;
  return async (
    event: MeetingEvent,
    hit: RuleHit,
    ruleSet: RuleSet,
    facts: EvaluationFacts,
    lists: ListSource,
  ): Promise<{ id: string; created: boolean }> => {
    const reviews = deps.reviews;
    if (!reviews || event.participantId === undefined) return { id: '', created: false };
    const rule = ruleSet.rules.find((r) => r.name === hit.rule);
    const data = event.data as Record<string, unknown> | undefined;
    const text = typeof data?.text === 'string' ? data.text : event.type === 'participant-joined' ? event.participantName : undefined;
    const counts: Record<string, number> = { ...facts.eventCounts };
    for (const [window, n] of Object.entries(facts.strikes)) counts[`strikes:${window}`] = n;
    const { matched, folded } =
      text !== undefined && rule ? matchedTerms(rule.definition, text, lists) : { matched: [], folded: undefined };
    const evidence: ReviewEvidence = {
      at: event.timestamp,
      eventId: event.id,
      type: event.type,
      ...(text !== undefined ? { text: evidenceText(text) } : {}),
      ...(matched.length > 0 ? { matched } : {}),
      ...(folded !== undefined ? { folded } : {}),
      ...(Object.keys(counts).length > 0 ? { counts } : {}),
    };
    const input = {
      rule: hit.rule,
      reason: hit.reason,
      rulesVersion: ruleSet.version,
      ...(event.meetingId ? { meetingId: event.meetingId } : {}),
      sessionId: event.sessionId,
      participantId: event.participantId,
      ...(event.participantName ? { participantName: event.participantName } : {}),
    };
    const result = await reviews.hold(input, evidence, now());
    if (result.created) {
      void deps.notify?.(
        'review.created',
        { review: { id: result.id, ...input, evidence: [evidence] } },
        `Review needed: ${input.participantName ?? input.participantId} in session ${input.sessionId} (rule ${input.rule}: ${input.reason})`,
      );
    }
    return result;
  };
}
