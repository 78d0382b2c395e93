import type { MeetingEvent } from '../shared/event-schema.js';
import type { RuleHit, RuleSet } from '../moderation/types.js';
import type { AuditRecord } from '../store/audit.js';
import { hitRecord } from './hit-record.js';

/**
 * The simulated consequence of a shadow hit: what it would have done, recorded and nothing more
 * (a rule is watched in shadow mode before it is trusted to act). The audit trail, `automod
 * rules backtest` and the console's would-have counts read these records.
 */
export function simulatedRecords(event: MeetingEvent, hit: RuleHit, ruleSet: RuleSet, at: string): AuditRecord {
  return {
    ...hitRecord(event, at, ruleSet.version),
    rule: hit.rule,
    mode: hit.mode,
    action: hit.action,
    outcome: hit.action === 'review' ? 'would-review' : hit.action === 'lockdown' ? 'would-lockdown' : 'skipped-shadow',
    reason: hit.reason,
  };
}
