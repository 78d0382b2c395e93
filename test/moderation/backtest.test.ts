import { describe, expect, it } from 'vitest';
import type { MeetingEvent } from '../../src/shared/event-schema.js';
import { runBacktest, type LoggedDecision } from '../../src/moderation/backtest.js';
import { createStaticListSource } from '../../src/moderation/list-source.js';
import { ruleSetOf, typeIs } from '../helpers/rule-set.js';

const joins = (n: number) => ({
  fact: 'eventCount',
  params: { type: 'participant-joined', windowSeconds: 60, scope: 'participant' },
  operator: 'greaterThanInclusive',
  value: n,
});
const says = (word: string) => ({ fact: 'event', path: '$.data.text', operator: 'containsWord', value: word });

// The candidate: a new enforced join flood, "scam" removes under a new name, "spam" still flags,
// "rude" becomes shadow. Live had "old-scam" (removal), "spam" (flag) and "rude" (enforce flag).
const CANDIDATE = ruleSetOf([
  {
    name: 'join-flood',
    priority: 10,
    conditions: { all: [typeIs('participant-joined'), joins(3)] },
    event: { type: 'remove-participant' },
  },
  { name: 'scam', priority: 20, conditions: { all: [typeIs('chat-message'), says('scam')] }, event: { type: 'remove-participant' } },
  { name: 'spam', conditions: { all: [typeIs('chat-message'), says('spam')] }, event: { type: 'flag' } },
  { name: 'rude', mode: 'shadow', conditions: { all: [typeIs('chat-message'), says('rude')] }, event: { type: 'flag' } },
  { name: 'never-fires', conditions: { all: [typeIs('custom-x')] }, event: { type: 'flag' } },
]);
const T0 = Date.UTC(2026, 4, 1, 10);
const SINCE = T0 + 60_000;

let seq = 0;
function logged(
  at: number,
  type: string,
  participantId: string | undefined,
  liveHits: [string, string, string][] = [],
  data: Record<string, unknown> = {},
  id = `e${++seq}`,
): LoggedDecision {
  const event: MeetingEvent = {
    id,
    type,
    sessionId: 's1',
    meetingId: 'm1',
    ...(participantId ? { participantId } : {}),
    timestamp: new Date(at).toISOString(),
    data,
  };
  return {
    at,
    event,
    hits: liveHits.map(([rule, mode, action]) => ({ rule, mode, action })),
    rulesVersion: at < T0 + 120_000 ? 'live-a' : 'live-b',
  };
}

