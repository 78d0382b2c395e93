import { table } from './commands/format.js';
import { summarizeShadowHits, type ShadowRuleSummary } from './moderation/shadow-summary.js';
import type { AuditFilter, AuditRecord, AuditStore } from './store/audit.js';

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

/** The summary for a terminal: one line per rule, then who it hit most. */
export function formatShadowSummary(summaries: readonly ShadowRuleSummary[]): string {
  if (summaries.length === 0) return 'Shadow hits per rule: none recorded for these filters.';
  const lines = [
    'Shadow hits per rule (what each shadow rule would have done, over every matching record):',
    table(
      ['rule', 'would', 'hits', 'participants', 'sessions', 'first seen', 'last seen', 'rule sets'],
      summaries.map((s) => [s.rule, s.actions.map((a) => (a === 'remove-participant' ? 'remove' : a)).join('/'), s.hits, s.participants, s.sessions, s.firstSeen, s.lastSeen, s.rulesVersions.join(', ')]),
    ),
    '',
    'Most hit participants:',
    table(
      ['rule', 'session', 'participant', 'hits'],
      summaries.flatMap((s) => s.top.map((t) => [s.rule, t.sessionId, t.participantId, t.hits])),
    ),
  ];
  return lines.join('\n');
}
