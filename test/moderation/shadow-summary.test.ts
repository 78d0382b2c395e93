import { describe, expect, it } from 'vitest';
import { summarizeShadowHits } from '../../src/moderation/shadow-summary.js';

describe('summarizeShadowHits', () => {
  it('counts hits, distinct participants and sessions, first and last seen, per rule, most hits first', () => {
    const hit = (rule: string, at: string, sessionId: string, participantId?: string, rulesVersion = 'v1') => ({
      rule,
      at,
      action: 'remove-participant',
      sessionId,
      rulesVersion,
      ...(participantId ? { participantId } : {}),
    });
    const summary = summarizeShadowHits([
      // Newest first, as the audit trail answers.
      hit('join-flood', '2026-01-01T10:05:00.000Z', 's2', 'p1', 'v2'),
      hit('join-flood', '2026-01-01T10:04:00.000Z', 's1', 'p1'),
      hit('join-flood', '2026-01-01T10:03:00.000Z', 's1', 'p2'),
      hit('join-flood', '2026-01-01T10:02:00.000Z', 's1', 'p2'),
      hit('odd', '2026-01-01T10:01:00.000Z', 's1'),
      { at: '2026-01-01T10:00:00.000Z' }, // not a rule hit (a reload record, say)
    ]);
    expect(summary).toEqual([
      {
        rule: 'join-flood',
        actions: ['remove-participant'],
        hits: 4,
        participants: 3, // p1 in s1, p1 in s2, p2 in s1
        sessions: 2,
        firstSeen: '2026-01-01T10:02:00.000Z',
        lastSeen: '2026-01-01T10:05:00.000Z',
        rulesVersions: ['v1', 'v2'],
        top: [
          { sessionId: 's1', participantId: 'p2', hits: 2 },
          { sessionId: 's1', participantId: 'p1', hits: 1 },
          { sessionId: 's2', participantId: 'p1', hits: 1 },
        ],
      },
      {
        rule: 'odd',
        actions: ['remove-participant'],
        hits: 1,
        participants: 0,
        sessions: 1,
        firstSeen: '2026-01-01T10:01:00.000Z',
        lastSeen: '2026-01-01T10:01:00.000Z',
        rulesVersions: ['v1'],
        top: [],
      },
    ]);
  });
});
