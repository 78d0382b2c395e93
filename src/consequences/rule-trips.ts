import type { Logger } from '../shared/logger.js';
import type { AuditStore } from '../store/audit.js';
import type { RuleBudgets, TrippedRule } from '../store/rule-budgets.js';

/** What re-arming a rule did. */
export interface RearmResult {
  rule: string;
  /** False when the rule was not tripped (nothing changed but its window, which starts empty). */
  rearmed: boolean;
  /** The trip it ended, when it was tripped. */
  tripped?: TrippedRule;
}

/**
 * Re-arms a rule tripped past its budget (`automod rules rearm`, `POST /v1/rules/:name/rearm`):
 * its window starts empty and its hits remove again. Recorded in the audit trail with who did it.
 * The items held for review while it was tripped stay for a moderator to decide.
 */
export async function rearmRule(
  deps: { budgets: Pick<RuleBudgets, 'rearm' | 'tripped'>; audit: Pick<AuditStore, 'append'>; logger: Logger; now?: () => number },
  rule: string,
  by: string,
): Promise<RearmResult> {
  const tripped = (await deps.budgets.tripped()).find((t) => t.rule === rule);
  const rearmed = await deps.budgets.rearm(rule);
  if (rearmed) {
    await deps.audit.append({
      at: new Date((deps.now ?? Date.now)()).toISOString(),
      kind: 'rule-rearmed',
      rule,
      outcome: 'rearmed',
      requestedBy: by,
      ...(tripped ? { detail: { trippedAt: tripped.at, budget: tripped.budget } } : {}),
    });
    deps.logger.warn({ rule, by }, 'rule re-armed: its hits remove again');
  }
  return { rule, rearmed, ...(rearmed && tripped ? { tripped } : {}) };
}
