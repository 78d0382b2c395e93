import {
  AuthenticationError,
  generateToken,
  PermissionError,
  RoomNotFoundError,
  ValidationError,
  VideoSDK,
  type Participant,
  type Session,
} from '@videosdk.live/server-sdk';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createSimulator, type Simulator } from '../../src/simulator/simulator.js';
import { SIM_OPERATIONS } from '../../src/simulator/types.js';
import { createVideoSdkClient, type VideoSdkClient } from '../../src/videosdk/client.js';
import { createTokenProvider } from '../../src/videosdk/token.js';

/**
 * The simulator as VideoSDK's official Node server SDK (@videosdk.live/server-sdk) sees it: every
 * call goes through the SDK's own resources over real HTTP, so paths, query names, bodies, auth
 * and response shapes are the SDK's, not ours.
 */
const SECRET = 'sdk-compat-secret';
const API_KEY = 'sdk-compat-key';
const SESSION = '65f1a2b3c4d5e6f7a8b9c0d1';
const ROOM = 'abcd-efgh-ijkl';

let sim: Simulator;
let base: string;
let vsdk: VideoSDK;
const productClients: VideoSdkClient[] = [];

beforeAll(async () => {
  sim = createSimulator({ secret: SECRET, apiKey: API_KEY });
  base = await sim.listen();
  // No retries: a wrong status must show up as itself, not as a slow test.
  vsdk = new VideoSDK({ apiKey: API_KEY, secret: SECRET, apiEndpoint: base, maxRetries: 0 });
});
afterAll(async () => {
  for (const c of productClients) c.close();
  await sim.close();
});
beforeEach(() => {
  sim.reset();
  sim.addSession({
    id: SESSION,
    roomId: ROOM,
    participants: [
      { participantId: 'p1', name: 'Ann' },
      { participantId: 'p2', name: 'Bob' },
    ],
  });
});

async function all<T>(page: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of page) items.push(item);
  return items;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (err: unknown) => err,
  );
}

function productClient(): VideoSdkClient {
  const c = createVideoSdkClient({
    apiBase: base,
    apiVersion: 'v2',
    timeoutMs: 2000,
    tokens: createTokenProvider({ token: undefined, apiKey: API_KEY, secret: SECRET }),
  });
  productClients.push(c);
  return c;
}

