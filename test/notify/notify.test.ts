import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/shared/logger.js';
import { createNotifier, openNotificationsQueue, signBody } from '../../src/notify/notifications.js';
import { createNotificationWorker } from '../../src/notify/notify-worker.js';
import { createRedis } from '../../src/store/redis.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/harness.js';
import { REDIS_URL, testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

const prefix = uniquePrefix('notify');
const config = testConfig(prefix);
const { cleanup } = testRedis(config);
const logger = createLogger(config);
afterAll(cleanup);

describe('notifications', () => {
  it('a receiver that is down never blocks the caller; its deliveries end failed and automod replay --queue notifications resends them, signed', async () => {
    let up = false;
    // Until released, the receiver answers nothing at all.
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const received: { body: string; signature: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        void released.then(() => {
          if (!up) return void res.writeHead(503).end();
          received.push({ body, signature: String(req.headers['x-automod-signature']) });
          res.writeHead(200).end();
        });
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/in?token=slack-like-secret`;
    const notifyConfig = { urls: [url], secret: 's3cret', types: undefined, attempts: 2 };
    const queueConnection = createRedis(config.redis);
    const queue = openNotificationsQueue(queueConnection, config.keyPrefix, 2);
    const notify = createNotifier({ config: notifyConfig, queue, logger });
    const connection = createRedis(config.redis, { blocking: true });
    const worker = createNotificationWorker({ config: notifyConfig, keyPrefix: config.keyPrefix, connection, logger });
    void worker.run();
    try {
      // Answered while the receiver holds every delivery unanswered: the caller never waits for one.
      await notify('removals.paused', { pause: { reason: 'maintenance' } }, 'Removals paused: maintenance');
      release();
      const failed = await waitFor(async () => {
        const jobs = await queue.getFailed();
        return jobs.length === 1 ? jobs : undefined;
      }, 15_000);
      // The receiver's URL (a credential for Slack and Discord) is in neither the job nor its error.
      expect(JSON.stringify(failed[0]!.data) + failed[0]!.failedReason).not.toContain('slack-like-secret');
      expect(failed[0]!.failedReason).toMatch(/answered 503/);

      up = true;
      const replay = await runCli(['replay', '--queue', 'notifications', '--json'], {
        REDIS_URL,
        AUTOMOD_PREFIX: prefix,
        LOG_LEVEL: 'silent',
      });
      expect(replay.code).toBe(0);
      expect((JSON.parse(replay.stdout) as { replayed: unknown[] }).replayed).toHaveLength(1);
      await waitFor(() => (received.length === 1 ? true : undefined), 15_000);
      const { body, signature } = received[0]!;
      expect(signature).toBe(signBody(body, 's3cret'));
      expect(JSON.parse(body)).toMatchObject({
        type: 'removals.paused',
        text: 'Removals paused: maintenance',
        pause: { reason: 'maintenance' },
      });
    } finally {
      await worker.close();
      await queue.close();
      connection.disconnect();
      queueConnection.disconnect();
      server.close();
    }
  });

  it('automod pause and resume notify removals.paused and removals.resumed', async () => {
    const p = uniquePrefix('notify-pause');
    const env = { REDIS_URL, AUTOMOD_PREFIX: p, LOG_LEVEL: 'silent', USER: 'dana', AUTOMOD_NOTIFY_URLS: 'http://127.0.0.1:9/hook' };
    expect((await runCli(['pause', '--reason', 'maintenance'], env)).code).toBe(0);
    expect((await runCli(['resume'], env)).code).toBe(0);
    const c = testConfig(p);
    const own = testRedis(c);
    const queue = openNotificationsQueue(own.redis, c.keyPrefix);
    try {
      const jobs = await queue.getWaiting();
      const bodies = jobs.map((j) => JSON.parse(j.data.body) as { type: string; text: string });
      expect(bodies.map((b) => b.type).sort()).toEqual(['removals.paused', 'removals.resumed']);
      expect(bodies.find((b) => b.type === 'removals.paused')?.text).toBe('Removals paused by operator:dana: maintenance');
    } finally {
      await queue.close();
      await own.cleanup();
    }
  });

  it('automod ban and unban notify ban.created and ban.lifted', async () => {
    const p = uniquePrefix('notify-ban');
    const env = { REDIS_URL, AUTOMOD_PREFIX: p, LOG_LEVEL: 'silent', USER: 'erin', AUTOMOD_NOTIFY_URLS: 'http://127.0.0.1:9/hook' };
    const banned = await runCli(['ban', '--participant', 'bot-1', '--meeting', 'room-n', '--for', '24h', '--reason', 'raid'], env);
    expect(banned.code, banned.stderr).toBe(0);
    expect((await runCli(['unban', '--participant', 'bot-1', '--meeting', 'room-n'], env)).code).toBe(0);
    const c = testConfig(p);
    const own = testRedis(c);
    const queue = openNotificationsQueue(own.redis, c.keyPrefix);
    try {
      const bodies = (await queue.getWaiting()).map(
        (j) => JSON.parse(j.data.body) as { type: string; text: string; ban?: { participantId: string } },
      );
      expect(bodies.map((b) => b.type).sort()).toEqual(['ban.created', 'ban.lifted']);
      expect(bodies.find((b) => b.type === 'ban.created')).toMatchObject({ ban: { participantId: 'bot-1' } });
      expect(bodies.find((b) => b.type === 'ban.lifted')?.text).toBe('ban of bot-1 in meeting room-n lifted by operator:erin');
    } finally {
      await queue.close();
      await own.cleanup();
    }
  });

  it('AUTOMOD_NOTIFY_TYPES filters what is sent', async () => {
    const added: unknown[] = [];
    const notify = createNotifier({
      config: { urls: ['http://127.0.0.1:1/x'], secret: undefined, types: ['ban.created'] },
      queue: { addBulk: async (jobs: unknown[]) => (added.push(...jobs), []) } as never,
      logger,
    });
    await notify('review.created', {}, 'x');
    await notify('ban.created', {}, 'y');
    expect(added).toHaveLength(1);
  });
});
