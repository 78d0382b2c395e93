import { SignJWT } from 'jose';
import type { Config } from '../shared/config.js';
import { CredentialMissingError } from '../shared/errors.js';

/** Hands out the JWT to put in `Authorization`; never exposes the API secret. */
export interface TokenProvider {
  /** A token valid for at least `renewBeforeSeconds` more (minted tokens), or the static token. */
  get(): Promise<string>;
  /** Where tokens come from, safe to log: `'static token'` or `'minted from API key'`. */
  describe(): string;
}

export interface TokenProviderOptions {
  /** Clock in milliseconds since the epoch; defaults to `Date.now`. */
  now?: () => number;
  /** Lifetime of a minted token. Default 3600. */
  ttlSeconds?: number;
  /** A cached token is replaced this long before it expires. Default 300. */
  renewBeforeSeconds?: number;
}

/** Claims every minted token carries (VideoSDK's management-token defaults). */
export const TOKEN_PERMISSIONS = ['allow_join', 'allow_mod'] as const;
export const TOKEN_ROLES = ['crawler'] as const;

/**
 * Tokens for VideoSDK's REST API. A ready `VIDEOSDK_TOKEN` wins; otherwise an HS256 JWT is minted
 * from the API key and secret, cached, and minted again `renewBeforeSeconds` before it expires.
 * Throws `CredentialMissingError` when neither is configured.
 */
export function createTokenProvider(
  videosdk: Pick<Config['videosdk'], 'token' | 'apiKey' | 'secret'>,
  options: TokenProviderOptions = {},
): TokenProvider {
  const staticToken = videosdk.token;
  if (staticToken !== undefined) {
    return { get: () => Promise.resolve(staticToken), describe: () => 'static token' };
  }
  const { apiKey, secret } = videosdk;
  if (apiKey === undefined || secret === undefined) {
    throw new CredentialMissingError('no VideoSDK credential: set VIDEOSDK_TOKEN, or VIDEOSDK_API_KEY and VIDEOSDK_SECRET');
  }
  const now = options.now ?? Date.now;
  const ttlSeconds = Math.max(1, Math.floor(options.ttlSeconds ?? 3600));
  // A renewal margin as long as the lifetime would mint on every call; keep at most half of it.
  const renewBeforeSeconds = Math.min(Math.max(0, options.renewBeforeSeconds ?? 300), Math.floor(ttlSeconds / 2));
  const key = new TextEncoder().encode(secret);

  let cached: { token: Promise<string>; exp: number } | undefined;

  const mint = async (iat: number, exp: number): Promise<string> => {
    try {
      return await new SignJWT({ apikey: apiKey, permissions: [...TOKEN_PERMISSIONS], version: 2, roles: [...TOKEN_ROLES] })
        .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
        .setIssuedAt(iat)
        .setExpirationTime(exp)
        .sign(key);
    } catch (err) {
      // jose's messages do not carry the key, but keep only the class name to be safe.
      throw new CredentialMissingError(`could not mint a VideoSDK token (${err instanceof Error ? err.name : 'unknown error'})`);
    }
  };

  return {
    get(): Promise<string> {
      const nowSeconds = Math.floor(now() / 1000);
      if (cached === undefined || nowSeconds >= cached.exp - renewBeforeSeconds) {
        const exp = nowSeconds + ttlSeconds;
        const token = mint(nowSeconds, exp);
        // Concurrent callers share one minting; a failed one is not cached.
        const entry = { token, exp };
        cached = entry;
        token.catch(() => {
          if (cached === entry) cached = undefined;
        });
      }
      return cached.token;
    },
    describe: () => 'minted from API key',
  };
}
