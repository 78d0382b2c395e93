import { formatBudget, type Budget } from '../shared/budget.js';
import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';
import { createTickBatcher } from './tick-batcher.js';

/** One removal a rule asks for, to be counted against its budget. */
export interface BudgetTake {
  rule: string;
  budget: Budget;
  /** Names the removal in the rule's window (its job id), so a refund takes out exactly it. */
  member: string;
}

/**
 * What the budget said: `ok` (counted), `tripped` (the rule was tripped already: held), or
 * `tripped-now` (this removal was one too many: the rule trips now, held, and whoever asked tells
 * the moderators, once).
 */
export type BudgetVerdict = 'ok' | 'tripped' | 'tripped-now';

/** A tripped rule, as `automod status`, `/metrics` and the rearm answer show it. */
export interface TrippedRule {
  rule: string;
  /** ISO time it tripped. */
  at: string;
  /** ISO time it arms itself again (its window passed) unless re-armed by hand before. */
  until: string;
  /** The budget it went past, as `N/Ss`. */
  budget: string;
}

const TAKE = luaScript('take-budgets-n');
const REARM = luaScript('rearm-rule-3');

/** The rule budgets in Redis: every worker counts a rule's removals in the same window. */
export function createRuleBudgets({
  redis,
  keys,
}: {
  redis: RedisClient;
  keys: Pick<Keys, 'ruleBudget' | 'rulesTripped' | 'rulesTrippedDetail'>;
}) {
  // The removals one raid asks for at once share a script run: a batch of events costs one
  // command for all its removers' budgets, not one each.
  const take = createTickBatcher<BudgetTake, BudgetVerdict>(
    async (takes) => {
      const reply = (await TAKE.run(
        redis,
        [keys.rulesTripped(), keys.rulesTrippedDetail(), ...takes.map((t) => keys.ruleBudget(t.rule))],
        [JSON.stringify(takes.map((t) => [t.rule, t.budget.max, t.budget.windowMs, t.member]))],
      )) as number[];
      return reply.map((v) => (v === 1 ? 'ok' : v === 2 ? 'tripped-now' : 'tripped'));
    },
    { maxBatch: 500 },
  );

  return {
    /** Counts one removal against the rule's budget, unless the rule is (or now becomes) tripped. */
    take,

    /** Gives back a counted removal that was not made after all (it collapsed into another). */
    async refund(rule: string, member: string): Promise<void> {
      await redis.zrem(keys.ruleBudget(rule), member);
    },

    /** Arms a tripped rule again with an empty window; answers whether it was tripped. */
    async rearm(rule: string): Promise<boolean> {
      return (await REARM.run(redis, [keys.rulesTripped(), keys.rulesTrippedDetail(), keys.ruleBudget(rule)], [rule])) === 1;
    },

    /** The rules tripped now (by Redis' clock), soonest to arm again first. */
    async tripped(): Promise<TrippedRule[]> {
      const time = await redis.time();
      const nowMs = Number(time[0]) * 1000 + Math.floor(Number(time[1]) / 1000);
      const rules = await redis.zrangebyscore(keys.rulesTripped(), `(${nowMs}`, '+inf');
      if (rules.length === 0) return [];
      const details = await redis.hmget(keys.rulesTrippedDetail(), ...rules);
      return rules.map((rule, i) => {
        const d = parseDetail(details[i]);
        return {
          rule,
          at: new Date(d.at).toISOString(),
          until: new Date(d.until).toISOString(),
          budget: formatBudget({ max: d.max, windowMs: d.windowMs }),
        };
      });
    },
  };
}

export type RuleBudgets = ReturnType<typeof createRuleBudgets>;

function parseDetail(raw: string | null | undefined): { at: number; until: number; max: number; windowMs: number } {
  try {
    const d = JSON.parse(raw ?? '{}') as Record<string, unknown>;
    return { at: Number(d.at) || 0, until: Number(d.until) || 0, max: Number(d.max) || 0, windowMs: Number(d.windowMs) || 0 };
  } catch {
    return { at: 0, until: 0, max: 0, windowMs: 0 };
  }
}
