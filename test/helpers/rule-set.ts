import { loadRules } from '../../src/moderation/rules-loader.js';
import type { RuleSet } from '../../src/moderation/types.js';

/** The rule set of one rules file holding `rules`; throws the problems of a set that does not load. */
export function ruleSetOf(rules: unknown[]): RuleSet {
  const { ruleSet, problems } = loadRules([{ path: 'rules.json', content: JSON.stringify(rules) }], []);
  if (!ruleSet) throw new Error(JSON.stringify(problems));
  return ruleSet;
}

/** A condition on the event's type. */
export const typeIs = (type: string) => ({ fact: 'event', path: '$.type', operator: 'equal', value: type });
