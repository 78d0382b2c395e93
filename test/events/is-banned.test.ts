import { Redis } from 'ioredis';
import { createProducer, GateUnavailableError } from 'meeting-automod';
import { afterAll, describe, expect, it } from 'vitest';
import { createBanStore } from '../../src/store/bans.js';
import { createKeys } from '../../src/store/keys.js';
import { freePort } from '../helpers/processes.js';
import { deletePrefix, REDIS_URL, uniquePrefix } from '../helpers/redis.js';

// Used as a token server would: the package's own exports (dist must be built).
const prefix = uniquePrefix('is-banned');
const redis = new Redis(REDIS_URL);
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('producer.isBanned (the token gate for servers that reach Redis)', () => {
  it('answers as GET /v1/bans/check does, before and after the ban ends', async () => {
    const producer = createProducer({ connection: redis, prefix, partitions: 4 });
    const bans = createBanStore({ redis, keys: createKeys(`{${prefix}}`) });
    expect(await producer.isBanned('room-1', 'p1')).toEqual({ banned: false });
    await bans.create({ participantId: 'p1', scope: 'meeting', meetingId: 'room-1', forMs: 300, reason: 'spam', rule: 'r', by: 'rule:r' });
    const answer = await producer.isBanned('room-1', 'p1');
    expect(answer).toMatchObject({ banned: true, reason: 'spam', scope: 'meeting', rule: 'r' });
    expect(await producer.isBanned('room-2', 'p1')).toEqual({ banned: false });
    await new Promise((r) => setTimeout(r, 350));
    expect(await producer.isBanned('room-1', 'p1')).toEqual({ banned: false });
    await expect(producer.isBanned('', 'p1')).rejects.toThrow(/meetingId must be a non-empty string/);
    await producer.close();
  });

  it('never answers "not banned" when Redis is unreachable: it throws GateUnavailableError', async () => {
    const closedPort = await freePort();
    // A URL: the producer's own connection, which gives up after a few tries.
    const connectionErrors: Error[] = [];
    const byUrl = createProducer({ connection: `redis://127.0.0.1:${closedPort}`, prefix, onError: (err) => connectionErrors.push(err) });
    const answer = byUrl.isBanned('room-1', 'p1');
    await expect(answer).rejects.toBeInstanceOf(GateUnavailableError);
    await expect(answer).rejects.toMatchObject({ code: 'ERR_GATE_UNAVAILABLE', retryable: true, message: /no gate verdict/ });
    // Reconnect failures go to onError (instead of BullMQ's console output).
    expect(connectionErrors.some((err) => /ECONNREFUSED/.test(err.message))).toBe(true);
    await byUrl.close();

    // A connection made for BullMQ workers (`maxRetriesPerRequest: null`) would wait for Redis for
    // ever; the gate answers "no verdict" after its own timeout instead.
    const patient = new Redis({ port: closedPort, maxRetriesPerRequest: null, retryStrategy: () => 50 });
    patient.on('error', () => undefined);
    const byInstance = createProducer({ connection: patient, prefix, gateTimeoutMs: 300 });
    try {
      await expect(byInstance.isBanned('room-1', 'p1')).rejects.toMatchObject({
        name: 'GateUnavailableError',
        code: 'ERR_GATE_UNAVAILABLE',
        message: /Redis did not answer within 300 ms/,
      });
      await expect(byInstance.checkGate({ meetingId: 'room-1', participantId: 'p1' })).rejects.toMatchObject({
        code: 'ERR_GATE_UNAVAILABLE',
        message: /Redis did not answer within 300 ms/,
      });
    } finally {
      await byInstance.close();
      patient.disconnect();
    }
    expect(() => createProducer({ connection: redis, prefix, gateTimeoutMs: 0 })).toThrow(/gateTimeoutMs must be a whole number/);
  }, 20_000);
});
