import { summarizeShadowHits, type ShadowRuleSummary } from '../moderation/shadow-summary.js';
import type { AuditFilter, AuditRecord, AuditStore } from '../store/audit.js';

/**
 * Summarises every shadow-mode rule hit in the audit trail that matches `filter` (session,
 * participant, rule, time range; its `limit` does not apply: the summary covers them all).
 */
export async function readShadowSummary(audit: AuditStore, filter: AuditFilter): Promise<ShadowRuleSummary[]> {
  const { limit: _limit, ...rest } = filter;
  const hits: AuditRecord[] = [];
  for await (const record of audit.scan({ ...rest, kind: 'rule-hit', mode: 'shadow' })) hits.push(record);
  return summarizeShadowHits(hits);
}
