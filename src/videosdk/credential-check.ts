import { randomBytes } from 'node:crypto';
import { VideoSdkApiError } from '../shared/errors.js';
import type { VideoSdkClient } from './client.js';

/** What a credential check found: VideoSDK accepted it, refused it, or could not be asked. */
export type CredentialCheck =
  | { result: 'accepted'; status: number }
  | { result: 'refused'; status: number }
  | { result: 'missing' }
  | { result: 'unknown'; error: string };

/**
 * Checks the credential with one cheap authenticated call: fetching a session that does not
 * exist. 401/403 = refused; any other answer (404 above all) = accepted; no answer (VideoSDK
 * unreachable, a timeout) = unknown, which is not a refusal.
 */
export async function checkCredential(client: Pick<VideoSdkClient, 'getSession'>, configured: boolean): Promise<CredentialCheck> {
  if (!configured) return { result: 'missing' };
  try {
    const response = await client.getSession(`automod-credential-check-${randomBytes(6).toString('hex')}`);
    return { result: 'accepted', status: response.status };
  } catch (err) {
    if (err instanceof VideoSdkApiError && err.status !== undefined) {
      return err.status === 401 || err.status === 403
        ? { result: 'refused', status: err.status }
        : { result: 'accepted', status: err.status };
    }
    return { result: 'unknown', error: err instanceof Error ? err.message : String(err) };
  }
}

/** The check in a line of text: `accepted (a test fetch answered 404)`, `REFUSED (HTTP 401)`. */
export function credentialText(check: CredentialCheck): string {
  switch (check.result) {
    case 'accepted':
      return `accepted (a test fetch answered ${check.status})`;
    case 'refused':
      return `REFUSED (HTTP ${check.status})`;
    case 'missing':
      return 'not configured';
    case 'unknown':
      return `unknown: ${check.error}`;
  }
}
