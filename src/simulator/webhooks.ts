import { createPrivateKey, createPublicKey, generateKeyPairSync, sign as rsaSign, type KeyObject } from 'node:crypto';
import type { SimWebhook, SimWebhookDelivery } from './types.js';

/** How long one delivery may take before it is recorded as failed. */
const DELIVERY_TIMEOUT_MS = 5000;
/** Deliveries kept for `GET /_sim/webhooks`; the oldest go first. */
const KEPT_DELIVERIES = 1000;

/** The simulator's webhook-signing key pair: VideoSDK signs with the private half, receivers verify with the public PEM. */
export interface WebhookKeys {
  privateKey: KeyObject;
  publicKeyPem: string;
}

/**
 * The key pair from a PEM private key (an RSA key as `automod simulator --webhook-key` keeps it),
 * or a new 2048-bit one. A key that is not RSA is refused: VideoSDK's signature is RSA-SHA256.
 */
export function webhookKeys(privateKeyPem?: string): WebhookKeys {
  let privateKey: KeyObject;
  if (privateKeyPem === undefined) {
    privateKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  } else {
    try {
      privateKey = createPrivateKey(privateKeyPem);
    } catch (err) {
      throw new Error('the webhook key is not a PEM private key', { cause: err });
    }
    if (privateKey.asymmetricKeyType !== 'rsa') throw new Error(`the webhook key must be an RSA key, not ${privateKey.asymmetricKeyType}`);
  }
  return { privateKey, publicKeyPem: createPublicKey(privateKey).export({ type: 'spki', format: 'pem' }).toString() };
}

/** VideoSDK's `videosdk-signature`: base64 RSA-SHA256 of the raw body. */
export function signWebhookBody(body: string | Buffer, privateKey: KeyObject): string {
  return rsaSign('RSA-SHA256', typeof body === 'string' ? Buffer.from(body) : body, privateKey).toString('base64');
}

/** Whether a room's `webhook.events` (exact names, `*`, or a `prefix-*` pattern) asks for this type. */
export function roomWants(events: readonly string[], webhookType: string): boolean {
  return events.some((e) => e === '*' || e === webhookType || (e.endsWith('*') && webhookType.startsWith(e.slice(0, -1))));
}

/**
 * Delivers webhooks one after another, in the order they happened (a join before its leave), signed
 * as VideoSDK signs them, and keeps a log of each delivery with the receiver's status. A receiver
 * that is down or slow costs a log entry, never an error in the simulated API.
 */
export function createWebhookSender(deps: { sign: (body: string) => string; now: () => number; timeoutMs?: number }) {
  let chain: Promise<unknown> = Promise.resolve();
  let log: SimWebhookDelivery[] = [];

  async function post(webhook: SimWebhook, url: string): Promise<SimWebhookDelivery> {
    const body = JSON.stringify(webhook);
    const signature = deps.sign(body);
    const delivery: SimWebhookDelivery = {
      at: new Date(deps.now()).toISOString(),
      webhookType: webhook.webhookType,
      url,
      body,
      signature,
      status: null,
    };
    try {
      const response = await fetch(url, {
        method: 'POST',
        body,
        headers: { 'content-type': 'application/json', 'videosdk-signature': signature },
        redirect: 'manual',
        signal: AbortSignal.timeout(deps.timeoutMs ?? DELIVERY_TIMEOUT_MS),
      });
      delivery.status = response.status;
      delivery.response = (await response.text()).slice(0, 500);
    } catch (err) {
      delivery.error = err instanceof Error ? err.message : String(err);
    }
    log.push(delivery);
    if (log.length > KEPT_DELIVERIES) log.splice(0, log.length - KEPT_DELIVERIES);
    return delivery;
  }

  return {
    /** Queues one delivery behind the others; resolves with its record (never rejects). */
    deliver(webhook: SimWebhook, url: string): Promise<SimWebhookDelivery> {
      const result = chain.then(() => post(webhook, url));
      chain = result;
      return result;
    },
    /** Resolves once every delivery queued so far has been made. */
    settled(): Promise<void> {
      return chain.then(() => undefined);
    },
    deliveries(): SimWebhookDelivery[] {
      return log.map((d) => ({ ...d }));
    },
    clear(): void {
      log = [];
    },
  };
}

export type WebhookSender = ReturnType<typeof createWebhookSender>;
