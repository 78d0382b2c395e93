import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startAutomod, type RunningAutomod } from '../../src/app/automod.js';
import { createLogger } from '../../src/shared/logger.js';
import { createSimulator, type SimWebhookDelivery, type Simulator } from '../../src/simulator/simulator.js';
import { runCli } from '../helpers/cli.js';
import { waitFor } from '../helpers/harness.js';
import { deletePrefix, testConfig, uniquePrefix } from '../helpers/redis.js';
import { createRedis } from '../../src/store/redis.js';

/**
 * The simulator delivers VideoSDK webhooks, signed with its own key, to a worker that was given
 * that key (`VIDEOSDK_WEBHOOK_PUBLIC_KEY`): a newcomer can try signed webhooks without openssl.
 */
const prefix = uniquePrefix('sim-webhooks');
const SESSION = '5e55100000000000000000a1';
const ROOM = 'sim-room-1';
let sim: Simulator;
let automod: RunningAutomod;
let webhookUrl: string;

beforeAll(async () => {
  sim = createSimulator();
  const simUrl = await sim.listen(0);
  const config = testConfig(prefix, {
    VIDEOSDK_API_BASE: simUrl,
    VIDEOSDK_TOKEN: 'sim-token',
    VIDEOSDK_WEBHOOK_PUBLIC_KEY: sim.webhookPublicKey(),
    AUTOMOD_HTTP_PORT: '0',
    AUTOMOD_RULES: 'rules',
    AUTOMOD_API_TOKEN: 'api-token-for-sim-webhooks',
  });
  automod = await startAutomod(config, createLogger(config), { watchRules: false });
  webhookUrl = `${automod.url}/v1/webhooks/videosdk`;
});

afterAll(async () => {
  await automod?.close();
  await sim?.close();
  const redis = createRedis(testConfig(prefix).redis);
  await deletePrefix(redis, prefix);
  await redis.quit();
});

async function control(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(`${sim.url}${path}`, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
  });
  const text = await response.text();
  try {
    return { status: response.status, body: JSON.parse(text) as unknown };
  } catch {
    return { status: response.status, body: text };
  }
}

async function auditOf(participantId: string): Promise<{ kind: string; rule?: string; outcome?: string }[]> {
  const response = await fetch(`${automod.url}/v1/audit?participantId=${participantId}`, {
    headers: { authorization: 'Bearer api-token-for-sim-webhooks' },
  });
  return ((await response.json()) as { records: { kind: string; rule?: string; outcome?: string }[] }).records;
}

