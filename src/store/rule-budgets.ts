import { formatBudget, type Budget } from '../shared/budget.js';
import type { Keys } from './keys.js';
import { createLuaScript } from './lua-script.js';
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

// KEYS[1]: tripped index, KEYS[2]: tripped details, then one window key per take. ARGV[1]: JSON
// [[rule, max, windowMs, member], ...]. Times come from Redis' clock, so every worker agrees on
// windows and trips whatever its own clock says. Answers one verdict per take: 1 ok, 0 tripped
// already, 2 tripped now.
const TAKE = createLuaScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local takes = cjson.decode(ARGV[1])
local out = {}
for i, take in ipairs(takes) do
  local rule, max, window, member = take[1], tonumber(take[2]), tonumber(take[3]), take[4]
  local key = KEYS[i + 2]
  local ends = tonumber(redis.call('ZSCORE', KEYS[1], rule) or '0')
  if ends > now then
    out[i] = 0
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local count = redis.call('ZCARD', key)
    if count < max then
      redis.call('ZADD', key, now, member)
      redis.call('PEXPIRE', key, window)
      out[i] = 1
    else
      redis.call('ZADD', KEYS[1], now + window, rule)
      redis.call('HSET', KEYS[2], rule, cjson.encode({ at = now, ['until'] = now + window, max = max, windowMs = window, count = count }))
      out[i] = 2
    end
  end
end
return out
`);

// KEYS: tripped index, tripped details, the rule's window. ARGV: rule. Answers 1 when it was tripped.
const REARM = createLuaScript(`
local was = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return was
`);

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