describe('sessions (SDK)', () => {
  it('an ended session is "ended", as the SDK types it (was "completed")', async () => {
    sim.leave(SESSION, 'p1');
    sim.leave(SESSION, 'p2');
    const session: Session = await vsdk.sessions.get(SESSION);
    expect(session).toMatchObject({ id: SESSION, roomId: ROOM, status: 'ended', end: expect.any(String) });
    sim.join(SESSION, 'p1');
    expect((await vsdk.sessions.get(SESSION)).status).toBe('ongoing');
  });

  it('lists sessions by room and status, newest first, paged', async () => {
    const older = sim.addSession({ roomId: ROOM, participants: [{ participantId: 'gone' }] });
    sim.leave(older.id, 'gone');
    sim.addSession({ roomId: 'other-room', participants: [{ participantId: 'x' }] });
    const byRoom = await all(await vsdk.sessions.list({ roomId: ROOM, perPage: 1 }));
    expect(byRoom.map((s) => s.id).sort()).toEqual([SESSION, older.id].sort());
    const ongoing = await vsdk.sessions.list({ roomId: ROOM, status: 'ongoing' });
    expect(ongoing.data.map((s) => s.id)).toEqual([SESSION]);
    const ended = await vsdk.sessions.list({ roomId: ROOM, status: 'ended' });
    expect(ended.data.map((s) => s.id)).toEqual([older.id]);
    const first = await vsdk.sessions.list({ perPage: 2 });
    expect(first).toMatchObject({ total: 3, hasNextPage: true });
    expect(sim.calls().find((c) => c.operation === 'list-sessions')?.path).toBe('/v2/sessions');
    const badStatus = await rejection(vsdk.api.get('/v2/sessions', { query: { status: 'finished' } }));
    expect(badStatus).toBeInstanceOf(ValidationError);
    expect((badStatus as Error).message).toContain('"status"');
  });

  it('lists all participants (who left too), the active ones, and one participant', async () => {
    sim.leave(SESSION, 'p2');
    for (let i = 0; i < 4; i++) sim.join(SESSION, `x${i}`);
    const everyone = await all(await vsdk.sessions.listParticipants(SESSION, { perPage: 2 }));
    expect(everyone.map((p) => p.participantId)).toEqual(['p1', 'p2', 'x0', 'x1', 'x2', 'x3']);
    const active = await all(await vsdk.sessions.listActiveParticipants(SESSION, { perPage: 2 }));
    expect(active.map((p) => p.participantId)).toEqual(['p1', 'x0', 'x1', 'x2', 'x3']);
    const one: Participant = await vsdk.sessions.getParticipant(SESSION, 'p2');
    expect(one).toMatchObject({ participantId: 'p2', name: 'Bob', timelog: [{ end: expect.any(String) }] });
    expect(await rejection(vsdk.sessions.getParticipant(SESSION, 'nobody'))).toBeInstanceOf(RoomNotFoundError);
    expect(await rejection(vsdk.sessions.get('000000000000000000000000'))).toBeInstanceOf(RoomNotFoundError);
  });

  it('the room-keyed participants view resolves the live session', async () => {
    const live = await all(await vsdk.participants.list(ROOM));
    expect(live.map((p) => p.participantId)).toEqual(['p1', 'p2']);
    expect(await vsdk.participants.get(ROOM, 'p2')).toMatchObject({ participantId: 'p2' });
    expect((await vsdk.participants.list('no-such-room')).data).toEqual([]);
    expect(await rejection(vsdk.participants.get('no-such-room', 'p1'))).toBeInstanceOf(RoomNotFoundError);
  });

  it('ends a session: everyone leaves, status "ended"; ending it again needs ignoreClosed', async () => {
    const ended = await vsdk.sessions.end({ roomId: ROOM, sessionId: SESSION, force: true });
    expect(ended).toMatchObject({ id: SESSION, status: 'ended', end: expect.any(String) });
    expect(sim.getSession(SESSION)?.participants.every((p) => p.timelog.at(-1)?.end !== null)).toBe(true);
    expect(await rejection(vsdk.sessions.end({ roomId: ROOM, sessionId: SESSION }))).toBeInstanceOf(ValidationError);
    expect(await vsdk.sessions.end({ roomId: ROOM, sessionId: SESSION, ignoreClosed: true })).toMatchObject({ status: 'ended' });
    expect(await rejection(vsdk.sessions.end({ roomId: ROOM }))).toBeInstanceOf(RoomNotFoundError);
    expect(sim.calls().find((c) => c.operation === 'end-session')?.body).toMatchObject({
      roomId: ROOM,
      sessionId: SESSION,
      vsdkForceKill: true,
    });
  });

  it('session and participant stats', async () => {
    expect(await vsdk.sessions.getStats(SESSION)).toMatchObject({ sessionId: SESSION, participants: { total: 2, active: 2 } });
    expect(await vsdk.sessions.getParticipantStats(SESSION, 'p1')).toMatchObject({ sessionId: SESSION, participantId: 'p1' });
    expect(await rejection(vsdk.sessions.getParticipantStats(SESSION, 'nobody'))).toBeInstanceOf(RoomNotFoundError);
  });
});

