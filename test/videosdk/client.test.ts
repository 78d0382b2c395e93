import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { VideoSdkApiError } from '../../src/shared/errors.js';
import { createSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { createVideoSdkClient, type ApiAttempt, type VideoSdkClient } from '../../src/videosdk/client.js';
import { createTokenProvider } from '../../src/videosdk/token.js';

const SECRET = 'client-test-secret';
const API_KEY = 'client-test-key';
const SESSION = '61adc697a239e84d0aaa7e15';
const ROOM = 'abcd-efgh-ijkl';

let sim: Simulator;
let base: string;
const tokens = createTokenProvider({ token: undefined, apiKey: API_KEY, secret: SECRET });
let attempts: ApiAttempt[];
const clients: VideoSdkClient[] = [];

function client(
  apiVersion: 'v1' | 'v2',
  overrides: { timeoutMs?: number; apiBase?: string; tokens?: { get(): Promise<string> } } = {},
): VideoSdkClient {
  const c = createVideoSdkClient({
    apiBase: overrides.apiBase ?? base,
    apiVersion,
    timeoutMs: overrides.timeoutMs ?? 2000,
    tokens: overrides.tokens ?? tokens,
    onAttempt: (a) => attempts.push(a),
  });
  clients.push(c);
  return c;
}

async function failure(promise: Promise<unknown>): Promise<VideoSdkApiError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(VideoSdkApiError);
    return err as VideoSdkApiError;
  }
  throw new Error('expected the call to fail');
}

beforeAll(async () => {
  sim = createSimulator({ secret: SECRET, apiKey: API_KEY });
  base = await sim.listen();
});
afterAll(async () => {
  for (const c of clients) c.close();
  await sim.close();
});
beforeEach(() => {
  sim.reset();
  attempts = [];
  sim.addSession({
    id: SESSION,
    meetingId: ROOM,
    participants: [
      { participantId: 'p1', name: 'Ann' },
      { participantId: 'p2', name: 'Bob' },
      { participantId: 'p 3/x', name: 'Odd' },
    ],
  });
});

describe('request shapes', () => {
  it('v1 remove: POST /v1/meeting-sessions/{id}/remove-participant with {participantId}, raw JWT', async () => {
    const response = await client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p1', roomId: ROOM });
    expect(response.status).toBe(200);
    expect(response.session?.meetingId).toBe(ROOM);
    expect(response.session?.participants.find((p) => p.participantId === 'p1')?.timelog.at(-1)?.end).not.toBeNull();
    const [call] = sim.calls();
    const token = await tokens.get();
    expect(call).toMatchObject({
      method: 'POST',
      path: `/v1/meeting-sessions/${SESSION}/remove-participant`,
      operation: 'remove',
      participantId: 'p1',
      status: 200,
      applied: true,
      authorized: true,
      authorization: token,
      body: { participantId: 'p1' },
    });
    expect(call?.authorization).not.toMatch(/^Bearer/i);
    expect(call?.contentType).toMatch(/^application\/json/);
    expect(response.requestId).toBe(call?.requestId);
    expect(attempts).toEqual([
      expect.objectContaining({ method: 'POST', operation: 'remove', status: 200, path: call?.path, requestId: call?.requestId }),
    ]);
  });

  it('v2 remove: POST /v2/sessions/participants/remove with {participantId, roomId, sessionId}', async () => {
    const response = await client('v2').removeParticipant({ sessionId: SESSION, participantId: 'p2', roomId: ROOM });
    expect(response.session?.roomId).toBe(ROOM);
    const [call] = sim.calls();
    expect(call).toMatchObject({
      method: 'POST',
      path: '/v2/sessions/participants/remove',
      applied: true,
      body: { participantId: 'p2', roomId: ROOM, sessionId: SESSION },
    });
  });

  it('v2 remove leaves roomId out when unknown', async () => {
    await client('v2').removeParticipant({ sessionId: SESSION, participantId: 'p2' });
    expect(sim.calls()[0]?.body).toEqual({ participantId: 'p2', sessionId: SESSION });
    expect(sim.stats().removalsByParticipant).toEqual({ [`${SESSION}/p2`]: 1 });
  });

  it('URL-encodes ids in paths', async () => {
    await client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p 3/x' });
    const weird = 'a/b?c';
    const err = await failure(client('v1').getSession(weird));
    expect(err.status).toBe(404);
    expect(sim.calls().map((c) => c.path)).toEqual([
      `/v1/meeting-sessions/${SESSION}/remove-participant`,
      `/v1/meeting-sessions/${encodeURIComponent(weird)}`,
    ]);
    expect(sim.calls()[1]?.sessionId).toBe(weird);
  });

  it('fetches the session: v1 and v2 paths', async () => {
    const v1 = await client('v1').getSession(SESSION);
    const v2 = await client('v2').getSession(SESSION);
    expect(v1.session?.participants).toHaveLength(3);
    expect(v2.session?.roomId).toBe(ROOM);
    expect(sim.calls().map((c) => `${c.method} ${c.path} ${c.operation}`)).toEqual([
      `GET /v1/meeting-sessions/${SESSION} get-session`,
      `GET /v2/sessions/${SESSION} get-session`,
    ]);
  });

  it('v2 active participants: pages merged, data as array or object', async () => {
    for (let i = 0; i < 120; i++) sim.join(SESSION, `extra-${i}`, `Extra ${i}`);
    sim.leave(SESSION, 'p2');
    const response = await client('v2').getActiveParticipants(SESSION);
    expect(response.session?.participants).toHaveLength(122);
    expect(response.session?.participants.some((p) => p.participantId === 'p2')).toBe(false);
    expect(attempts.map((a) => a.path)).toEqual(Array(3).fill(`/v2/sessions/${SESSION}/participants/active`));
    expect(attempts.every((a) => a.operation === 'get-active' && a.status === 200)).toBe(true);

    sim.setActiveDataShape('object');
    const again = await client('v2').getActiveParticipants(SESSION);
    expect(again.session?.participants).toHaveLength(122);
  });

  it('v1 active participants: the session, filtered to those still in it', async () => {
    sim.leave(SESSION, 'p1');
    const response = await client('v1').getActiveParticipants(SESSION);
    expect(response.session?.participants.map((p) => p.participantId)).toEqual(['p2', 'p 3/x']);
    expect(sim.calls()[0]?.path).toBe(`/v1/meeting-sessions/${SESSION}`);
  });

  it('keeps a plain-text 2xx body as text, with no session', async () => {
    sim.addFault({ operation: 'remove', status: 200, body: 'Participant removed' });
    const response = await client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p1' });
    expect(response.body).toBe('Participant removed');
    expect(response.session).toBeUndefined();
  });
});

