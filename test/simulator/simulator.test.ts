import { SignJWT } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { createTokenProvider } from '../../src/videosdk/token.js';

const SECRET = 'sim-test-secret';
const API_KEY = 'sim-test-key';
const SESSION = 'aaaaaaaaaaaaaaaaaaaaaaaa';
const ROOM = 'room-1';

let sim: Simulator;
let base: string;
let token: string;

async function sign(claims: Record<string, unknown>, secret = SECRET, exp: number | string = '10m'): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setIssuedAt()
    .setExpirationTime(exp)
    .sign(new TextEncoder().encode(secret));
}

async function call(
  method: string,
  path: string,
  options: { body?: unknown; auth?: string | null } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers: Record<string, string> = {};
  const auth = options.auth === undefined ? token : options.auth;
  if (auth !== null) headers.authorization = auth;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // plain text stays text
  }
  return { status: response.status, body, headers: response.headers };
}

const removeV1 = (participantId: string, auth?: string | null) =>
  call('POST', `/v1/meeting-sessions/${SESSION}/remove-participant`, { body: { participantId }, ...(auth === undefined ? {} : { auth }) });

beforeAll(async () => {
  sim = createSimulator({ secret: SECRET, apiKey: API_KEY });
  base = await sim.listen();
  token = await createTokenProvider({ token: undefined, apiKey: API_KEY, secret: SECRET }).get();
});
afterAll(() => sim.close());
beforeEach(() => {
  sim.reset();
  sim.addSession({
    id: SESSION,
    meetingId: ROOM,
    participants: [
      { participantId: 'p1', name: 'Ann' },
      { participantId: 'p2', name: 'Bob' },
    ],
  });
});

describe('sessions', () => {
  it('answers the session in the v1 and v2 shapes', async () => {
    const v1 = await call('GET', `/v1/meeting-sessions/${SESSION}`);
    expect(v1.status).toBe(200);
    expect(v1.body).toMatchObject({
      id: SESSION,
      meetingId: ROOM,
      end: null,
      participants: [{ participantId: 'p1', name: 'Ann', timelog: [{ end: null }] }, { participantId: 'p2' }],
    });
    expect(v1.body).not.toHaveProperty('roomId');
    const v2 = await call('GET', `/v2/sessions/${SESSION}`);
    expect(v2.body).toMatchObject({ id: SESSION, roomId: ROOM, status: 'ongoing' });
    expect((await call('GET', '/v1/meeting-sessions/unknown')).status).toBe(404);
  });

  it('removes an active participant once; a second removal is 404', async () => {
    const first = await removeV1('p1');
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({
      participants: [
        { participantId: 'p1', timelog: [{ end: expect.any(String) }] },
        { participantId: 'p2', timelog: [{ end: null }] },
      ],
    });
    const again = await removeV1('p1');
    expect(again).toMatchObject({ status: 404, body: { message: 'Participant not found in session' } });
    expect((await removeV1('nobody')).status).toBe(404);
    const unknown = await call('POST', '/v1/meeting-sessions/unknown/remove-participant', { body: { participantId: 'p1' } });
    expect(unknown).toMatchObject({ status: 404, body: { message: 'Session not found' } });
    expect((await call('POST', `/v1/meeting-sessions/${SESSION}/remove-participant`, { body: {} })).status).toBe(400);
    expect(sim.stats()).toMatchObject({ removalsApplied: 1, removalsByParticipant: { [`${SESSION}/p1`]: 1 } });
  });

  it('v2 remove checks the room and finds the session by room', async () => {
    expect(
      (await call('POST', '/v2/sessions/participants/remove', { body: { participantId: 'p1', roomId: 'other', sessionId: SESSION } }))
        .status,
    ).toBe(400);
    expect((await call('POST', '/v2/sessions/participants/remove', { body: { participantId: 'p1', roomId: ROOM } })).status).toBe(200);
    expect(
      (await call('POST', '/v2/sessions/participants/remove', { body: { participantId: 'p2', sessionId: SESSION } })).body,
    ).toMatchObject({ roomId: ROOM, status: 'ended' });
  });

  it('ends the session when the last participant leaves; a join opens a new timelog entry', () => {
    expect(sim.leave(SESSION, 'p1')).toBe(true);
    expect(sim.leave(SESSION, 'p1')).toBe(false);
    expect(sim.leave(SESSION, 'p2')).toBe(true);
    expect(sim.getSession(SESSION)?.end).not.toBeNull();
    const after = sim.join(SESSION, 'p1', 'Ann again');
    expect(after.end).toBeNull();
    expect(after.participants[0]).toMatchObject({ name: 'Ann again', timelog: [{ end: expect.any(String) }, { end: null }] });
    expect(() => sim.join('missing', 'x')).toThrow(/unknown session/);
  });

  it('pages active participants with data as an array or an object', async () => {
    for (let i = 0; i < 25; i++) sim.join(SESSION, `x${i}`);
    sim.leave(SESSION, 'p2');
    const page1 = await call('GET', `/v2/sessions/${SESSION}/participants/active?page=1&perPage=10`);
    expect(page1.body).toMatchObject({
      pageInfo: { currentPage: 1, perPage: 10, lastPage: 3, total: 26 },
      data: [{ id: SESSION, roomId: ROOM }],
    });
    const page3 = await call('GET', `/v2/sessions/${SESSION}/participants/active?page=3&perPage=10`);
    const data = (page3.body as { data: { participants: unknown[] }[] }).data;
    expect(data[0]?.participants).toHaveLength(6);
    sim.setActiveDataShape('object');
    const object = await call('GET', `/v2/sessions/${SESSION}/participants/active`);
    expect(object.body).toMatchObject({ pageInfo: { currentPage: 1, perPage: 20 }, data: { id: SESSION } });
  });
});

