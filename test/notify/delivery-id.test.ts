import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createNotifier, openNotificationsQueue, signBody } from '../../src/notify/notifications.js';
import { createNotificationWorker } from '../../src/notify/notify-worker.js';
import { createLogger } from '../../src/shared/logger.js';
import { createRedis } from '../../src/store/redis.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/harness.js';
import { REDIS_URL, testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('notify-id');
const config = testConfig(prefix);
const { cleanup } = testRedis(config);
const logger = createLogger(config);
afterAll(cleanup);

interface Delivery {
  body: string;
  headers: IncomingHttpHeaders;
}

describe('notification ids (replay protection)', () => {
  it('each notification has its own id, in the signed body and in X-Automod-Delivery, the same on every retry and on a replay', async () => {
    const received: Delivery[] = [];
    const refusedOnce = new Set<string>();
    let down = true;
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ body, headers: req.headers });
        const { type, id } = JSON.parse(body) as { type: string; id: string };
        // ban.created: its first try is refused, its retry taken. ban.lifted: refused while down.
        if (type === 'ban.created' && !refusedOnce.has(id)) {
          refusedOnce.add(id);
          return void res.writeHead(503).end();
        }
        res.writeHead(type === 'ban.lifted' && down ? 503 : 200).end();
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    const notifyConfig = { urls: [url], secret: 'n0tify', types: undefined, attempts: 2 };
    const queueConnection = createRedis(config.redis);
    const queue = openNotificationsQueue(queueConnection, config.keyPrefix, 2);
    const notify = createNotifier({ config: notifyConfig, queue, logger });
    const connection = createRedis(config.redis, { blocking: true });
    const worker = createNotificationWorker({ config: notifyConfig, keyPrefix: config.keyPrefix, connection, logger });
    void worker.run();
    try {
      const before = Date.now();
      await notify('ban.created', { ban: { participantId: 'p1' }, id: 'forged', at: '2000-01-01T00:00:00.000Z' }, 'p1 banned');
      await notify('ban.lifted', { ban: { participantId: 'p1' } }, 'ban of p1 lifted');
      const ofType = (type: string) => received.filter((d) => (JSON.parse(d.body) as { type: string }).type === type);
      await waitFor(() => (ofType('ban.created').length === 2 ? true : undefined), 15_000, 'the retry of ban.created');
      await waitFor(async () => ((await queue.getFailed()).length === 1 ? true : undefined), 15_000, 'ban.lifted to fail');

      for (const { body, headers } of received) {
        const note = JSON.parse(body) as { id: string; at: string };
        // The id and the time are in the body the signature covers, and the header repeats the id.
        expect(note.id).toMatch(/^[0-9a-f-]{36}$/);
        expect(headers['x-automod-delivery']).toBe(note.id);
        expect(headers['x-automod-signature']).toBe(signBody(body, 'n0tify'));
        expect(Date.parse(note.at)).toBeGreaterThanOrEqual(before - 1000);
      }
      const created = ofType('ban.created');
      // The retry sends the very same bytes: same id, same at, same signature.
      expect(created[1]!.body).toBe(created[0]!.body);
      expect(created[1]!.headers['x-automod-delivery']).toBe(created[0]!.headers['x-automod-delivery']);
      // A record's own `id` or `at` cannot replace the envelope's.
      expect(JSON.parse(created[0]!.body)).toMatchObject({ type: 'ban.created', text: 'p1 banned', ban: { participantId: 'p1' } });
      expect(created[0]!.body).not.toContain('forged');
      expect(created[0]!.body).not.toContain('2000-01-01');

      const lifted = ofType('ban.lifted');
      expect(lifted).toHaveLength(2);
      const liftedId = lifted[0]!.headers['x-automod-delivery'];
      expect(liftedId).not.toBe(created[0]!.headers['x-automod-delivery']);

      // A replay is a redelivery of the same notification: the receiver recognises it by its id.
      down = false;
      const replay = await runCli(['replay', '--queue', 'notifications', '--json'], {
        REDIS_URL,
        AUTOMOD_PREFIX: prefix,
        LOG_LEVEL: 'silent',
      });
      expect(replay.code, replay.stderr).toBe(0);
      await waitFor(() => (ofType('ban.lifted').length === 3 ? true : undefined), 15_000, 'the replayed ban.lifted');
      const replayed = ofType('ban.lifted')[2]!;
      expect(replayed.headers['x-automod-delivery']).toBe(liftedId);
      expect(replayed.body).toBe(lifted[0]!.body);
    } finally {
      await worker.close();
      await queue.close();
      connection.disconnect();
      queueConnection.disconnect();
      server.close();
    }
  });
});
