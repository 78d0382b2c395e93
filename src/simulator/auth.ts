import { errors as joseErrors, jwtVerify } from 'jose';
import { fail, type SimResult } from './http-shapes.js';
import type { SimOperation, SimV2Claims } from './types.js';

export interface AuthContext {
  requireAuth: boolean;
  credentialValid: boolean;
  secret: string | undefined;
  apiKey: string | undefined;
  v2Claims: SimV2Claims;
}

export interface AuthTarget {
  operation: SimOperation;
  /** From the path, so unknown `/v2/...` routes are held to the v2 rules too. */
  apiVersion: 'v1' | 'v2' | undefined;
}

/**
 * VideoSDK's token checks, run before routing (so an unknown route answers 401 to a bad token,
 * never 404). Returns the refusal, or undefined when the token may use `target`.
 */
export async function authorize(header: string | undefined, context: AuthContext, target: AuthTarget): Promise<SimResult | undefined> {
  if (!context.requireAuth) return undefined;
  if (header === undefined || header === '') return fail(401, 'Authorization header is missing');
  if (/^bearer\s/i.test(header)) return fail(401, 'Authorization must be the token itself, without "Bearer"');
  if (!context.credentialValid) return fail(401, 'Token is revoked');
  if (context.secret === undefined) return undefined;
  let payload: Record<string, unknown>;
  try {
    ({ payload } = await jwtVerify(header, new TextEncoder().encode(context.secret), { algorithms: ['HS256'] }));
  } catch (err) {
    return fail(401, err instanceof joseErrors.JWTExpired ? 'Token is expired' : 'Token is invalid');
  }
  if (typeof payload.apikey !== 'string') return fail(401, 'Token has no apikey');
  if (context.apiKey !== undefined && payload.apikey !== context.apiKey) return fail(403, 'apikey is not allowed');
  const permissions = Array.isArray(payload.permissions) ? payload.permissions : [];
  if (target.operation === 'remove' && !permissions.includes('allow_mod')) return fail(403, 'Token lacks the allow_mod permission');
  // The legacy docs spelled the role CRAWLER; the current ones use lower case.
  const roles = Array.isArray(payload.roles) ? payload.roles.map((r) => String(r).toLowerCase()) : [];
  if (roles.includes('rtc') && !roles.includes('crawler')) return fail(403, 'An rtc token cannot use the REST API');
  if (target.apiVersion === 'v2' && context.v2Claims === 'strict') {
    if (payload.version !== 2) return fail(403, 'The v2 API needs a token with "version": 2');
    if (!roles.includes('crawler')) return fail(403, 'The v2 API needs a token with the "crawler" role');
  }
  return undefined;
}
