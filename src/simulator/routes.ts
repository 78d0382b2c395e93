import { VIDEOSDK_PATHS as P } from '../videosdk/api-paths.js';
import type { SimOperation } from './types.js';

/** The API version a route belongs to. */
export type ApiVersion = 'v1' | 'v2';

/** The API routes the simulator answers (fastify prefers static segments over params). */
export const ROUTES: Record<string, { operation: Exclude<SimOperation, 'other'>; apiVersion: ApiVersion }> = {
  [`POST ${P.v1RemoveParticipant}`]: { operation: 'remove', apiVersion: 'v1' },
  [`GET ${P.v1Session}`]: { operation: 'get-session', apiVersion: 'v1' },
  [`POST ${P.v1EndSession}`]: { operation: 'end-session', apiVersion: 'v1' },
  [`POST ${P.v2RemoveParticipant}`]: { operation: 'remove', apiVersion: 'v2' },
  [`POST ${P.v2EndSession}`]: { operation: 'end-session', apiVersion: 'v2' },
  [`GET ${P.v2Sessions}`]: { operation: 'list-sessions', apiVersion: 'v2' },
  [`GET ${P.v2Session}`]: { operation: 'get-session', apiVersion: 'v2' },
  [`GET ${P.v2Participants}`]: { operation: 'get-participants', apiVersion: 'v2' },
  [`GET ${P.v2ActiveParticipants}`]: { operation: 'get-active', apiVersion: 'v2' },
  [`GET ${P.v2Participant}`]: { operation: 'get-participant', apiVersion: 'v2' },
  [`GET ${P.v2SessionStats}`]: { operation: 'session-stats', apiVersion: 'v2' },
  [`GET ${P.v2ParticipantStats}`]: { operation: 'participant-stats', apiVersion: 'v2' },
  [`POST ${P.v2Rooms}`]: { operation: 'create-room', apiVersion: 'v2' },
  [`GET ${P.v2Rooms}`]: { operation: 'list-rooms', apiVersion: 'v2' },
  [`GET ${P.v2ValidateRoom}`]: { operation: 'validate-room', apiVersion: 'v2' },
  [`GET ${P.v2Room}`]: { operation: 'get-room', apiVersion: 'v2' },
  [`POST ${P.v2DeactivateRoom}`]: { operation: 'deactivate-room', apiVersion: 'v2' },
  [`POST ${P.v2Room}`]: { operation: 'update-room', apiVersion: 'v2' },
  [`GET ${P.v2PublicKey}`]: { operation: 'public-key', apiVersion: 'v2' },
};

/** The version of an unknown route, from its path (its token is checked by that version's rules). */
export function apiVersionOf(path: string): ApiVersion | undefined {
  if (path.startsWith('/v1/')) return 'v1';
  if (path.startsWith('/v2/')) return 'v2';
  return undefined;
}
