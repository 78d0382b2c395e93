import { z } from 'zod';
import { parseBanDuration } from '../moderation/ban-params.js';
import { ConflictError, NotFoundError, UsageError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Metrics } from '../shared/metrics.js';
import type { Notify } from '../notify/notifications.js';
import type { BanActions } from './ban-actions.js';
import type { AuditStore } from '../store/audit.js';
import type { ReviewItem, ReviewStore } from '../store/reviews.js';
import type { RemovalRequester } from './removal-requester.js';

/** The body of `POST /v1/reviews/:id/approve` and `.../dismiss` (unknown fields refused). */
export const decisionBodySchema = z.strictObject({
  note: z.string().max(500, 'must be at most 500 characters').optional(),
  ban: z.string().max(20).optional(),
  // Who decided is the caller's token (`token:<name>`), never a name typed beside it.
  by: z.never({ error: 'is not taken: the token names who decides (recorded as token:<name>)' }).optional(),
});
export type DecisionBody = z.infer<typeof decisionBodySchema>;

export interface ReviewDecisionDeps {
  reviews: ReviewStore;
  requester: RemovalRequester;
  audit: AuditStore;
  notify?: Notify;
  /** Makes the ban an approval asks for (`--ban 24h`): in the item's meeting, by the moderator. */
  bans?: Pick<BanActions, 'ban'> | undefined;
  metrics?: Metrics | undefined;
  logger: Logger;
  now?: () => number;
}

/**
 * A moderator's decision on a review item. Approve asks for a removal exactly as the rule would
 * have (its reason and rule, requested by the moderator) and, when asked, bans the participant in
 * the item's meeting (every meeting when the item has none); dismiss closes the item. The item changes state in one Redis script, so a
 * second decision (another moderator, a double click) is refused, never applied.
 */
export function createReviewDecisions(deps: ReviewDecisionDeps) {
  const { reviews, requester, audit, logger, metrics } = deps;
  const now = deps.now ?? Date.now;

  async function decide(
    id: string,
    action: 'approve' | 'dismiss',
    options: { by: string; note?: string | undefined; ban?: string | undefined },
  ): Promise<{ review: ReviewItem; removalJobId?: string }> {
    if (options.ban !== undefined) {
      if (action === 'dismiss') throw new UsageError('ban: only an approval can ban');
      parseBanDuration(options.ban, 'ban');
    }
    const at = new Date(now()).toISOString();
    const state = action === 'approve' ? 'approved' : 'dismissed';
    const result = await reviews.decide(
      id,
      { state, by: options.by, at, ...(options.note ? { note: options.note } : {}), ...(options.ban ? { ban: options.ban.trim() } : {}) },
      now(),
    );
    if (!result.ok) {
      if (result.reason === 'missing') throw new NotFoundError(`no review item ${id}`);
      throw new ConflictError(
        result.reason === 'expired'
          ? `review item ${id} has expired: it can no longer be decided`
          : `review item ${id} is already ${result.reason}`,
      );
    }
    const item = (await reviews.get(id, now()))!;
    let removalJobId: string | undefined;
    if (action === 'approve') {
      try {
        const removal = await requester.request({
          sessionId: item.sessionId,
          participantId: item.participantId,
          ...(item.meetingId ? { meetingId: item.meetingId } : {}),
          reason: item.reason,
          rule: item.rule,
          ...(item.evidence[0]?.eventId ? { eventId: item.evidence[0].eventId } : {}),
          requestedBy: options.by,
        });
        removalJobId = removal.jobId;
        await reviews.setRemovalJob(id, removalJobId);
        item.removalJobId = removalJobId;
        if (item.ban && deps.bans) {
          await deps.bans.ban({
            participantId: item.participantId,
            ...(item.meetingId ? { scope: 'meeting' as const, meetingId: item.meetingId } : { scope: 'all' as const }),
            for: item.ban,
            reason: item.reason,
            by: options.by,
          });
        }
      } catch (err) {
        // No removal was queued: the item goes back to pending so that someone can approve again.
        await reviews.undoApproval(id, at).catch(() => undefined);
        throw err;
      }
    }
    metrics?.reviewDecisions.observe({ decision: state }, Math.max(0, now() - Date.parse(item.createdAt)) / 1000);
    await audit.append({
      at,
      kind: 'review',
      rule: item.rule,
      action,
      outcome: state,
      sessionId: item.sessionId,
      participantId: item.participantId,
      ...(item.meetingId ? { meetingId: item.meetingId } : {}),
      ...(removalJobId ? { jobId: removalJobId } : {}),
      reason: item.reason,
      requestedBy: options.by,
      detail: { reviewId: id, ...(options.note ? { note: options.note } : {}), ...(item.ban ? { ban: item.ban } : {}) },
    });
    logger.info({ reviewId: id, decision: state, by: options.by, rule: item.rule, removalJobId }, 'review decided');
    return { review: item, ...(removalJobId ? { removalJobId } : {}) };
  }

  return { decide };
}

export type ReviewDecisions = ReturnType<typeof createReviewDecisions>;