describe('webhooks from the simulator', () => {
  it('a join through the control API reaches the worker as a signed participant-joined, which it moderates', async () => {
    expect((await control('POST', '/_sim/options', { webhookUrl })).body).toMatchObject({ webhookUrl });
    expect((await control('POST', '/_sim/sessions', { id: SESSION, meetingId: ROOM })).status).toBe(201);
    const joined = await control('POST', `/_sim/sessions/${SESSION}/participants`, { participantId: 'fake-admin', name: 'Admin Team' });
    expect(joined.status).toBe(200);
    // The control call answered after its webhooks went out; the worker accepted them as signed.
    const { webhooks } = (await control('GET', '/_sim/webhooks')).body as { webhooks: SimWebhookDelivery[] };
    expect(webhooks.map((w) => [w.webhookType, w.status])).toEqual([
      ['session-started', 202],
      ['participant-joined', 202],
    ]);
    expect(JSON.parse(webhooks[1]!.body)).toEqual({
      webhookType: 'participant-joined',
      data: { meetingId: ROOM, sessionId: SESSION, participantId: 'fake-admin', participantName: 'Admin Team' },
    });
    // The impersonation rule removes them through the simulator, which then sends participant-left.
    await waitFor(() => (sim.getSession(SESSION)?.participants[0]?.timelog[0]?.end ? true : undefined), 15_000, 'the removal');
    await expect
      .poll(async () => (await auditOf('fake-admin')).find((r) => r.kind === 'removal')?.outcome, { timeout: 15_000 })
      .toBe('removed');
    await sim.webhooksSettled();
    expect(sim.webhookDeliveries().map((w) => [w.webhookType, w.status])).toContainEqual(['participant-left', 202]);
  });

  it('a tampered or unsigned body is refused with 401; POST /_sim/webhooks sends any webhook, signed', async () => {
    const sent = await control('POST', '/_sim/webhooks', {
      webhookType: 'participant-joined',
      data: { meetingId: ROOM, sessionId: SESSION, participantId: 'guest-1', participantName: 'Guest' },
    });
    expect(sent.status).toBe(200);
    const delivery = sent.body as SimWebhookDelivery;
    expect(delivery).toMatchObject({ webhookType: 'participant-joined', url: webhookUrl, status: 202 });
    expect(delivery.signature).toBe(sim.signWebhook(delivery.body));

    const post = (body: string, signature?: string) =>
      fetch(webhookUrl, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', ...(signature === undefined ? {} : { 'videosdk-signature': signature }) },
      }).then((r) => r.status);
    expect(await post(delivery.body.replace('Guest', 'Admin'), delivery.signature)).toBe(401);
    expect(await post(delivery.body)).toBe(401);
    // Signed by another key (another simulator): refused too.
    const other = createSimulator();
    expect(await post(delivery.body, other.signWebhook(delivery.body))).toBe(401);
    expect(await post(delivery.body, delivery.signature)).toBe(202);

    expect((await control('POST', '/_sim/webhooks', { webhookType: 'x', url: 'ftp://nowhere' })).status).toBe(400);
    await control('POST', '/_sim/options', { webhookUrl: null });
    const nowhere = await control('POST', '/_sim/webhooks', { webhookType: 'participant-left', data: { meetingId: 'no-such-room' } });
    expect(nowhere).toMatchObject({ status: 400, body: { error: /nowhere to send it/ } });
  });

  it('a room created with its own webhook gets the events it lists there; an unreachable receiver is logged, not an error', async () => {
    const received: { body: string; signature: string | undefined }[] = [];
    const receiver = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        received.push({ body, signature: req.headers['videosdk-signature'] as string | undefined });
        res.writeHead(200).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    try {
      const endPoint = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`;
      const room = await fetch(`${sim.url}/v2/rooms`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: 'any' },
        body: JSON.stringify({ webhook: { endPoint, events: ['participant-*'] } }),
      }).then((r) => r.json() as Promise<{ roomId: string }>);
      sim.setWebhookUrl(webhookUrl);
      const session = sim.addSession({ roomId: room.roomId, participants: [{ participantId: 'p1', name: 'Ann' }] });
      sim.leave(session.id, 'p1');
      await sim.webhooksSettled();
      // session-started and session-ended are not in the room's list; nothing went to the worker's URL.
      expect(received.map((r) => (JSON.parse(r.body) as { webhookType: string }).webhookType)).toEqual([
        'participant-joined',
        'participant-left',
      ]);
      expect(received.every((r) => r.signature === sim.signWebhook(r.body))).toBe(true);
      expect(sim.webhookDeliveries().filter((d) => d.url === webhookUrl && JSON.parse(d.body).data.sessionId === session.id)).toEqual([]);

      sim.setWebhookUrl('http://127.0.0.1:9/nobody');
      sim.addSession({ meetingId: 'room-without-receiver' });
      await sim.webhooksSettled();
      expect(sim.webhookDeliveries().at(-1)).toMatchObject({ webhookType: 'session-started', status: null, error: expect.any(String) });
    } finally {
      sim.setWebhookUrl(undefined);
      receiver.close();
    }
  });
});

describe('automod simulator --webhook-key', () => {
  it('makes the key file once (mode 0600) and prints the same public key each time; refuses a bad key file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'automod-sim-key-'));
    try {
      const file = join(dir, 'webhook.pem');
      const first = await runCli(['simulator', '--webhook-key', file, '--print-public-key'], {});
      expect(first.code, first.stderr).toBe(0);
      expect(first.stdout).toMatch(/^-----BEGIN PUBLIC KEY-----\n[\s\S]+-----END PUBLIC KEY-----\n$/);
      expect((await stat(file)).mode & 0o777).toBe(0o600);
      expect(await readFile(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      const again = await runCli(['simulator', '--webhook-key', file, '--print-public-key'], {});
      expect(again.stdout).toBe(first.stdout);

      const alone = await runCli(['simulator', '--print-public-key'], {});
      expect(alone.code).toBe(2);
      expect(alone.stderr).toMatch(/--print-public-key needs --webhook-key FILE/);
      const bad = join(dir, 'bad.pem');
      await writeFile(bad, 'not a key');
      const refused = await runCli(['simulator', '--webhook-key', bad, '--print-public-key'], {});
      expect(refused.code).toBe(2);
      expect(refused.stderr).toMatch(/--webhook-key .*bad\.pem: the webhook key is not a PEM private key/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