describe('auth', () => {
  it('accepts the raw JWT only', async () => {
    expect((await call('GET', `/v2/sessions/${SESSION}`)).status).toBe(200);
    expect((await call('GET', `/v2/sessions/${SESSION}`, { auth: `Bearer ${token}` })).status).toBe(401);
    expect((await call('GET', `/v2/sessions/${SESSION}`, { auth: null })).status).toBe(401);
    expect((await call('GET', `/v2/sessions/${SESSION}`, { auth: 'not-a-jwt' })).status).toBe(401);
  });

  it('refuses bad signatures, expired tokens (401) and foreign or under-privileged keys (403)', async () => {
    const claims = { apikey: API_KEY, permissions: ['allow_join', 'allow_mod'], version: 2, roles: ['crawler'] };
    expect((await removeV1('p1', await sign(claims, 'wrong-secret'))).status).toBe(401);
    expect((await removeV1('p1', await sign(claims, SECRET, Math.floor(Date.now() / 1000) - 10))).status).toBe(401);
    expect((await removeV1('p1', await sign({ ...claims, apikey: undefined }))).status).toBe(401);
    expect((await removeV1('p1', await sign({ ...claims, apikey: 'other' }))).status).toBe(403);
    const joinOnly = await sign({ ...claims, permissions: ['allow_join'] });
    expect((await removeV1('p1', joinOnly)).status).toBe(403);
    expect((await call('GET', `/v1/meeting-sessions/${SESSION}`, { auth: joinOnly })).status).toBe(200);
    expect((await removeV1('p1', await sign({ ...claims, roles: ['rtc'] }))).status).toBe(403);
    expect(sim.stats().removalsApplied).toBe(0);
    expect(
      sim
        .calls()
        .filter((c) => c.operation === 'remove')
        .every((c) => !c.authorized && !c.applied),
    ).toBe(true);
  });

  it('simulates a revoked or rotated credential', async () => {
    sim.setCredentialValid(false);
    expect((await removeV1('p1')).status).toBe(401);
    sim.setCredentialValid(true);
    sim.setSecret('rotated');
    expect((await removeV1('p1')).status).toBe(401);
    expect((await removeV1('p1', await sign({ apikey: API_KEY, permissions: ['allow_mod'] }, 'rotated'))).status).toBe(200);
  });

  it('without a secret only a bare Authorization header is needed; requireAuth false takes anything', async () => {
    const open = createSimulator();
    const strict = createSimulator({ requireAuth: true });
    try {
      const openUrl = await open.listen();
      const strictUrl = await strict.listen();
      open.addSession({ id: 's' });
      strict.addSession({ id: 's' });
      expect((await fetch(`${openUrl}/v1/meeting-sessions/s`)).status).toBe(200);
      expect((await fetch(`${strictUrl}/v1/meeting-sessions/s`)).status).toBe(401);
      expect((await fetch(`${strictUrl}/v1/meeting-sessions/s`, { headers: { authorization: 'Bearer x' } })).status).toBe(401);
      expect((await fetch(`${strictUrl}/v1/meeting-sessions/s`, { headers: { authorization: 'anything' } })).status).toBe(200);
    } finally {
      await open.close();
      await strict.close();
    }
  });
});

