import { createHash, timingSafeEqual } from 'node:crypto';
import type { Role } from './roles.js';
import { API_TOKEN_NAME, type NamedToken } from './tokens-file.js';

/** Who called: the token's name (recorded as `token:<name>`) and its role. */
export interface Caller {
  name: string;
  role: Role;
}

/** The tokens the HTTP API takes: `AUTOMOD_API_TOKEN` (admin, named `api`) and the tokens file's. */
export interface Credentials {
  /** False when neither is configured: the API is then open, and served on loopback only. */
  readonly required: boolean;
  /** The caller a token belongs to, or undefined for a token that is not known. */
  identify(token: string | undefined): Caller | undefined;
}

/** Digests compared in constant time: equal lengths whatever the token given. */
export function sha256(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

export function createCredentials(options: {
  apiToken: string | undefined;
  /** The tokens file's tokens in force now (re-read as it changes). */
  tokens?: { current(): readonly NamedToken[] } | undefined;
}): Credentials {
  const api: NamedToken | undefined = options.apiToken
    ? { name: API_TOKEN_NAME, role: 'admin', digest: sha256(options.apiToken) }
    : undefined;
  const fileTokens = options.tokens;
  return {
    required: api !== undefined || fileTokens !== undefined,
    identify(token) {
      if (token === undefined || token === '') return undefined;
      const digest = sha256(token);
      // Every token is compared, the match or not: how long this takes says nothing of which one matched.
      let found: NamedToken | undefined;
      for (const candidate of [...(api ? [api] : []), ...(fileTokens?.current() ?? [])])
        if (timingSafeEqual(digest, candidate.digest) && found === undefined) found = candidate;
      return found ? { name: found.name, role: found.role } : undefined;
    },
  };
}
