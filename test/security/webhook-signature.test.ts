import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionId, startHarness, waitFor, type Harness } from '../helpers/harness.js';

/**
 * With `VIDEOSDK_WEBHOOK_PUBLIC_KEY` set, `POST /v1/webhooks/videosdk` takes only bodies signed
 * with the matching private key (`videosdk-signature`: base64 RSA-SHA256 of the raw body). A
 * missing or bad signature is 401 whatever else the request carries: a valid API token, a
 * different content type, a malformed body.
 */
const API_TOKEN = 'api-token-for-webhook-tests-0123456789';

function keyPair(): { publicPem: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  return { publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey };
}

describe('webhook signatures', () => {
  const videosdk = keyPair();
  const stranger = keyPair();
  let h: Harness;

  beforeAll(async () => {
    // The PEM goes in with "\n" escapes, as it would in an environment file.
    h = await startHarness('webhook-sig', {
      VIDEOSDK_WEBHOOK_PUBLIC_KEY: videosdk.publicPem.replace(/\n/g, '\\n'),
      AUTOMOD_API_TOKEN: API_TOKEN,
    });
  });
  afterAll(async () => {
    await h?.close();
  });

  const signed = (body: string, key = videosdk.privateKey) => sign('RSA-SHA256', Buffer.from(body), key).toString('base64');

  async function post(body: string, headers: Record<string, string>, query = '') {
    const response = await fetch(`${h.automod.url}/v1/webhooks/videosdk${query}`, { method: 'POST', body, headers });
    const text = await response.text();
    return { status: response.status, text };
  }

  function webhook(sid: string, participantId = 'p1'): string {
    return JSON.stringify({
      webhookType: 'participant-joined',
      data: { meetingId: 'room-w', sessionId: sid, participantId, participantName: 'Admin Wh' },
    });
  }

  it('accepts a correctly signed body and queues its event', async () => {
    const sid = sessionId();
    h.simulator.addSession({ id: sid, meetingId: 'room-w', participants: [{ participantId: 'p1', name: 'Admin Wh' }] });
    const body = webhook(sid);
    const res = await post(body, { 'content-type': 'application/json', 'videosdk-signature': signed(body) });
    expect(res.status).toBe(202);
    expect(JSON.parse(res.text)).toMatchObject({ accepted: 1, duplicates: 0 });
    // And it went all the way: the impersonating name was removed.
    await waitFor(async () => ((await h.automod.services.sessions.get(sid))?.removals.length ? true : undefined), 10_000, 'the removal');
  });

  it('accepts the signature whatever the formatting of the body (it covers the raw bytes)', async () => {
    const body = `{ "webhookType" : "session-started",\n  "data": { "sessionId": "${sessionId()}", "meetingId": "room-w" } }`;
    const res = await post(body, { 'content-type': 'application/json; charset=utf-8', 'videosdk-signature': signed(body) });
    expect(res.status).toBe(202);
  });

  const body = webhook('6f0000000000000000000001');
  const cases: [string, () => { body: string; headers: Record<string, string>; query?: string }][] = [
    ['no signature', () => ({ body, headers: { 'content-type': 'application/json' } })],
    ['an empty signature', () => ({ body, headers: { 'content-type': 'application/json', 'videosdk-signature': '' } })],
    [
      'a signature by another key',
      () => ({ body, headers: { 'content-type': 'application/json', 'videosdk-signature': signed(body, stranger.privateKey) } }),
    ],
    [
      'the signature of another body',
      () => ({ body, headers: { 'content-type': 'application/json', 'videosdk-signature': signed(`${body} `) } }),
    ],
    [
      'a body changed after signing',
      () => ({
        body: body.replace('Admin Wh', 'Admin Xx'),
        headers: { 'content-type': 'application/json', 'videosdk-signature': signed(body) },
      }),
    ],
    [
      'a signature that is not base64',
      () => ({ body, headers: { 'content-type': 'application/json', 'videosdk-signature': '%%% not base64 %%%' } }),
    ],
    [
      'a valid API bearer token but no signature',
      () => ({ body, headers: { 'content-type': 'application/json', authorization: `Bearer ${API_TOKEN}` } }),
    ],
    [
      'a valid ?token= but a bad signature',
      () => ({
        body,
        headers: { 'content-type': 'application/json', 'videosdk-signature': signed(body, stranger.privateKey) },
        query: `?token=${API_TOKEN}`,
      }),
    ],
    ['a malformed JSON body and no signature', () => ({ body: '{"webhookType": ', headers: { 'content-type': 'application/json' } })],
    [
      'a text/plain body and a bad signature',
      () => ({ body, headers: { 'content-type': 'text/plain', 'videosdk-signature': signed(body, stranger.privateKey) } }),
    ],
    ['no content type and no signature', () => ({ body, headers: {} })],
  ];

  it.each(cases)('refuses %s with 401', async (_label, make) => {
    const before = await h.automod.services.queues.events.count();
    const request = make();
    const res = await post(request.body, request.headers, request.query);
    expect(res.status).toBe(401);
    expect(res.text).not.toContain('"accepted"');
    expect(await h.automod.services.queues.events.count()).toBe(before);
  });

  it('counts a replayed signed webhook once (the signature covers only the body, so the body is the id)', async () => {
    const sid = sessionId();
    const body = webhook(sid, 'p-replay');
    const answers = [];
    for (let i = 0; i < 4; i++) {
      const res = await post(body, { 'content-type': 'application/json', 'videosdk-signature': signed(body) });
      expect(res.status).toBe(202);
      answers.push(JSON.parse(res.text) as { accepted: number; duplicates: number });
    }
    expect(answers.map((a) => [a.accepted, a.duplicates])).toEqual([
      [1, 0],
      [0, 1],
      [0, 1],
      [0, 1],
    ]);
  });

  it('verifies the raw bytes whatever the content type, or none, then parses them as JSON', async () => {
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', undefined]) {
      const body = JSON.stringify({ webhookType: 'session-started', data: { sessionId: sessionId(), meetingId: 'room-w' } });
      const res = await post(body, { ...(type ? { 'content-type': type } : {}), 'videosdk-signature': signed(body) });
      expect(res.status, String(type)).toBe(202);
    }
    const notJson = 'webhookType=session-started';
    const res = await post(notJson, { 'content-type': 'application/x-www-form-urlencoded', 'videosdk-signature': signed(notJson) });
    expect(res.status).toBe(400);
    expect(res.text).toMatch(/body is not valid JSON/);
  });

  async function ignoredCount(reason: string): Promise<number> {
    const text = (await h.api('GET', '/metrics', undefined, { authorization: `Bearer ${API_TOKEN}` })).body as string;
    const line = text.split('\n').find((l) => l.startsWith(`automod_webhooks_ignored_total{reason="${reason}"}`));
    return line ? Number(line.split(' ').at(-1)) : 0;
  }

  it('answers 200 "ignored" to a signed webhook that carries nothing to moderate, queues nothing and counts it', async () => {
    const cases: [string, string][] = [
      [JSON.stringify({ webhookType: 'session-started' }), 'no-session'],
      [JSON.stringify({ webhookType: 'session-ended', data: null }), 'no-session'],
      [JSON.stringify({ webhookType: 'participant-joined', data: { meetingId: 'r' } }), 'no-session'],
      [
        JSON.stringify({ webhookType: 'participant-left', data: { meetingId: 'r', sessionId: sessionId(), participantId: ' ' } }),
        'no-participant',
      ],
    ];
    for (const [body, reason] of cases) {
      const before = { queued: await h.automod.services.queues.events.count(), counted: await ignoredCount(reason) };
      const res = await post(body, { 'content-type': 'application/json', 'videosdk-signature': signed(body) });
      expect(res.status, body).toBe(200);
      expect(JSON.parse(res.text), body).toEqual({ ignored: true, reason, message: expect.stringMatching(/nothing to moderate/) });
      expect(await ignoredCount(reason)).toBe(before.counted + 1);
      expect(await h.automod.services.queues.events.count()).toBe(before.queued);
    }
    // Authentic first: the same body unsigned is refused.
    const unsigned = await post(cases[0]![0], { 'content-type': 'application/json' });
    expect(unsigned.status).toBe(401);
  });

  it('answers 400 (after the signature) for a signed body that is not a webhook or holds wrong values', async () => {
    for (const bad of [
      JSON.stringify({ data: { sessionId: 's' } }),
      JSON.stringify([{ webhookType: 'session-started' }]),
      JSON.stringify({ webhookType: 'participant-joined', data: { sessionId: 42, participantId: 'p' } }),
    ]) {
      const res = await post(bad, { 'content-type': 'application/json', 'videosdk-signature': signed(bad) });
      expect(res.status, bad).toBe(400);
      expect(JSON.parse(res.text), bad).toMatchObject({ code: 'ERR_INVALID_EVENT', details: [expect.anything()] });
    }
  });
});
