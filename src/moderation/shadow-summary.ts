import { compare } from '../shared/compare.js';

/** A rule hit as the audit trail records it (only the fields the summary reads). */
export interface RecordedHit {
  /** ISO time. */
  at: string;
  rule?: string;
  action?: string;
  sessionId?: string;
  participantId?: string;
  rulesVersion?: string;
}

/** What one shadow rule would have done, for deciding whether to enforce it. */
export interface ShadowRuleSummary {
  rule: string;
  /** What it would do: `remove-participant`, `flag` (several when the rule changed). */
  actions: string[];
  hits: number;
  /** Distinct participants (per session) it fired for. */
  participants: number;
  sessions: number;
  firstSeen: string;
  lastSeen: string;
  /** Rule-set versions that recorded the hits. */
  rulesVersions: string[];
  /** Up to five participants with the most hits, most first. */
  top: { sessionId: string; participantId: string; hits: number }[];
}

/**
 * Summarises shadow-mode hits per rule: how often, for how many people, over what period. Rules
 * with the most hits come first. Records without a rule are ignored.
 */
export function summarizeShadowHits(records: Iterable<RecordedHit>): ShadowRuleSummary[] {
  const perRule = new Map<
    string,
    {
      actions: Set<string>;
      hits: number;
      who: Map<string, { sessionId: string; participantId: string; hits: number }>;
      sessions: Set<string>;
      first: string;
      last: string;
      versions: Set<string>;
    }
  >();
  for (const r of records) {
    if (r.rule === undefined) continue;
    let s = perRule.get(r.rule);
    if (s === undefined) {
      s = { actions: new Set(), hits: 0, who: new Map(), sessions: new Set(), first: r.at, last: r.at, versions: new Set() };
      perRule.set(r.rule, s);
    }
    s.hits++;
    if (r.action !== undefined) s.actions.add(r.action);
    if (r.rulesVersion !== undefined) s.versions.add(r.rulesVersion);
    if (r.sessionId !== undefined) s.sessions.add(r.sessionId);
    if (r.participantId !== undefined) {
      const key = `${r.sessionId ?? ''}\u0000${r.participantId}`;
      const who = s.who.get(key) ?? { sessionId: r.sessionId ?? '', participantId: r.participantId, hits: 0 };
      who.hits++;
      s.who.set(key, who);
    }
    if (r.at < s.first) s.first = r.at;
    if (r.at > s.last) s.last = r.at;
  }
  return [...perRule]
    .map(([rule, s]) => ({
      rule,
      actions: [...s.actions].sort(),
      hits: s.hits,
      participants: s.who.size,
      sessions: s.sessions.size,
      firstSeen: s.first,
      lastSeen: s.last,
      rulesVersions: [...s.versions].sort(),
      top: [...s.who.values()]
        .sort((a, b) => b.hits - a.hits || compare(a.sessionId, b.sessionId) || compare(a.participantId, b.participantId))
        .slice(0, 5),
    }))
    .sort((a, b) => b.hits - a.hits || compare(a.rule, b.rule));
}