describe('failures', () => {
  it('404 and 400 are permanent, with the server message and request id', async () => {
    sim.leave(SESSION, 'p1');
    const err = await failure(client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p1' }));
    expect(err).toMatchObject({ kind: 'permanent', status: 404, method: 'POST', mayHaveApplied: false, retryable: false });
    expect(err.detail).toBe('Participant not found in session');
    expect(err.requestId).toBe(sim.calls()[0]?.requestId);
    expect(err.message).toContain('HTTP 404');

    const wrongRoom = await failure(client('v2').removeParticipant({ sessionId: SESSION, participantId: 'p2', roomId: 'other-room' }));
    expect(wrongRoom).toMatchObject({ kind: 'permanent', status: 400 });
  });

  it('422 is permanent', async () => {
    sim.addFault({ status: 422, body: { msg: 'participantId is malformed' } });
    const err = await failure(client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p1' }));
    expect(err).toMatchObject({ kind: 'permanent', status: 422, detail: 'participantId is malformed' });
  });

  it('5xx is transient; for a POST it may have applied', async () => {
    sim.addFault({ operation: 'remove', status: 502, body: '<html>Bad gateway</html>' });
    const post = await failure(client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p1' }));
    expect(post).toMatchObject({
      kind: 'transient',
      status: 502,
      mayHaveApplied: true,
      retryable: true,
      detail: '<html>Bad gateway</html>',
    });
    sim.addFault({ operation: 'get-session', status: 500 });
    const get = await failure(client('v1').getSession(SESSION));
    expect(get).toMatchObject({ kind: 'transient', status: 500, mayHaveApplied: false });
  });

  it('429 and 503 carry Retry-After', async () => {
    sim.addFault({ status: 429, retryAfter: '7', body: { error: 'Too many requests' } });
    const limited = await failure(client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p1' }));
    expect(limited).toMatchObject({
      kind: 'transient',
      status: 429,
      retryAfterMs: 7000,
      mayHaveApplied: false,
      detail: 'Too many requests',
    });
    const at = new Date(Date.now() + 60_000).toUTCString();
    sim.addFault({ status: 503, retryAfter: at });
    const unavailable = await failure(client('v1').getSession(SESSION));
    expect(unavailable.retryAfterMs).toBeGreaterThan(50_000);
    expect(unavailable.retryAfterMs).toBeLessThanOrEqual(60_000);
  });

  it('401 and 403 are credential failures', async () => {
    sim.setSecret('rotated-secret');
    const revoked = await failure(client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p1' }));
    expect(revoked).toMatchObject({ kind: 'credential', status: 401, code: 'ERR_VIDEOSDK_CREDENTIAL' });
    sim.reset();
    sim.addSession({ id: SESSION, participants: [{ participantId: 'p1' }] });
    const other = createTokenProvider({ token: undefined, apiKey: 'someone-else', secret: SECRET });
    const forbidden = await failure(client('v1', { tokens: other }).removeParticipant({ sessionId: SESSION, participantId: 'p1' }));
    expect(forbidden).toMatchObject({ kind: 'credential', status: 403 });
    expect(sim.stats().removalsApplied).toBe(0);
  });

  it('a timeout after sending a POST is transient and may have applied', async () => {
    sim.addFault({ operation: 'remove', applyThenHang: true, delayMs: 1000 });
    const err = await failure(client('v1', { timeoutMs: 150 }).removeParticipant({ sessionId: SESSION, participantId: 'p1' }));
    expect(err).toMatchObject({ kind: 'transient', status: undefined, mayHaveApplied: true, retryable: true });
    expect(err.message).toContain('timeout');
    expect(attempts).toEqual([expect.objectContaining({ operation: 'remove', error: 'timeout' })]);
    expect(attempts[0]?.status).toBeUndefined();
    expect(
      sim
        .getSession(SESSION)
        ?.participants.find((p) => p.participantId === 'p1')
        ?.timelog.at(-1)?.end,
    ).not.toBeNull();
    expect(sim.calls()[0]?.applied).toBe(true);
  });

  it('a timed-out GET is transient and changes nothing', async () => {
    sim.addFault({ operation: 'get-session', delayMs: 1000 });
    const err = await failure(client('v1', { timeoutMs: 100 }).getSession(SESSION));
    expect(err).toMatchObject({ kind: 'transient', mayHaveApplied: false });
  });

  it('a reset connection is transient', async () => {
    sim.addFault({ operation: 'remove', reset: true });
    const err = await failure(client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p1' }));
    expect(err).toMatchObject({ kind: 'transient', status: undefined, mayHaveApplied: true });
    expect(attempts[0]?.error).toMatch(/^E[A-Z]+/);
    expect(sim.stats().removalsApplied).toBe(0);
  });

  it('a refused connection is transient and cannot have applied', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const err = await failure(
      client('v1', { apiBase: `http://127.0.0.1:${port}` }).removeParticipant({ sessionId: SESSION, participantId: 'p1' }),
    );
    expect(err).toMatchObject({ kind: 'transient', mayHaveApplied: false });
    expect(attempts[0]?.error).toBe('ECONNREFUSED');
  });

  it('never puts the token on an error, even when the server echoes it', async () => {
    const token = await tokens.get();
    const cases: (() => Promise<unknown>)[] = [
      () => {
        sim.addFault({ status: 401, body: { message: `invalid token ${token}` } });
        return client('v1').removeParticipant({ sessionId: SESSION, participantId: 'p1' });
      },
      () => {
        sim.addFault({ operation: 'remove', delayMs: 500 });
        return client('v1', { timeoutMs: 50 }).removeParticipant({ sessionId: SESSION, participantId: 'p2' });
      },
      () => {
        sim.addFault({ operation: 'get-session', reset: true });
        return client('v2').getSession(SESSION);
      },
    ];
    for (const run of cases) {
      const err = await failure(run());
      const everything = [err.message, err.stack ?? '', JSON.stringify(err), JSON.stringify(Object.entries(err)), String(err.cause ?? '')];
      for (const text of everything) {
        expect(text).not.toContain(token);
        expect(text).not.toContain(SECRET);
      }
      expect(err.cause).toBeUndefined();
    }
  });
});

describe('request ids', () => {
  let server: Server;
  let url: string;
  const headers: Record<string, string> = {};
  beforeAll(async () => {
    server = createServer((req, res) => {
      for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
      res.statusCode = req.url?.includes('missing') ? 404 : 200;
      res.end(res.statusCode === 200 ? JSON.stringify({ data: [{ id: 's', participants: [] }] }) : 'no such session');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  afterEach(() => {
    for (const name of Object.keys(headers)) delete headers[name];
  });

  it.each(['x-request-id', 'request-id', 'x-amzn-requestid', 'x-amz-request-id'])('reads %s', async (name) => {
    headers[name] = `rid-${name}`;
    const response = await client('v2', { apiBase: url }).getSession('s');
    expect(response.requestId).toBe(`rid-${name}`);
    expect(response.session?.id).toBe('s');
    const err = await failure(client('v2', { apiBase: url }).getSession('missing'));
    expect(err).toMatchObject({ requestId: `rid-${name}`, kind: 'permanent', detail: 'no such session' });
  });
});
