import { table } from './commands/format.js';
import { InvalidEventError } from './errors.js';
import { parseEvent } from './events/event-schema.js';
import { runBacktest, type BacktestReport, type Change, type Effect, type LoggedDecision, type SubjectDiff } from './moderation/backtest.js';
import { createStaticListSource } from './moderation/list-source.js';
import type { RuleSet } from './moderation/types.js';
import type { EventLog } from './store/event-log.js';
import type { ListStore } from './store/lists.js';

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
  const records = sources.eventLog.read({ since: range.since - longestSeconds * 1000, ...(range.until === undefined ? {} : { until: range.until }) });
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

const EFFECT_TITLES: Record<Effect, string> = { remove: 'Removals', flag: 'Flags', shadow: 'Shadow hits (recorded, not acted on)' };
const CHANGE_LABELS: Record<Effect, Record<Exclude<Change, 'same'>, string>> = {
  remove: { new: 'newly removed', gone: 'no longer removed', 'other-rule': 'by another rule' },
  flag: { new: 'newly flagged', gone: 'no longer flagged', 'other-rule': 'by another rule' },
  shadow: { new: 'new', gone: 'no longer', 'other-rule': 'by another rule' },
};

/** The report for a terminal: rule hits side by side, then every participant whose outcome changes. */
export function formatBacktest(report: BacktestReport, candidatePath: string): string {
  const out: string[] = [];
  const period = report.from === undefined ? 'no events in the period' : `${report.events} events processed ${report.from} .. ${report.to}`;
  out.push(`Backtest of ${candidatePath} (version ${report.candidateVersion}): ${period}`);
  if (report.liveVersions.length > 0) {
    out.push(`Live decisions by rule set ${report.liveVersions.map((v) => `${v.version} (${v.events} events)`).join(', ')}`);
  }
  const notes = [
    report.warmupEvents > 0 ? `${report.warmupEvents} earlier events only warmed the counters up` : '',
    report.duplicates > 0 ? `${report.duplicates} repeated event ids skipped` : '',
    report.invalid > 0 ? `${report.invalid} unreadable entries skipped` : '',
  ].filter(Boolean);
  if (notes.length > 0) out.push(`(${notes.join('; ')})`);

  const firing = report.rules.filter((r) => r.live.hits > 0 || r.candidate.hits > 0);
  const silent = report.rules.filter((r) => r.live.hits === 0 && r.candidate.hits === 0);
  out.push('', 'Rule hits, live vs candidate:');
  out.push(
    table(
      ['rule', 'live mode', 'live hits', 'live people', 'candidate mode', 'candidate hits', 'candidate people', 'change'],
      firing.map((r) => [
        r.rule,
        r.liveModes.join('/') || '-',
        r.live.hits,
        r.live.participants,
        r.candidateMode ?? '(not in candidate)',
        r.candidate.hits,
        r.candidate.participants,
        signed(r.candidate.hits - r.live.hits),
      ]),
    ),
  );
  if (silent.length > 0) out.push(`No hits on either side: ${silent.map((r) => r.rule).join(', ')}`);

  for (const effect of ['remove', 'flag', 'shadow'] as const) {
    const s = report.summary[effect];
    const changed = report.subjects.filter((x) => x.effect === effect && x.change !== 'same');
    const labels = CHANGE_LABELS[effect];
    out.push('', `${EFFECT_TITLES[effect]}: ${s.new} ${labels.new}, ${s.gone} ${labels.gone}, ${s['other-rule']} ${labels['other-rule']}, ${s.same} unchanged`);
    if (changed.length === 0) continue;
    out.push(
      table(
        ['change', 'session', 'participant', 'live', 'candidate', 'first event'],
        changed.map((x) => [
          labels[x.change as Exclude<Change, 'same'>],
          x.sessionId,
          x.participantId ?? '(session)',
          x.live?.rules.join(', ') ?? '-',
          x.candidate?.rules.join(', ') ?? '-',
          firstEvent(x),
        ]),
      ),
    );
  }
  return out.join('\n');
}

/** When the change starts: the candidate's first event, else the live one. */
function firstEvent(diff: SubjectDiff): string {
  const s = diff.candidate ?? diff.live;
  return s === undefined ? '' : s.firstAt;
}

function signed(n: number): string {
  return n === 0 ? '' : n > 0 ? `+${n}` : String(n);
}
