import { decodeProtectedHeader, jwtVerify } from 'jose';
import { describe, expect, it } from 'vitest';
import { CredentialMissingError } from '../../src/shared/errors.js';
import { createTokenProvider } from '../../src/videosdk/token.js';

const SECRET = 'test-secret-0123456789abcdef';
const key = new TextEncoder().encode(SECRET);
const creds = { token: undefined, apiKey: 'key-123', secret: SECRET };

describe('createTokenProvider', () => {
  it('mints an HS256 token with the VideoSDK claims', async () => {
    const t0 = Date.UTC(2026, 10, 25, 10, 0, 0);
    const provider = createTokenProvider(creds, { now: () => t0, ttlSeconds: 600 });
    const token = await provider.get();
    expect(decodeProtectedHeader(token)).toEqual({ alg: 'HS256', typ: 'JWT' });
    const { payload } = await jwtVerify(token, key, { algorithms: ['HS256'], currentDate: new Date(t0) });
    expect(payload).toEqual({
      apikey: 'key-123',
      permissions: ['allow_join', 'allow_mod'],
      version: 2,
      roles: ['crawler'],
      iat: t0 / 1000,
      exp: t0 / 1000 + 600,
    });
    expect(provider.describe()).toBe('minted from API key');
    expect(provider.describe()).not.toContain(SECRET);
  });

  it('caches the token and renews it before it expires', async () => {
    let now = Date.UTC(2026, 0, 1);
    const provider = createTokenProvider(creds, { now: () => now, ttlSeconds: 3600, renewBeforeSeconds: 300 });
    const first = await provider.get();
    now += 1000;
    expect(await provider.get()).toBe(first);
    now += (3600 - 300 - 2) * 1000; // 1 s before the renewal point
    expect(await provider.get()).toBe(first);
    now += 1000; // exactly renewBefore seconds left
    const renewed = await provider.get();
    expect(renewed).not.toBe(first);
    const { payload } = await jwtVerify(renewed, key, { currentDate: new Date(now) });
    expect(payload.exp).toBe(Math.floor(now / 1000) + 3600);
  });

  it('shares one minting between concurrent callers', async () => {
    const provider = createTokenProvider(creds);
    const [a, b] = await Promise.all([provider.get(), provider.get()]);
    expect(a).toBe(b);
  });

  it('defaults to one-hour tokens', async () => {
    const provider = createTokenProvider(creds);
    const { payload } = await jwtVerify(await provider.get(), key);
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
  });

  it('returns a static token as is', async () => {
    const provider = createTokenProvider({ token: 'static.jwt.value', apiKey: 'k', secret: 's' });
    expect(await provider.get()).toBe('static.jwt.value');
    expect(provider.describe()).toBe('static token');
  });

  it('throws CredentialMissingError without any credential', () => {
    expect(() => createTokenProvider({ token: undefined, apiKey: undefined, secret: undefined })).toThrow(CredentialMissingError);
    expect(() => createTokenProvider({ token: undefined, apiKey: 'k', secret: undefined })).toThrow(CredentialMissingError);
  });
});
