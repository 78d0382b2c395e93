import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNotifier, openNotificationsQueue } from '../../src/notify/notifications.js';
import { createNotificationWorker } from '../../src/notify/notify-worker.js';
import { createLogger } from '../../src/shared/logger.js';
import { createRedis } from '../../src/store/redis.js';
import { waitFor } from '../helpers/harness.js';
import { freePort, ROOT } from '../helpers/processes.js';
import { testConfig, testRedis, uniquePrefix } from '../helpers/redis.js';

/**
 * The receiver shown in docs/operations.md ("Receiving notifications"), run as written against a
 * worker's real deliveries: it takes a fresh one once, and recognises a repeat, a stale delivery
 * and a tampered one.
 */
const prefix = uniquePrefix('notify-receiver');
const config = testConfig(prefix);
const { cleanup } = testRedis(config);
const logger = createLogger(config);
const SECRET = 'receiver-s3cret';

async function exampleFromDocs(): Promise<string> {
  const page = await readFile(join(ROOT, 'docs', 'operations.md'), 'utf8');
  const marker = page.indexOf('<!-- test/notify/receiver-example.test.ts runs the next block -->');
  if (marker < 0) throw new Error('docs/operations.md has lost the receiver example marker');
  const block = /```js\n([\s\S]*?)\n```/.exec(page.slice(marker));
  if (!block) throw new Error('no js block after the receiver example marker');
  return block[1]!;
}

let dir: string;
let receiver: ChildProcess;
let receiverUrl: string;
let printed = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'automod-receiver-'));
  await writeFile(join(dir, 'receiver.mjs'), await exampleFromDocs());
  const port = await freePort();
  receiver = spawn(process.execPath, [join(dir, 'receiver.mjs')], {
    env: { PATH: process.env.PATH ?? '', AUTOMOD_NOTIFY_SECRET: SECRET, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  receiver.stdout!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  receiver.stderr!.on('data', (chunk: Buffer) => (printed += chunk.toString()));
  receiverUrl = `http://127.0.0.1:${port}/automod`;
  await waitFor(() =>
    fetch(receiverUrl, { method: 'POST', body: '{}' }).then(
      (r) => (r.status === 401 ? true : undefined),
      () => undefined,
    ),
  );
});

afterAll(async () => {
  receiver?.kill();
  await rm(dir, { recursive: true, force: true });
  await cleanup();
});

describe('the receiver example of docs/operations.md', () => {
  it('handles a delivery once; a repeat, a stale, a re-labelled and a tampered one are dropped', async () => {
    // A second receiver keeps a copy of what the worker sent, to send it again as an attacker would.
    const copies: { body: string; headers: IncomingHttpHeaders }[] = [];
    const capture = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        copies.push({ body, headers: req.headers });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', resolve));
    const captureUrl = `http://127.0.0.1:${(capture.address() as AddressInfo).port}/copy`;
    const notifyConfig = { urls: [receiverUrl, captureUrl], secret: SECRET, types: undefined, attempts: 1 };
    const queueConnection = createRedis(config.redis);
    const queue = openNotificationsQueue(queueConnection, config.keyPrefix, 1);
    const connection = createRedis(config.redis, { blocking: true });
    const worker = createNotificationWorker({ config: notifyConfig, keyPrefix: config.keyPrefix, connection, logger });
    void worker.run();
    try {
      const notify = createNotifier({ config: notifyConfig, queue, logger });
      await notify('review.created', { review: { participantId: 'p1' } }, 'Review needed: \u001b[31mAdmin\u001b[0m');
      await waitFor(() => (copies.length === 1 && /review\.created/.test(printed) ? true : undefined), 15_000, 'the delivery');
      const { body, headers } = copies[0]!;
      const id = headers['x-automod-delivery'] as string;
      expect(printed).toContain(id);
      // Hostile text reaches the receiver's terminal escaped.
      expect(printed).not.toContain('\u001b');
      expect(printed).toContain('\\u001b[31mAdmin');

      const send = (raw: string, extra: Record<string, string> = {}) =>
        fetch(receiverUrl, {
          method: 'POST',
          body: raw,
          headers: {
            'content-type': 'application/json',
            'x-automod-signature': headers['x-automod-signature'] as string,
            'x-automod-delivery': id,
            ...extra,
          },
        }).then((r) => r.status);
      // The captured delivery sent again: acknowledged, not handled again.
      expect(await send(body)).toBe(200);
      // Re-dated or re-labelled: the signature no longer matches, or the header no longer does.
      expect(await send(body.replace(/"at":"[^"]+"/, `"at":"${new Date().toISOString()}"`))).toBe(401);
      expect(await send(body.replace(/"id":"[^"]+"/, '"id":"another-id"'))).toBe(401);
      expect(await send(body, { 'x-automod-delivery': 'another-id' })).toBe(400);

      // A notification made ten minutes ago (a delivery held back and replayed late) is stale.
      const late = createNotifier({ config: notifyConfig, queue, logger, now: () => Date.now() - 10 * 60_000 });
      await late('ban.lifted', { ban: { participantId: 'p2' } }, 'ban of p2 lifted');
      const failed = await waitFor(async () => {
        const jobs = await queue.getFailed();
        return jobs.length === 1 ? jobs[0]! : undefined;
      }, 15_000);
      expect(failed.failedReason).toMatch(/answered 400/);
      expect(printed).not.toContain('ban.lifted');
      expect(printed.trim().split('\n')).toHaveLength(1);
    } finally {
      await worker.close();
      await queue.close();
      connection.disconnect();
      queueConnection.disconnect();
      capture.close();
    }
  });
});