describe('faults', () => {
  it('answers an injected status `times` times, then the real result', async () => {
    sim.addFault({ operation: 'remove', status: 503, retryAfter: '2', times: 2 });
    const first = await removeV1('p1');
    expect(first.status).toBe(503);
    expect(first.headers.get('retry-after')).toBe('2');
    expect(first.body).toMatchObject({ statusCode: 503, message: 'Service Unavailable' });
    expect((await removeV1('p1')).status).toBe(503);
    expect((await removeV1('p1')).status).toBe(200);
    expect(sim.calls().map((c) => [c.status, c.faulted, c.applied])).toEqual([
      [503, true, false],
      [503, true, false],
      [200, false, true],
    ]);
  });

  it('matches in order, by method, operation and participant; Infinity and probability', async () => {
    sim.addFault({ participantId: 'p2', status: 500, times: Infinity });
    sim.addFault({ method: 'GET', status: 502 });
    sim.addFault({ status: 418, probability: 0 });
    expect((await removeV1('p2')).status).toBe(500);
    expect((await removeV1('p2')).status).toBe(500);
    expect((await call('GET', `/v1/meeting-sessions/${SESSION}`)).status).toBe(502);
    expect((await call('GET', `/v1/meeting-sessions/${SESSION}`)).status).toBe(200);
    expect((await removeV1('p1')).status).toBe(200);
    sim.clearFaults();
    expect((await removeV1('p2')).status).toBe(200);
  });

  it('applyThenHang applies the removal at once and answers after the delay', async () => {
    sim.addFault({ operation: 'remove', applyThenHang: true, delayMs: 300 });
    const started = Date.now();
    const pending = removeV1('p1');
    await expect.poll(() => sim.calls()[0]?.applied).toBe(true);
    expect(sim.getSession(SESSION)?.participants[0]?.timelog.at(-1)?.end).not.toBeNull();
    expect(sim.calls()[0]).toMatchObject({ applied: true, status: null });
    const response = await pending;
    expect(response.status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(sim.calls()[0]?.status).toBe(200);
  });

  it('reset destroys the connection; with applyThenHang the removal still took effect', async () => {
    sim.addFault({ operation: 'remove', participantId: 'p1', reset: true });
    await expect(removeV1('p1')).rejects.toThrow();
    expect(sim.stats().removalsApplied).toBe(0);
    sim.addFault({ operation: 'remove', participantId: 'p1', reset: true, applyThenHang: true });
    await expect(removeV1('p1')).rejects.toThrow();
    expect(sim.stats().removalsApplied).toBe(1);
    expect(sim.calls().map((c) => c.status)).toEqual([null, null]);
  });

  it('a plain delay slows the answer and then does the real work', async () => {
    sim.addFault({ operation: 'get-session', delayMs: 150 });
    const started = Date.now();
    expect((await call('GET', `/v1/meeting-sessions/${SESSION}`)).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});

describe('call log and control surface', () => {
  it('records every API request and sends x-request-id on every answer', async () => {
    const response = await removeV1('p1');
    const bad = await call('GET', '/v3/nothing');
    const control = await call('GET', '/_sim/calls', { auth: null });
    expect(bad.status).toBe(404);
    for (const r of [response, bad, control]) expect(r.headers.get('x-request-id')).toMatch(/\S+/);
    const calls = sim.calls();
    expect(calls).toHaveLength(2);
    expect(calls[0]).toMatchObject({
      method: 'POST',
      path: `/v1/meeting-sessions/${SESSION}/remove-participant`,
      operation: 'remove',
      apiVersion: 'v1',
      sessionId: SESSION,
      participantId: 'p1',
      status: 200,
      applied: true,
      authorized: true,
      requestId: response.headers.get('x-request-id'),
      at: expect.any(Number),
    });
    expect(calls[1]).toMatchObject({ operation: 'other', status: 404, path: '/v3/nothing' });
    expect((control.body as { calls: unknown[] }).calls).toHaveLength(2);
    expect(sim.stats()).toMatchObject({ requests: 2, byOperation: { remove: 1, other: 1 }, byStatus: { '200': 1, '404': 1 } });
    sim.resetCalls();
    expect(sim.calls()).toEqual([]);
    expect(sim.stats().removalsApplied).toBe(0);
  });

  it('mirrors the control surface over HTTP', async () => {
    const created = await call('POST', '/_sim/sessions', {
      auth: null,
      body: { id: 'http-s', roomId: 'r2', participants: [{ participantId: 'a' }] },
    });
    expect(created).toMatchObject({ status: 201, body: { id: 'http-s', meetingId: 'r2', roomId: 'r2' } });
    expect(
      (await call('POST', '/_sim/sessions/http-s/participants', { auth: null, body: { participantId: 'b', name: 'Bee' } })).status,
    ).toBe(200);
    expect((await call('POST', '/_sim/sessions/missing/participants', { auth: null, body: { participantId: 'b' } })).status).toBe(404);
    expect((await call('POST', '/_sim/sessions', { auth: null, body: { participants: [{ name: 'no id' }] } })).status).toBe(400);
    const fetched = await call('GET', '/_sim/sessions/http-s', { auth: null });
    expect((fetched.body as { participants: unknown[] }).participants).toHaveLength(2);
    expect((await call('GET', '/_sim/sessions/nope', { auth: null })).status).toBe(404);

    expect(
      (await call('POST', '/_sim/faults', { auth: null, body: [{ operation: 'remove', status: 500, times: 'Infinity' }] })).status,
    ).toBe(201);
    expect((await call('POST', '/_sim/faults', { auth: null, body: { status: 'x' } })).status).toBe(400);
    expect((await removeV1('p1')).status).toBe(500);
    expect((await removeV1('p1')).status).toBe(500);
    expect((await call('DELETE', '/_sim/faults', { auth: null })).status).toBe(200);
    expect((await removeV1('p1')).status).toBe(200);

    expect((await call('DELETE', '/_sim/sessions/http-s/participants/a', { auth: null })).body).toEqual({ left: true });
    expect((await call('GET', '/_sim/stats', { auth: null })).body).toMatchObject({ removalsApplied: 1 });

    await call('POST', '/_sim/credential', { auth: null, body: { valid: false } });
    expect((await removeV1('p2')).status).toBe(401);
    await call('POST', '/_sim/credential', { auth: null, body: { valid: true } });
    await call('POST', '/_sim/secret', { auth: null, body: { secret: 'another' } });
    expect((await removeV1('p2')).status).toBe(401);

    expect((await call('DELETE', '/_sim/calls', { auth: null })).status).toBe(200);
    expect(sim.calls()).toEqual([]);
    expect((await call('POST', '/_sim/reset', { auth: null })).status).toBe(200);
    expect(sim.listSessions()).toEqual([]);
    sim.addSession({ id: SESSION, participants: [{ participantId: 'p2' }] });
    expect((await removeV1('p2')).status).toBe(200);
  });

  it('reset drops requests still held by a delay instead of applying them to new state', async () => {
    sim.addFault({ operation: 'remove', delayMs: 5000 });
    const pending = removeV1('p1').catch((err: unknown) => err);
    // Held by the delay once the fault has taken it.
    await expect.poll(() => sim.calls()[0]?.faulted).toBe(true);
    sim.reset();
    sim.addSession({ id: SESSION, participants: [{ participantId: 'p1' }] });
    expect(await pending).toBeInstanceOf(Error);
    expect(sim.getSession(SESSION)?.participants[0]?.timelog.at(-1)?.end).toBeNull();
  });
});
