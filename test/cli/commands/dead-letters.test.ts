import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAudit } from '../../../src/cli/commands/audit.js';
import { runDeadLetterReplay, runDeadLetters } from '../../../src/cli/commands/dead-letters.js';
import type { DeadLetterView } from '../../../src/events/dead-letter-replay.js';
import { runCli } from '../../helpers/cli.js';
import { sessionId, startHarness, waitFor, type Harness } from '../../helpers/harness.js';
import { captureIo } from '../../helpers/io.js';
import { REDIS_URL } from '../../helpers/redis.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness('dead-letters');
});
afterAll(async () => {
  await h?.close();
});

/** Puts a job straight on the events queue, as a direct producer would, and waits for its dead letter. */
async function deadLetter(data: unknown): Promise<DeadLetterView> {
  const job = await h.automod.services.queues.events.add('chat-message', data);
  return waitFor(
    async () => {
      const res = await h.api('GET', '/v1/dead-letters');
      return (res.body as { deadLetters: DeadLetterView[] }).deadLetters.find((d) => d.jobId === job.id);
    },
    10_000,
    'the dead letter',
  );
}

describe('dead letters', () => {
  it('are listed by GET /v1/dead-letters and automod dead-letters, raw as received, and audit --kind dead-letter says where they are', async () => {
    const raw = { type: 'chat-message', participantId: 'p1', data: { text: 'no session id' } };
    const letter = await deadLetter(raw);
    expect(letter).toMatchObject({ id: expect.any(String), at: expect.any(String), queue: 'events', event: raw });
    expect(letter.reason).toMatch(/sessionId/);

    const json = captureIo();
    expect(await runDeadLetters(h.automod.services, { limit: 10, json: true }, json)).toBe(0);
    expect((JSON.parse(json.out()) as { deadLetters: DeadLetterView[] }).deadLetters.map((d) => d.id)).toContain(letter.id);
    const text = captureIo();
    expect(await runDeadLetters(h.automod.services, { limit: 10, json: false }, text)).toBe(0);
    expect(text.out()).toContain(letter.id);
    expect(text.out()).toMatch(/dead-letters replay ID --event FILE/);

    const audit = captureIo();
    await runAudit(h.automod.services, { kind: 'dead-letter', limit: 10, json: false }, audit, Date.now());
    expect(audit.err()).toMatch(/automod dead-letters \(GET \/v1\/dead-letters\)/);
  });

  it('a corrected event replaces one: validated, enqueued, processed, and the dead letter marked replayed (HTTP)', async () => {
    const sid = sessionId();
    const letter = await deadLetter({ type: 'chat-message', sessionId: sid, data: { text: 'no participant' } });

    const stillBad = await h.api('POST', `/v1/dead-letters/${letter.id}/replay`, { type: 'chat-message', sessionId: sid });
    expect(stillBad.status).toBe(400);
    expect(JSON.stringify(stillBad.body)).toMatch(/participantId/);
    expect(
      (await h.api('POST', '/v1/dead-letters/no-such-id/replay', { type: 'chat-message', sessionId: sid, participantId: 'p' })).status,
    ).toBe(404);

    const fixed = { id: `fixed-${sid}`, type: 'chat-message', sessionId: sid, participantId: 'p1', data: { text: 'hello' } };
    const res = await h.api('POST', `/v1/dead-letters/${letter.id}/replay`, fixed);
    expect(res.status).toBe(202);
    expect(res.body).toMatchObject({
      result: { accepted: 1 },
      deadLetter: { id: letter.id, replayed: { eventId: fixed.id, requestedBy: 'api' } },
    });
    // The consumer took it: the processed-event log has it.
    await waitFor(
      async () => ((await h.automod.services.redis.exists(h.automod.services.keys.eventDone(fixed.id))) ? true : undefined),
      10_000,
      'the event to be processed',
    );

    const listed = await h.api('GET', '/v1/dead-letters');
    expect((listed.body as { deadLetters: DeadLetterView[] }).deadLetters.find((d) => d.id === letter.id)?.replayed?.eventId).toBe(
      fixed.id,
    );
    const audit = await h.automod.services.audit.query({ kind: 'dead-letter-replay', sessionId: sid });
    expect(audit).toEqual([
      expect.objectContaining({ eventId: fixed.id, requestedBy: 'api', detail: expect.objectContaining({ deadLetterId: letter.id }) }),
    ]);
  });

  it('automod dead-letters replay ID --event FILE does the same from the CLI, and says what is still wrong', async () => {
    const sid = sessionId();
    const letter = await deadLetter({ type: 'chat-message', sessionId: sid, participantId: 42 });
    const bad = captureIo({ stdin: JSON.stringify({ type: 'chat-message', sessionId: sid, participantId: 42 }) });
    expect(await runDeadLetterReplay(h.automod.services, letter.id, { event: '-', json: false, requestedBy: 'operator:test' }, bad)).toBe(
      1,
    );
    expect(bad.err()).toMatch(/still invalid[\s\S]*participantId/);

    const env = { REDIS_URL, AUTOMOD_PREFIX: h.config.prefix };
    const listed = await runCli(['dead-letters', '--json', '--limit', '5'], env);
    expect(listed.code).toBe(0);
    expect((JSON.parse(listed.stdout) as { deadLetters: DeadLetterView[] }).deadLetters.map((d) => d.id)).toContain(letter.id);
    const replayed = await runCli(['dead-letters', 'replay', letter.id, '--event', '-'], env, {
      input: JSON.stringify({ id: `cli-${sid}`, type: 'chat-message', sessionId: sid, participantId: 'p42', data: { text: 'hi' } }),
    });
    expect(replayed.stderr).toBe('');
    expect(replayed.code).toBe(0);
    expect(replayed.stdout).toContain(`queued event cli-${sid} in place of dead letter ${letter.id}`);
  });
});
