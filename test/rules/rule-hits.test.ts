import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { fired, send, testEvent } from '../helpers/events.js';
import { removeDir, tempRules } from '../helpers/rules-dir.js';

// "Four links in a minute, then a 10-minute ban", through the real worker path: the flag rule's
// hits are counted in Redis per participant, and this event's own hit is added before the rule
// that counts them runs.

const RULES = {
  'links.json': [
    {
      name: 'link-in-chat',
      priority: 20,
      conditions: {
        all: [
          { fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' },
          { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value: 'https?://' },
        ],
      },
      event: { type: 'flag', params: { reason: 'Link in chat' } },
    },
    {
      name: 'link-flood',
      priority: 10,
      conditions: {
        all: [
          { fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' },
          { fact: 'ruleHits', params: { rule: 'link-in-chat', windowSeconds: 60 }, operator: 'greaterThanInclusive', value: 4 },
        ],
      },
      event: { type: 'remove-participant', params: { reason: 'Four links in a minute', banFor: '10m' } },
    },
  ],
};

describe('ruleHits through the worker', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = await tempRules(RULES);
    h = await startHarness('rule-hits', { AUTOMOD_RULES: dir, AUTOMOD_EVENT_CONCURRENCY: '1' });
  });
  afterAll(async () => {
    await h?.close();
    await removeDir(dir);
  });

  const link = (sid: string, who: string, ms: number, text = `see https://example.com/${ms}`) =>
    testEvent(sid, { participantId: who, timestamp: new Date(Date.now() - 30_000 + ms).toISOString(), data: { text } });

  it('removes and bans at the fourth link in a minute, sent one by one', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: `room-${sid}`, participants: [{ participantId: 'spammer', name: 'Spammer' }] });
    const logged = [];
    for (const [i, ms] of [0, 5_000, 9_000, 12_000].entries()) {
      // Another participant's links and this one's plain chat do not count.
      logged.push(...(await send(h, [link(sid, `other-${i}`, ms), link(sid, 'spammer', ms + 1, i === 1 ? 'hello there' : undefined)])));
    }
    expect(logged.filter((r) => r.event.participantId === 'spammer').map(fired)).toEqual([
      ['link-in-chat'],
      [],
      ['link-in-chat'],
      ['link-in-chat'],
    ]);
    const last = await send(h, [link(sid, 'spammer', 13_000)]);
    expect(fired(last[0]!)).toEqual(['link-in-chat', 'link-flood']);
    const ban = await waitFor(
      async () => {
        const res = await h.api('GET', `/v1/bans/check?meetingId=room-${sid}&participantId=spammer`);
        return (res.body as { banned: boolean }).banned ? (res.body as { rule: string; until: string }) : undefined;
      },
      10_000,
      'ban',
    );
    expect(ban.rule).toBe('link-flood');
    expect(Date.parse(ban.until) - Date.now()).toBeGreaterThan(9 * 60_000);
  });

  it('counts the links of one batch job as it would one by one', async () => {
    const sid = sessionId();
    const logged = await send(
      h,
      [0, 1, 2, 3].map((i) => link(sid, 'batcher', i * 1000)),
    );
    expect(logged.map(fired)).toEqual([['link-in-chat'], ['link-in-chat'], ['link-in-chat'], ['link-in-chat', 'link-flood']]);
  });
});
