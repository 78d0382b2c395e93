import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto';
import { InvalidEventError, WebhookSignatureError } from '../shared/errors.js';
import { isParticipantEvent } from '../shared/event-schema.js';

/** Fields VideoSDK puts in a webhook's `data` that become the event's top-level fields. */
const LIFTED = ['meetingId', 'sessionId', 'participantId', 'participantName'] as const;

/**
 * Maps a VideoSDK webhook body (`{"webhookType": "...", "data": {...}}`, with `type` accepted as
 * an alias) to an event input: `webhookType` becomes `type`, the ids and name move to the top level
 * and the rest of `data` stays in `data`. The result still goes through `parseEvent`. A missing
 * `data` is an empty one, as VideoSDK's own SDK reads it: whatever the event then lacks (a
 * `sessionId`) is named by `parseEvent`.
 */
export function mapWebhook(body: unknown): Record<string, unknown> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidEventError([{ path: '$', message: 'webhook body must be a JSON object' }]);
  }
  const envelope = body as Record<string, unknown>;
  const type = envelope.webhookType ?? envelope.type;
  if (typeof type !== 'string' || type.trim() === '') {
    throw new InvalidEventError([{ path: '$.webhookType', message: 'is required' }]);
  }
  const data = envelope.data ?? {};
  if (typeof data !== 'object' || Array.isArray(data)) {
    throw new InvalidEventError([{ path: '$.data', message: 'must be a JSON object' }]);
  }
  const rest: Record<string, unknown> = {};
  const event: Record<string, unknown> = { type: type.trim(), data: rest };
  for (const [key, value] of Object.entries(data)) {
    if ((LIFTED as readonly string[]).includes(key)) event[key] = value;
    else rest[key] = value;
  }
  return event;
}

/** Why an authentic webhook is acknowledged and dropped: it names nothing the rules could act on. */
export type WebhookIgnoreReason = 'no-session' | 'no-participant';

const IGNORED: Record<WebhookIgnoreReason, string> = {
  'no-session': 'the webhook names no sessionId: nothing to moderate',
  'no-participant': 'the participant webhook names no participantId: nothing to moderate',
};

/**
 * Whether a mapped webhook carries nothing to moderate: no session (a `session-started` without
 * `data`), or a participant event without its participant. VideoSDK retries every answer but a
 * 2xx, and the same bytes would be refused again, so such a webhook, once authentic, is
 * acknowledged and counted rather than refused. A value of the wrong type is not "nothing":
 * `parseEvent` names it (400).
 */
export function nothingToModerate(event: Record<string, unknown>): { reason: WebhookIgnoreReason; message: string } | undefined {
  const absent = (value: unknown) => value === undefined || value === null || (typeof value === 'string' && value.trim() === '');
  const reason: WebhookIgnoreReason | undefined = absent(event.sessionId)
    ? 'no-session'
    : typeof event.type === 'string' && isParticipantEvent(event.type) && absent(event.participantId)
      ? 'no-participant'
      : undefined;
  return reason && { reason, message: IGNORED[reason] };
}

/** Checks `videosdk-signature` (base64 RSA-SHA256 over the raw body) against a public key. */
export function createSignatureVerifier(publicKeyPem: string): (rawBody: Buffer, signature: string | undefined) => void {
  const key: KeyObject = createPublicKey(publicKeyPem);
  return (rawBody, signature) => {
    if (signature === undefined || signature.trim() === '') {
      throw new WebhookSignatureError('the videosdk-signature header is missing');
    }
    let ok: boolean;
    try {
      ok = verify('RSA-SHA256', rawBody, key, Buffer.from(signature.trim(), 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) throw new WebhookSignatureError('the videosdk-signature header does not match the body');
  };
}

/**
 * The event id of a webhook: VideoSDK documents no id, timestamp or replay protection, and its
 * signature covers only the body, so the digest of the raw body is the id. A replayed or
 * redelivered webhook then collapses as a duplicate within the dedup window.
 */
export function webhookEventId(rawBody: Buffer): string {
  return `webhook-${createHash('sha256').update(rawBody).digest('hex')}`;
}
