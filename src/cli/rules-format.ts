import type { BacktestReport, Change, Effect, SubjectDiff } from '../moderation/backtest.js';
import type { ShadowRuleSummary } from '../moderation/shadow-summary.js';
import { table } from './format.js';

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
    out.push(
      '',
      `${EFFECT_TITLES[effect]}: ${s.new} ${labels.new}, ${s.gone} ${labels.gone}, ${s['other-rule']} ${labels['other-rule']}, ${s.same} unchanged`,
    );
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

/** The summary for a terminal: one line per rule, then who it hit most. */
export function formatShadowSummary(summaries: readonly ShadowRuleSummary[]): string {
  if (summaries.length === 0) return 'Shadow hits per rule: none recorded for these filters.';
  const lines = [
    'Shadow hits per rule (what each shadow rule would have done, over every matching record):',
    table(
      ['rule', 'would', 'hits', 'participants', 'sessions', 'first seen', 'last seen', 'rule sets'],
      summaries.map((s) => [
        s.rule,
        s.actions.map((a) => (a === 'remove-participant' ? 'remove' : a)).join('/'),
        s.hits,
        s.participants,
        s.sessions,
        s.firstSeen,
        s.lastSeen,
        s.rulesVersions.join(', '),
      ]),
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
