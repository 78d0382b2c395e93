import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { createProducer, InvalidEventError, partitionOf, QueueAddError, type Producer } from 'meeting-automod';
import { afterAll, describe, expect, it } from 'vitest';
import { createServices } from '../../src/app/services.js';
import { createIngest } from '../../src/events/ingest.js';
import { buildHttpApp } from '../../src/http/app.js';
import { createLogger } from '../../src/shared/logger.js';
import { createEventProducer, openEventsQueue } from '../../src/events/producer.js';
import { createKeys } from '../../src/store/keys.js';
import { deletePrefix, REDIS_URL, testConfig, uniquePrefix } from '../helpers/redis.js';

// Used as an external user would: the package's own exports (dist must be built).
const prefix = uniquePrefix('producer');
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

const ev = (sessionId: string, i: number) => ({
  id: `${sessionId}-${i}`,
  type: 'chat-message',
  sessionId,
  participantId: 'p',
  data: { text: 'hi' },
});

async function batchJobs(k: number, partitions: number): Promise<{ name: string; events: { id: string; sessionId: string }[] }[]> {
  const queue = new Queue('events', { connection: redis, prefix: partitions === 1 ? `{${prefix}}` : `{${prefix}:p${k}}` });
  const jobs = await queue.getJobs(['waiting'], 0, 1000);
  await queue.close();
  return jobs.map((j) => ({ name: j.name, events: (j.data as { events: { id: string; sessionId: string }[] }).events }));
}

describe('the producer library', () => {
  it('validates, routes by partition and packs events into batch jobs', async () => {
    const producer: Producer = createProducer({ connection: redis, prefix, partitions: 4, batchMax: 3 });
    const sessions = ['s-1', 's-2', 's-3', 's-4', 's-5'];
    const many = await producer.addMany(sessions.flatMap((s) => [0, 1, 2, 3].map((i) => ev(s, i))));
    expect(many).toMatchObject({ accepted: 20, duplicates: 0 });
    const one = await producer.add(ev('s-1', 9));
    expect(one).toEqual({ id: 's-1-9', duplicate: false });
    expect(await producer.add(ev('s-1', 9))).toEqual({ id: 's-1-9', duplicate: true });
    await expect(producer.add({ type: 'chat-message', sessionId: 's' })).rejects.toThrow(InvalidEventError);
    await expect(producer.add({ type: 'chat-message', sessionId: 's' })).rejects.toThrow(
      /\$\.participantId: is required for "chat-message" events/,
    );
    await expect(producer.addMany([ev('s-1', 20), { type: 'x' }])).rejects.toThrow(/\$\[1\]\.sessionId: is required/);
    await producer.close();
    // An instance passed in stays open.
    expect(await redis.ping()).toBe('PONG');
    const seen = new Map<string, number>();
    for (let k = 0; k < 4; k++) {
      for (const job of await batchJobs(k, 4)) {
        expect(job.name).toBe('batch');
        expect(job.events.length).toBeLessThanOrEqual(3);
        for (const e of job.events) {
          expect(partitionOf(e.sessionId, 4)).toBe(k);
          seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
        }
      }
    }
    expect(seen.size).toBe(21);
    expect([...seen.values()].every((n) => n === 1)).toBe(true);
  });

  it('opens and closes its own connection from options; refuses bad options', async () => {
    const url = new URL(REDIS_URL);
    const producer = createProducer({ connection: { host: url.hostname, port: Number(url.port || 6379) }, prefix });
    expect(await producer.addMany([ev('own', 1)])).toMatchObject({ accepted: 1 });
    await producer.close();
    expect((await batchJobs(0, 1)).some((j) => j.events.some((e) => e.id === 'own-1'))).toBe(true);
    expect(() => createProducer({ connection: redis, partitions: 0 })).toThrow(/partitions must be a whole number/);
    expect(() => createProducer({ connection: redis, prefix: '{x}' })).toThrow(/prefix must be a plain name/);
  });

  it('a failed add throws QueueAddError and releases the seen-markers, so the retry is not a duplicate', async () => {
    // The queue's own connection goes nowhere (the seen-markers' connection works).
    const broken = new Redis('redis://127.0.0.1:1', { maxRetriesPerRequest: 0, retryStrategy: () => null });
    broken.on('error', () => undefined);
    const queue = openEventsQueue(broken, prefix, 0, 1);
    queue.on('error', () => undefined);
    const keys = createKeys(`{${prefix}}`);
    const core = createEventProducer({ redis, keys, queues: [queue], batchMax: 10, lingerMs: 0, dedupSeconds: 60 });
    const event = { ...ev('fail', 1), timestamp: new Date().toISOString() };
    await expect(core.addMany([event])).rejects.toMatchObject({ name: QueueAddError.name, code: 'ERR_QUEUE_ADD', retryable: true });
    expect(await redis.exists(keys.eventSeen(event.id))).toBe(0);

    // Over HTTP: 503 with Retry-After, nothing acknowledged; the same events are accepted once the queue takes them.
    const config = testConfig(prefix);
    const services = createServices(config, createLogger({ logLevel: 'silent' }));
    const app = await buildHttpApp({
      ...services,
      ingest: createIngest({ producer: core }),
      apiToken: undefined,
      webhookPublicKey: undefined,
    });
    try {
      for (const body of [event, [event, { ...event, id: 'fail-2' }]]) {
        const res = await app.inject({ method: 'POST', url: '/v1/events', payload: body });
        expect(res.statusCode).toBe(503);
        expect(res.headers['retry-after']).toBeDefined();
        expect(res.json()).toMatchObject({ code: 'ERR_QUEUE_ADD', error: expect.stringMatching(/nothing was queued, try again/) });
      }
      // The retry, once a queue takes it, is not a duplicate.
      const working = openEventsQueue(redis, prefix, 0, 1);
      const retry = createEventProducer({ redis, keys, queues: [working], batchMax: 10, lingerMs: 0, dedupSeconds: 60 });
      expect(await retry.addMany([event, { ...event, id: 'fail-2' }])).toEqual([false, false]);
      await working.close();
    } finally {
      await app.close();
      await services.close();
    }
    await queue.close().catch(() => undefined);
    broken.disconnect();
  });
});
