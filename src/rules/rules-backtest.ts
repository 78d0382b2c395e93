import { InvalidEventError } from '../shared/errors.js';
import { parseEvent } from '../shared/event-schema.js';
import { runBacktest, type BacktestReport, type LoggedDecision } from '../moderation/backtest.js';
import { createStaticListSource } from '../moderation/list-source.js';
import type { RuleSet } from '../moderation/types.js';
import type { EventLog } from '../store/event-log.js';
import type { ListStore } from '../store/lists.js';

/** What `backtestFromLog` reads. */
export interface BacktestSources {
  eventLog: EventLog;
  /** Live lists, merged with the candidate's own `lists/*.txt` as the worker merges them. */
  lists?: ListStore;
}

/**
 * Backtests `candidate` against the processed-event log in Redis: entries processed from `since`
 * (ms) to `until` are compared; entries up to the candidate's longest window before `since` only
 * warm the counters up. Nothing is written.
 */
export async function backtestFromLog(
  sources: BacktestSources,
  candidate: RuleSet,
  range: { since: number; until?: number },
): Promise<BacktestReport> {
  const live = sources.lists ? (await sources.lists.loadAll()).lists : new Map<string, string[]>();
  const lists = new Map<string, readonly string[]>(live);
  for (const [name, values] of candidate.fileLists) lists.set(name, [...new Set([...values, ...(live.get(name) ?? [])])]);
  const longestSeconds = Math.max(0, ...candidate.counterSpecs.map((c) => c.windowSeconds), ...candidate.strikeWindows);
  const records = sources.eventLog.read({
    since: range.since - longestSeconds * 1000,
    ...(range.until === undefined ? {} : { until: range.until }),
  });
  async function* decisions(): AsyncIterable<LoggedDecision | { invalid: string }> {
    for await (const record of records) {
      try {
        const event = parseEvent(record.event, new Date(record.at));
        yield { at: record.at, event, hits: record.hits, rulesVersion: record.rulesVersion };
      } catch (err) {
        if (!(err instanceof InvalidEventError)) throw err;
        yield { invalid: err.message };
      }
    }
  }
  return runBacktest(candidate, decisions(), { lists: createStaticListSource(lists), since: range.since });
}
