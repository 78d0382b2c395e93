import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { InvalidEventError, WebhookSignatureError } from '../../src/shared/errors.js';
import { parseEvent } from '../../src/shared/event-schema.js';
import { createSignatureVerifier, mapWebhook, nothingToModerate, webhookEventId } from '../../src/events/webhook.js';

describe('mapWebhook', () => {
  it('maps a VideoSDK webhook body to an event: type from webhookType, ids and name lifted, the rest kept in data', () => {
    const body = {
      webhookType: 'participant-joined',
      data: {
        meetingId: 'abcd-efgh-ijkl',
        sessionId: '61adc697a239e84d0aaa7e15',
        participantId: 'c7wgj9sd',
        participantName: 'John',
        deviceInfo: { os: 'linux' },
        role: 'participant',
      },
    };
    const mapped = mapWebhook(body);
    expect(mapped).toEqual({
      type: 'participant-joined',
      meetingId: 'abcd-efgh-ijkl',
      sessionId: '61adc697a239e84d0aaa7e15',
      participantId: 'c7wgj9sd',
      participantName: 'John',
      data: { deviceInfo: { os: 'linux' }, role: 'participant' },
    });
    const event = parseEvent(mapped, new Date('2026-11-25T10:00:00Z'));
    expect(event).toMatchObject({ type: 'participant-joined', sessionId: '61adc697a239e84d0aaa7e15', data: { role: 'participant' } });
  });

  it('maps session and recording webhooks that carry no participant', () => {
    expect(mapWebhook({ webhookType: 'recording-started', data: { meetingId: 'm', sessionId: 's', filePath: '/x' } })).toEqual({
      type: 'recording-started',
      meetingId: 'm',
      sessionId: 's',
      data: { filePath: '/x' },
    });
    expect(mapWebhook({ type: 'session-ended', data: { sessionId: 's' } })).toEqual({ type: 'session-ended', sessionId: 's', data: {} });
  });

  it("takes a missing data as an empty one (as VideoSDK's SDK does); the event then names what it lacks", () => {
    expect(mapWebhook({ webhookType: 'session-started' })).toEqual({ type: 'session-started', data: {} });
    expect(mapWebhook({ webhookType: 'session-started', data: null })).toEqual({ type: 'session-started', data: {} });
    expect(() => parseEvent(mapWebhook({ webhookType: 'session-started' }))).toThrow(/\$\.sessionId: is required/);
  });

  it('derives a stable event id from the raw bytes, so a replayed webhook is the same event', () => {
    const body = Buffer.from('{"webhookType":"participant-joined","data":{"sessionId":"s","participantId":"p"}}');
    expect(webhookEventId(body)).toBe(webhookEventId(Buffer.from(body)));
    expect(webhookEventId(body)).toMatch(/^webhook-[0-9a-f]{64}$/);
    expect(webhookEventId(Buffer.concat([body, Buffer.from(' ')]))).not.toBe(webhookEventId(body));
  });

  it('refuses bodies that are not webhooks, naming the path', () => {
    const cases: [unknown, string][] = [
      [null, '$'],
      [[], '$'],
      ['participant-joined', '$'],
      [{ data: {} }, '$.webhookType'],
      [{ webhookType: '  ', data: {} }, '$.webhookType'],
      [{ webhookType: 'participant-joined', data: [1] }, '$.data'],
    ];
    for (const [body, path] of cases) {
      try {
        mapWebhook(body);
        throw new Error(`accepted ${JSON.stringify(body)}`);
      } catch (err) {
        expect(err, JSON.stringify(body)).toBeInstanceOf(InvalidEventError);
        expect((err as InvalidEventError).problems[0]?.path).toBe(path);
      }
    }
  });
});

describe('nothingToModerate', () => {
  it('names webhooks without a session, and participant webhooks without a participant', () => {
    const reason = (body: unknown) => nothingToModerate(mapWebhook(body))?.reason;
    expect(reason({ webhookType: 'session-started' })).toBe('no-session');
    expect(reason({ webhookType: 'session-ended', data: { meetingId: 'm', sessionId: '  ' } })).toBe('no-session');
    expect(reason({ webhookType: 'participant-joined', data: { meetingId: 'm', sessionId: null, participantId: 'p' } })).toBe('no-session');
    expect(reason({ webhookType: 'participant-left', data: { sessionId: 's' } })).toBe('no-participant');
    expect(reason({ type: 'chat-message', data: { sessionId: 's', participantId: '' } })).toBe('no-participant');
    expect(nothingToModerate(mapWebhook({ webhookType: 'session-started' }))?.message).toMatch(/sessionId: nothing to moderate$/);
  });

  it('passes everything else on to the event schema, wrong types included (they are named there, not ignored)', () => {
    expect(nothingToModerate(mapWebhook({ webhookType: 'session-started', data: { sessionId: 's' } }))).toBeUndefined();
    expect(nothingToModerate(mapWebhook({ webhookType: 'recording-stopped', data: { sessionId: 's', fileUrl: 'u' } }))).toBeUndefined();
    expect(
      nothingToModerate(mapWebhook({ webhookType: 'participant-joined', data: { sessionId: 's', participantId: 'p' } })),
    ).toBeUndefined();
    const wrong = mapWebhook({ webhookType: 'participant-joined', data: { sessionId: 42, participantId: 'p' } });
    expect(nothingToModerate(wrong)).toBeUndefined();
    expect(() => parseEvent(wrong)).toThrow(/\$\.sessionId: must be a string/);
  });
});

describe('createSignatureVerifier', () => {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const verify = createSignatureVerifier(pem);
  const body = Buffer.from(JSON.stringify({ webhookType: 'participant-joined', data: { sessionId: 's', participantId: 'p' } }));
  const signature = sign('RSA-SHA256', body, privateKey).toString('base64');

  it('accepts the base64 RSA-SHA256 signature of the raw body', () => {
    expect(() => verify(body, signature)).not.toThrow();
    expect(() => verify(body, ` ${signature} `)).not.toThrow();
  });

  it('refuses a missing, garbled or foreign signature, and a body changed after signing', () => {
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const cases: [Buffer, string | undefined, RegExp][] = [
      [body, undefined, /missing/],
      [body, '', /missing/],
      [body, 'not-base64!!', /does not match/],
      [body, sign('RSA-SHA256', body, other).toString('base64'), /does not match/],
      [Buffer.concat([body, Buffer.from(' ')]), signature, /does not match/],
    ];
    for (const [raw, sig, message] of cases) {
      expect(() => verify(raw, sig)).toThrow(WebhookSignatureError);
      expect(() => verify(raw, sig)).toThrow(message);
    }
  });
});
