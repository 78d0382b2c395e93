import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';
import { fired, send, testEvent } from '../helpers/events.js';
import { removeDir, tempRules } from '../helpers/rules-dir.js';

// Live lists (`automod lists add|remove`, the same ListStore calls) change what the rules see
// from the next event on, without a restart, for inList, notInList and containsWord.

const event = (sid: string, type: string, participantId: string, data: Record<string, unknown> = {}) =>
  testEvent(sid, { type, participantId, participantName: participantId, data });

describe('live lists, through the worker', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    dir = await tempRules(
      {
        'members-only.json': {
          name: 'members-only',
          description: 'Joins by anyone not on the live members list',
          conditions: {
            all: [
              { fact: 'event', path: '$.type', operator: 'equal', value: 'participant-joined' },
              { fact: 'event', path: '$.participantId', operator: 'notInList', value: 'members' },
            ],
          },
          event: { type: 'flag', params: { reason: 'Not a member' } },
        },
      },
      {},
      { shipped: true },
    );
    h = await startHarness('rules-live-lists', { AUTOMOD_RULES: dir });
  });
  afterAll(async () => {
    await h?.close();
    await removeDir(dir);
  });

  it('inList: a participant added to the live block list is removed on their next event, and not after removal from it', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: `room-${sid}`, participants: [{ participantId: 'intruder', name: 'Intruder' }] });
    const [before] = await send(h, [event(sid, 'chat-message', 'intruder', { text: 'hello' })]);
    expect(fired(before!)).toEqual([]);

    expect(await h.automod.services.lists.add('blocked-participants', ['intruder'])).toBe(1);
    const [after] = await send(h, [event(sid, 'chat-message', 'intruder', { text: 'hello again' })]);
    expect(fired(after!)).toEqual(['blocked-participant']);
    await waitFor(
      async () => {
        const body = (await h.api('GET', `/v1/sessions/${sid}`)).body as {
          removals?: { participantId: string; outcome: string; rule: string }[];
        };
        return body.removals?.find((r) => r.participantId === 'intruder' && r.outcome === 'removed' && r.rule === 'blocked-participant');
      },
      10_000,
      'removal of the blocked participant',
    );

    await h.automod.services.lists.remove('blocked-participants', ['intruder']);
    const [unblocked] = await send(h, [event(sid, 'participant-joined', 'intruder', { role: 'participant' })]);
    expect(fired(unblocked!)).not.toContain('blocked-participant');
    // The file list still counts beside the live one.
    const [fromFile] = await send(h, [event(sid, 'chat-message', 'blocked-demo-1', { text: 'hi' })]);
    expect(fired(fromFile!)).toEqual(['blocked-participant']);
  });

  it('containsWord: a word added to a live list matches on the next message, case and accents ignored', async () => {
    const sid = sessionId();
    const [before] = await send(h, [event(sid, 'chat-message', 'p1', { text: 'buy ZÖRBLAX now' })]);
    expect(fired(before!)).toEqual([]);
    const valuesBefore = h.automod.rules!.lists.values('banned-words');
    // The same array while nothing changed: containsWord's index check is an identity check.
    expect(h.automod.rules!.lists.values('banned-words')).toBe(valuesBefore);

    await h.automod.services.lists.add('banned-words', ['zorblax']);
    const [after] = await send(h, [event(sid, 'chat-message', 'p2', { text: 'buy ZÖRBLAX now' })]);
    expect(fired(after!)).toEqual(['banned-words']);
    const valuesAfter = h.automod.rules!.lists.values('banned-words');
    expect(valuesAfter).not.toBe(valuesBefore);
    expect(valuesAfter).toContain('zorblax');
    expect(valuesAfter).toContain('free crypto'); // from rules/lists/banned-words.txt
    expect(h.automod.rules!.lists.values('banned-words')).toBe(valuesAfter);
    await h.automod.services.lists.remove('banned-words', ['zorblax']);
  });

  it('notInList: adding a participant to the live list stops the rule for them', async () => {
    const sid = sessionId();
    expect(h.automod.rules!.status().missingLists).toEqual(['members']);
    const [guest] = await send(h, [event(sid, 'participant-joined', 'guest-1')]);
    expect(fired(guest!)).toEqual(['members-only']);

    await h.automod.services.lists.add('members', ['guest-1']);
    const [member, other] = await send(h, [event(sid, 'participant-joined', 'guest-1'), event(sid, 'participant-joined', 'guest-2')]);
    expect(fired(member!)).toEqual([]);
    expect(fired(other!)).toEqual(['members-only']);
    expect(h.automod.rules!.status().missingLists).toBeUndefined();
  });
});