describe('remove (SDK and product client)', () => {
  it('answers the documented session object by default; the SDK passes it through', async () => {
    const answer: unknown = await vsdk.sessions.removeParticipant({ participantId: 'p1', roomId: ROOM, sessionId: SESSION });
    expect(answer).toMatchObject({
      id: SESSION,
      roomId: ROOM,
      status: 'ongoing',
      participants: [{ participantId: 'p1', timelog: [{ end: expect.any(String) }] }, { participantId: 'p2' }],
    });
    // participants.remove sends only roomId and participantId: the live session is found by room.
    const byRoom: unknown = await vsdk.participants.remove(ROOM, 'p2');
    expect(byRoom).toMatchObject({ status: 'ended' });
    expect(sim.stats().removalsApplied).toBe(2);
  });

  it('with the removeAnswer fault it answers the confirmation string the SDK types', async () => {
    sim.addFault({ removeAnswer: 'message', times: Infinity });
    const answer: string = await vsdk.sessions.removeParticipant({ participantId: 'p1', sessionId: SESSION });
    expect(answer).toBe('Participant removed successfully');
    // A GET does not use the fault up, and an error stays an error.
    expect((await vsdk.sessions.get(SESSION)).participants).toHaveLength(2);
    expect(await rejection(vsdk.participants.remove(ROOM, 'p1'))).toBeInstanceOf(RoomNotFoundError);
    expect(sim.stats().removalsApplied).toBe(1);
  });

  it('the product client copes with both shapes', async () => {
    const client = productClient();
    const asSession = await client.removeParticipant({ sessionId: SESSION, participantId: 'p1', roomId: ROOM });
    expect(asSession.status).toBe(200);
    expect(asSession.session?.participants.find((p) => p.participantId === 'p1')?.timelog.at(-1)?.end).toEqual(expect.any(String));

    sim.addFault({ removeAnswer: 'message' });
    const asMessage = await client.removeParticipant({ sessionId: SESSION, participantId: 'p2', roomId: ROOM });
    expect(asMessage).toMatchObject({ status: 200, body: 'Participant removed successfully', session: undefined });
    expect(sim.stats().removalsApplied).toBe(2);
  });
});

describe('rooms and the webhook key (SDK)', () => {
  it('creates (idempotent on customRoomId), gets, lists, validates, updates and deactivates rooms', async () => {
    const room = await vsdk.rooms.create({
      customRoomId: 'team-standup',
      webhook: { url: 'https://hooks.example.com/vsdk', events: ['participant-left'] },
    });
    expect(room).toMatchObject({
      roomId: expect.stringMatching(/^\w{4}-\w{4}-\w{4}$/),
      customRoomId: 'team-standup',
      disabled: false,
      webhook: { endPoint: 'https://hooks.example.com/vsdk', events: ['participant-left'] },
    });
    expect((await vsdk.rooms.create({ customRoomId: 'team-standup' })).roomId).toBe(room.roomId);
    for (const key of [room.roomId, room.id, 'team-standup']) expect((await vsdk.rooms.get(key)).roomId).toBe(room.roomId);
    expect(await rejection(vsdk.rooms.get('zzzz-zzzz-zzzz'))).toBeInstanceOf(RoomNotFoundError);

    const listed = await all(await vsdk.rooms.list({ perPage: 1 }));
    expect(listed.map((r) => r.roomId).sort()).toEqual([ROOM, room.roomId].sort());
    expect((await vsdk.rooms.list({ query: 'team-standup' })).data.map((r) => r.roomId)).toEqual([room.roomId]);

    expect(await vsdk.rooms.validate('team-standup')).toMatchObject({ valid: true, roomId: room.roomId });
    expect(await vsdk.rooms.validate('zzzz-zzzz-zzzz')).toEqual({ valid: false, roomId: 'zzzz-zzzz-zzzz' });

    // The SDK has no update call; the raw escape hatch sends VideoSDK's documented one.
    expect(await vsdk.api.post(`/v2/rooms/${room.roomId}`, { body: { status: 'disabled' } })).toMatchObject({ disabled: true });
    expect(await vsdk.api.post(`/v2/rooms/${room.roomId}`, { body: { status: 'enabled' } })).toMatchObject({ disabled: false });
    const badUpdate = await rejection(vsdk.api.post(`/v2/rooms/${room.roomId}`, { body: { status: 'off' } }));
    expect(badUpdate).toBeInstanceOf(ValidationError);
    expect((badUpdate as Error).message).toContain('"status"');

    // Deactivate resolves the VideoSDK roomId only: a customRoomId is 402, as the SDK notes.
    expect(await rejection(vsdk.rooms.end('team-standup'))).toMatchObject({ httpStatus: 402 });
    expect(await vsdk.rooms.end(room.roomId)).toMatchObject({ roomId: room.roomId, disabled: true });
    const badWebhook = await rejection(vsdk.rooms.create({ webhook: { url: 'not a url', events: [] } }));
    expect(badWebhook).toBeInstanceOf(ValidationError);
    expect((badWebhook as Error).message).toContain('"webhook.endPoint"');
  });

  it('serves the webhook public key; a body the simulator signs verifies with the SDK', async () => {
    const body = JSON.stringify({ webhookType: 'participant-left', data: { meetingId: ROOM, sessionId: SESSION, participantId: 'p1' } });
    const event = await vsdk.webhooks.verify(body, sim.signWebhook(body));
    expect(event).toMatchObject({ webhookType: 'participant-left', data: { participantId: 'p1' } });
    expect(await vsdk.webhooks.getPublicKey()).toBe(sim.webhookPublicKey());
    await expect(vsdk.webhooks.verify(body.replace('p1', 'p2'), sim.signWebhook(body))).rejects.toThrow(/invalid/);
  });
});