describe('runBacktest', () => {
  const lists = createStaticListSource(new Map());

  it('compares per participant: newly, no longer, by another rule, unchanged; and per rule', async () => {
    const entries = [
      // Warm-up (before since): two joins of "looper" fill the join counter, not compared.
      logged(T0 + 30_000, 'participant-joined', 'looper'),
      logged(T0 + 40_000, 'participant-joined', 'looper'),
      // Compared: the third join within 60 s: the candidate removes (live did not).
      logged(SINCE + 1_000, 'participant-joined', 'looper'),
      // Live removed "scammer" by old-scam; the candidate by scam: another rule.
      logged(SINCE + 2_000, 'chat-message', 'scammer', [['old-scam', 'enforce', 'remove-participant']], { text: 'a scam' }),
      // Live removed "kicked" by old-scam; the candidate does not: no longer removed.
      logged(SINCE + 3_000, 'chat-message', 'kicked', [['old-scam', 'enforce', 'remove-participant']], { text: 'nothing here' }),
      // Flagged on both sides by spam: unchanged.
      logged(SINCE + 4_000, 'chat-message', 'spammer', [['spam', 'enforce', 'flag']], { text: 'spam' }),
      // Live flagged "rude" (enforce); the candidate has it in shadow: no longer flagged, new shadow hit.
      logged(SINCE + 5_000, 'chat-message', 'rudy', [['rude', 'enforce', 'flag']], { text: 'so rude' }),
      // The same event id logged twice (a redelivery): compared once.
      logged(SINCE + 6_000, 'chat-message', 'spammer', [['spam', 'enforce', 'flag']], { text: 'spam' }, 'dup'),
      logged(SINCE + 6_001, 'chat-message', 'spammer', [['spam', 'enforce', 'flag']], { text: 'spam' }, 'dup'),
      // A session event: no participant.
      logged(SINCE + 70_000, 'session-started', undefined),
    ];
    const report = await runBacktest(CANDIDATE, [...entries, { invalid: 'bad entry' }], { lists, since: SINCE });

    expect(report).toMatchObject({
      candidateVersion: CANDIDATE.version,
      events: 7,
      warmupEvents: 2,
      duplicates: 1,
      invalid: 1,
      from: new Date(SINCE + 1_000).toISOString(),
      to: new Date(SINCE + 70_000).toISOString(),
      liveVersions: [
        { version: 'live-a', events: 6 },
        { version: 'live-b', events: 1 },
      ],
    });
    const changes = report.subjects.map((s) => [s.participantId, s.effect, s.change, s.live?.rules ?? null, s.candidate?.rules ?? null]);
    expect(changes).toEqual([
      ['kicked', 'remove', 'gone', ['old-scam'], null],
      ['looper', 'remove', 'new', null, ['join-flood']],
      ['rudy', 'flag', 'gone', ['rude'], null],
      ['rudy', 'shadow', 'new', null, ['rude']],
      ['scammer', 'remove', 'other-rule', ['old-scam'], ['scam']],
      ['spammer', 'flag', 'same', ['spam'], ['spam']],
    ]);
    expect(report.subjects.find((s) => s.participantId === 'looper')?.candidate).toMatchObject({
      hits: 1,
      firstAt: new Date(SINCE + 1_000).toISOString(),
    });
    expect(report.summary).toEqual({
      remove: { new: 1, gone: 1, 'other-rule': 1, same: 0 },
      flag: { new: 0, gone: 1, 'other-rule': 0, same: 1 },
      shadow: { new: 1, gone: 0, 'other-rule': 0, same: 0 },
    });
    expect(report.rules).toEqual([
      {
        rule: 'join-flood',
        liveModes: [],
        candidateMode: 'enforce',
        live: { hits: 0, participants: 0 },
        candidate: { hits: 1, participants: 1 },
      },
      {
        rule: 'never-fires',
        liveModes: [],
        candidateMode: 'enforce',
        live: { hits: 0, participants: 0 },
        candidate: { hits: 0, participants: 0 },
      },
      { rule: 'old-scam', liveModes: ['enforce'], live: { hits: 2, participants: 2 }, candidate: { hits: 0, participants: 0 } },
      {
        rule: 'rude',
        liveModes: ['enforce'],
        candidateMode: 'shadow',
        live: { hits: 1, participants: 1 },
        candidate: { hits: 1, participants: 1 },
      },
      {
        rule: 'scam',
        liveModes: [],
        candidateMode: 'enforce',
        live: { hits: 0, participants: 0 },
        candidate: { hits: 1, participants: 1 },
      },
      {
        rule: 'spam',
        liveModes: ['enforce'],
        candidateMode: 'enforce',
        live: { hits: 2, participants: 1 },
        candidate: { hits: 2, participants: 1 },
      },
    ]);
  });

  it('without warm-up the window starts empty: the same joins after since do not reach 3', async () => {
    const entries = [logged(SINCE + 1_000, 'participant-joined', 'p'), logged(SINCE + 2_000, 'participant-joined', 'p')];
    const report = await runBacktest(CANDIDATE, entries, { lists, since: SINCE });
    expect(report.subjects).toEqual([]);
    expect(report.events).toBe(2);
  });

  it('takes the rule of the first removing event, highest priority first, as the one that removed', async () => {
    const entries = [
      logged(SINCE + 1, 'participant-joined', 'q'),
      logged(SINCE + 2, 'participant-joined', 'q'),
      // Both candidate rules remove on this event: scam (priority 20) is the one that acts.
      logged(SINCE + 3, 'participant-joined', 'q', [['scam', 'enforce', 'remove-participant']], { text: 'scam' }),
    ];
    const withScam = ruleSetOf([
      {
        name: 'join-flood',
        priority: 10,
        conditions: { all: [typeIs('participant-joined'), joins(3)] },
        event: { type: 'remove-participant' },
      },
      { name: 'scam', priority: 20, conditions: { all: [says('scam')] }, event: { type: 'remove-participant' } },
    ]);
    const report = await runBacktest(withScam, entries, { lists, since: SINCE });
    expect(report.subjects).toEqual([
      expect.objectContaining({
        participantId: 'q',
        effect: 'remove',
        change: 'same',
        candidate: expect.objectContaining({ rules: ['scam', 'join-flood'] }),
      }),
    ]);
  });

  it('reads lists through the source it is given', async () => {
    const blocked = ruleSetOf([
      {
        name: 'blocked',
        conditions: { all: [{ fact: 'event', path: '$.participantId', operator: 'inList', value: 'blocked' }] },
        event: { type: 'remove-participant' },
      },
    ]);
    const report = await runBacktest(blocked, [logged(SINCE + 1, 'chat-message', 'bad-1')], {
      lists: createStaticListSource(new Map([['blocked', ['bad-1']]])),
      since: SINCE,
    });
    expect(report.summary.remove.new).toBe(1);
  });
});
