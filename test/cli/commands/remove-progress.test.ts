import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runRemove } from '../../../src/cli/commands/remove.js';
import { sessionId, startHarness, type Harness } from '../../helpers/harness.js';
import { captureIo } from '../../helpers/io.js';

// A backoff long enough that the wait sees the job between two tries.
let h: Harness;
beforeAll(async () => {
  h = await startHarness('remove-progress', { AUTOMOD_BACKOFF_MS: '6000', AUTOMOD_BACKOFF_MAX_MS: '6000' });
});
afterAll(async () => {
  await h?.close();
});

describe('automod remove during an outage, without a terminal', () => {
  it('prints under each progress line where every pending job stands: tries, last answer, next try', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-p', participants: [{ participantId: 'a' }, { participantId: 'b' }] });
    h.simulator.addFault({ sessionId: sid, operation: 'remove', status: 503, times: Infinity });
    const io = captureIo();
    const code = await runRemove(
      h.automod.services,
      {
        session: sid,
        participant: ['a', 'b'],
        meeting: 'room-p',
        wait: true,
        json: false,
        timeout: 3.5,
        requestedBy: 'operator:test',
        progressEveryMs: 500,
      },
      io,
    );
    expect(code).toBe(1);
    expect(io.err()).toMatch(/progress: 0\/2 done/);
    for (const p of ['a', 'b']) {
      expect(io.err()).toMatch(
        new RegExp(`  ${p} in ${sid} \\(job [^)]+\\): delayed, tries 1/4, last POST 503, next try at \\S+Z \\(in \\d+s\\)`),
      );
    }
  });
});