describe('every simulated route is one the SDK calls, and each answers', () => {
  afterEach(() => sim.setV2Claims('strict'));

  it('walks the SDK over all of them', async () => {
    // A fresh client: the shared one has cached the webhook key.
    const vsdk = new VideoSDK({ apiKey: API_KEY, secret: SECRET, apiEndpoint: base, maxRetries: 0 });
    const room = await vsdk.rooms.create({ customRoomId: 'walk' });
    await vsdk.rooms.list();
    await vsdk.rooms.get(room.roomId);
    await vsdk.rooms.validate(room.roomId);
    await vsdk.api.post(`/v2/rooms/${room.roomId}`, { body: { status: 'enabled' } });
    await vsdk.rooms.end(room.roomId);
    await vsdk.sessions.list({ roomId: ROOM });
    await vsdk.sessions.get(SESSION);
    await vsdk.sessions.listParticipants(SESSION);
    await vsdk.sessions.listActiveParticipants(SESSION);
    await vsdk.sessions.getParticipant(SESSION, 'p1');
    await vsdk.sessions.getStats(SESSION);
    await vsdk.sessions.getParticipantStats(SESSION, 'p1');
    await vsdk.sessions.removeParticipant({ participantId: 'p1', roomId: ROOM });
    await vsdk.sessions.end({ roomId: ROOM });
    await vsdk.webhooks.getPublicKey();
    const seen = new Set(sim.calls().map((c) => c.operation));
    expect(SIM_OPERATIONS.filter((op) => !seen.has(op))).toEqual([]);
    expect(sim.calls().every((c) => c.status === 200 && c.authorized)).toBe(true);
  });
});

