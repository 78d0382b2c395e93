import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, type Harness } from '../helpers/harness.js';
import { eventLog } from '../helpers/events.js';
import { removeDir, tempRules } from '../helpers/rules-dir.js';

// A flood of long messages for the costliest patterns a rules folder may hold must not stall the
// worker: evaluation gives the event loop back between rules, so /healthz keeps answering (and
// BullMQ keeps renewing its job locks) while the flood is processed. The bound below is generous:
// it says "answers", not "is fast".

const HEALTH_BOUND_MS = 1_500;

describe('a worker under a flood of the costliest admitted patterns', () => {
  let h: Harness;
  let dir: string;
  beforeAll(async () => {
    const rule = (name: string, value: string) => ({
      name,
      conditions: {
        all: [
          { fact: 'event', path: '$.type', operator: 'equal', value: 'chat-message' },
          { fact: 'event', path: '$.data.text', operator: 'matchesPattern', value },
        ],
      },
      event: { type: 'flag' },
    });
    // Each within the pattern budget, each searching every character of a 64 KB text of letters.
    // Programs near the size limit: cheap once re2js's DFA knows a text, costly while it learns a
    // new one, which every message of the flood is.
    dir = await tempRules({
      'costly.json': [100, 95, 90, 85, 80, 75, 70, 65].map((n) => rule(`link-run-${n}`, `(https?://|.){0,${n}}$`)),
    });
    h = await startHarness('liveness', { AUTOMOD_RULES: dir });
  });
  afterAll(async () => {
    await h?.close();
    await removeDir(dir);
  });

  it('answers /healthz while a batch of 64 KB messages is evaluated', async () => {
    const sid = sessionId();
    let seed = 7;
    const text = (): string => {
      let out = '';
      while (out.length < 64 * 1024 - 20) {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        out += ['http://', 'https://', 'a', 'b ', 'c.', 'd/', 'xyz '][(seed >>> 16) % 7];
      }
      return out;
    };
    const events = Array.from({ length: 120 }, (_, i) => ({
      id: `${sid}-${i}`,
      type: 'chat-message',
      sessionId: sid,
      participantId: `p${i}`,
      data: { text: text() },
    }));
    await h.automod.services.queues.events.add('batch', { events });
    let slowest = 0;
    let answers = 0;
    let processed = 0;
    while (processed < events.length) {
      const start = performance.now();
      const res = await h.api('GET', '/healthz');
      slowest = Math.max(slowest, performance.now() - start);
      expect(res.status).toBe(200);
      answers++;
      processed = (await eventLog(h)).filter((r) => (r.event.sessionId as string) === sid).length;
    }
    expect(slowest).toBeLessThan(HEALTH_BOUND_MS);
    expect(answers).toBeGreaterThan(1);
  }, 120_000);
});
