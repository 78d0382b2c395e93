import type { Worker } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventsInFlight, eventsOf } from '../../src/events/events-worker.js';
import { EVENTS_QUEUE } from '../../src/events/producer.js';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

describe('EventsInFlight', () => {
  it('takes fewer jobs at once as jobs carry more events, within the job cap', () => {
    const f = new EventsInFlight(100, 50);
    expect(f.concurrency).toBe(50);
    expect(f.seen(1)).toBe(50);
    expect(f.seen(50)).toBe(2);
    expect(f.seen(500)).toBe(1);
  });

  it('goes up at once for bigger jobs and back down slowly', () => {
    const f = new EventsInFlight(100, 50);
    f.seen(50);
    // One small job does not open the gate for the next big ones.
    expect(f.seen(1)).toBe(2);
    let concurrency = 0;
    for (let i = 0; i < 100; i++) concurrency = f.seen(1);
    expect(concurrency).toBe(50);
  });

  it('counts a batch job by its events and anything else as one', () => {
    expect(eventsOf({ name: 'batch', data: { events: [1, 2, 3] } })).toBe(3);
    expect(eventsOf({ name: 'batch', data: { events: [] } })).toBe(1);
    expect(eventsOf({ name: 'batch', data: { event: {} } })).toBe(1);
    expect(eventsOf({ name: 'batch', data: null })).toBe(1);
    expect(eventsOf({ name: 'chat-message', data: { events: [1, 2] } })).toBe(1);
  });
});

describe('a worker with AUTOMOD_EVENTS_IN_FLIGHT', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness('events-in-flight', { AUTOMOD_EVENTS_IN_FLIGHT: '100', AUTOMOD_EVENT_CONCURRENCY: '50' });
  });
  afterAll(async () => {
    await h?.close();
  });

  const chat = (sid: string, i: number) => ({
    id: `${sid}-${i}`,
    type: 'chat-message',
    sessionId: sid,
    participantId: `p${i % 7}`,
    timestamp: new Date().toISOString(),
    data: { text: `hello ${i}` },
  });

  it('holds at most 100 events at once: two batch jobs of 50, then many single-event jobs again', async () => {
    const worker = h.automod.workers.find((w) => w.name === EVENTS_QUEUE) as Worker;
    expect(worker.concurrency).toBe(50);
    let active = 0;
    let most = 0;
    worker.on('active', () => {
      active += 1;
      most = Math.max(most, active);
    });
    const settled = () => (active -= 1);
    worker.on('completed', settled);
    worker.on('failed', settled);
    const queue = h.automod.services.queues.events;
    const sid = sessionId();

    // The first batch teaches the worker the jobs' size.
    const first = await queue.add('batch', { events: Array.from({ length: 50 }, (_, i) => chat(sid, i)) });
    await waitFor(async () => ((await first.getState()) === 'completed' ? true : undefined), 10_000, 'the first batch');
    expect(worker.concurrency).toBe(2);
    most = 0;
    const batches = await queue.addBulk(
      Array.from({ length: 12 }, (_, b) => ({
        name: 'batch',
        data: { events: Array.from({ length: 50 }, (_, i) => chat(sid, 100 + b * 50 + i)) },
      })),
    );
    await waitFor(
      async () => ((await Promise.all(batches.map((j) => j.getState()))).every((s) => s === 'completed') ? true : undefined),
      20_000,
      'the batches',
    );
    expect(most).toBeGreaterThanOrEqual(1);
    expect(most).toBeLessThanOrEqual(2);

    // Single-event jobs bring the concurrency back up.
    const singles = await queue.addBulk(Array.from({ length: 120 }, (_, i) => ({ name: 'chat-message', data: chat(sid, 2000 + i) })));
    await waitFor(
      async () => ((await Promise.all(singles.map((j) => j.getState()))).every((s) => s === 'completed') ? true : undefined),
      20_000,
      'the single-event jobs',
    );
    expect(worker.concurrency).toBe(50);
  });
});