describe('auth comes first, and v2 needs version 2 and the crawler role (SDK tokens)', () => {
  afterEach(() => sim.setV2Claims('strict'));

  it('a garbage token gets 401 on known and unknown paths alike; a good one learns 404', async () => {
    const garbage = { authorization: 'garbage' };
    for (const path of [`/v2/sessions/${SESSION}`, '/v2/no-such-route', '/v1/nothing', '/elsewhere']) {
      const response = await fetch(`${base}${path}`, { headers: garbage });
      expect({ path, status: response.status }).toEqual({ path, status: 401 });
    }
    const noToken = await fetch(`${base}/v2/sessions/participants/remove`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{broken',
    });
    expect(noToken.status).toBe(401);
    expect(await rejection(vsdk.api.get('/v2/no-such-route'))).toBeInstanceOf(RoomNotFoundError);
    const wrongSecret = new VideoSDK({ apiKey: API_KEY, secret: 'wrong', apiEndpoint: base, maxRetries: 0 });
    expect(await rejection(wrongSecret.api.get('/v2/no-such-route'))).toBeInstanceOf(AuthenticationError);
    const unknown = sim.calls().filter((c) => c.operation === 'other');
    expect(unknown.map((c) => [c.status, c.authorized])).toEqual([
      [401, false],
      [401, false],
      [401, false],
      [404, true],
      [401, false],
    ]);
  });

  it.each<[string, Record<string, unknown>, boolean]>([
    ['no version claim', { version: undefined }, true],
    ['version 1', { version: 1 }, true],
    ['no roles', { roles: [] }, true],
    ['an rtc-only token', { roles: ['rtc'] }, false],
  ])('refuses %s on v2 with 403', async (_name, override, relaxable) => {
    const token = generateToken({ apiKey: API_KEY, secretKey: SECRET, claims: override });
    const strict = new VideoSDK({ token, apiEndpoint: base, maxRetries: 0 });
    const err = await rejection(strict.sessions.get(SESSION));
    expect(err).toBeInstanceOf(PermissionError);
    expect(await rejection(strict.api.get('/v2/no-such-route'))).toBeInstanceOf(PermissionError);
    if (relaxable) {
      // The lenient option lets such a token through; v1 never asked for these claims.
      sim.setV2Claims('lenient');
      expect((await strict.sessions.get(SESSION)).id).toBe(SESSION);
      sim.setV2Claims('strict');
      expect((await fetch(`${base}/v1/meeting-sessions/${SESSION}`, { headers: { authorization: token } })).status).toBe(200);
    }
  });

  it('the SDK defaults, the legacy upper-case role and the product token pass', async () => {
    expect((await vsdk.sessions.get(SESSION)).id).toBe(SESSION);
    const upper = generateToken({ apiKey: API_KEY, secretKey: SECRET, roles: ['CRAWLER'] });
    expect((await new VideoSDK({ token: upper, apiEndpoint: base, maxRetries: 0 }).sessions.get(SESSION)).id).toBe(SESSION);
    expect((await productClient().getActiveParticipants(SESSION)).session?.participants).toHaveLength(2);
  });

  it('the lenient mode is a control option too', async () => {
    const response = await fetch(`${base}/_sim/options`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v2Claims: 'lenient' }),
    });
    expect(await response.json()).toEqual({ activeDataShape: 'array', v2Claims: 'lenient', webhookUrl: null });
    const bad = await fetch(`${base}/_sim/options`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ v2Claims: 'loose' }),
    });
    expect(bad.status).toBe(400);
    const token = generateToken({ apiKey: API_KEY, secretKey: SECRET, claims: { version: undefined } });
    expect((await new VideoSDK({ token, apiEndpoint: base, maxRetries: 0 }).sessions.get(SESSION)).id).toBe(SESSION);
  });
});

describe('control API: a removed participant joins again', () => {
  it('same participantId, a new timelog entry, active again', async () => {
    await vsdk.sessions.removeParticipant({ participantId: 'p1', sessionId: SESSION });
    const rejoined = await fetch(`${base}/_sim/sessions/${SESSION}/participants`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ participantId: 'p1' }),
    });
    expect(rejoined.status).toBe(200);
    const p1 = (await vsdk.sessions.getParticipant(SESSION, 'p1')) as Participant;
    expect(p1.timelog).toEqual([
      { start: expect.any(String), end: expect.any(String) },
      { start: expect.any(String), end: null },
    ]);
    expect((await all(await vsdk.sessions.listActiveParticipants(SESSION))).map((p) => p.participantId)).toEqual(['p1', 'p2']);
    // And it can be removed again.
    await vsdk.sessions.removeParticipant({ participantId: 'p1', sessionId: SESSION });
    expect(sim.stats().removalsByParticipant[`${SESSION}/p1`]).toBe(2);
  });
});
