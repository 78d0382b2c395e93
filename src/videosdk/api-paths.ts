/**
 * The VideoSDK REST paths, as the official Node server SDK (0.1.1) calls them: the one home for the
 * client's requests, the paths recorded with each removal attempt and the simulator's routes.
 * `:name` segments are parameters (fastify route syntax), filled in encoded by `fillPath`.
 */
export const VIDEOSDK_PATHS = {
  v1RemoveParticipant: '/v1/meeting-sessions/:sessionId/remove-participant',
  v1Session: '/v1/meeting-sessions/:sessionId',
  v1EndSession: '/v1/meeting-sessions/:sessionId/end',
  v2RemoveParticipant: '/v2/sessions/participants/remove',
  v2EndSession: '/v2/sessions/end',
  v2Sessions: '/v2/sessions',
  v2Session: '/v2/sessions/:sessionId',
  v2Participants: '/v2/sessions/:sessionId/participants',
  v2ActiveParticipants: '/v2/sessions/:sessionId/participants/active',
  v2Participant: '/v2/sessions/:sessionId/participants/:participantId',
  v2SessionStats: '/v2/sessions/:sessionId/stats',
  v2ParticipantStats: '/v2/sessions/:sessionId/participant/:participantId/stats',
  v2Rooms: '/v2/rooms',
  v2ValidateRoom: '/v2/rooms/validate/:roomId',
  v2Room: '/v2/rooms/:roomId',
  v2DeactivateRoom: '/v2/rooms/deactivate',
  v2PublicKey: '/v2/public/rsa-public-key',
} as const;

/** A path template with its `:name` segments replaced by the URI-encoded values. */
export function fillPath(template: string, params: Readonly<Record<string, string>>): string {
  return template.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined) throw new Error(`no value for :${name} in ${template}`);
    return encodeURIComponent(value);
  });
}

/** The path of a removal's two calls for an API version (what the client sends and the attempt records). */
export function operationPath(version: 'v1' | 'v2', operation: 'remove' | 'get-session', sessionId: string): string {
  if (version === 'v2')
    return operation === 'remove' ? VIDEOSDK_PATHS.v2RemoveParticipant : fillPath(VIDEOSDK_PATHS.v2Session, { sessionId });
  return fillPath(operation === 'remove' ? VIDEOSDK_PATHS.v1RemoveParticipant : VIDEOSDK_PATHS.v1Session, { sessionId });
}
