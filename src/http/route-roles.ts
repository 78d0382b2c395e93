import type { Access } from './roles.js';

/**
 * Who may call each route, in one place: `METHOD /path` as fastify registers it (a GET route's
 * HEAD goes with it), or `* /prefix/**` for every route under a prefix (Bull Board's). A route that
 * is not here cannot be registered (`buildHttpApp` refuses it), docs/reference.md ("Who may call
 * what") lists the same rows, and test/http/roles.test.ts calls every route with every role.
 */
export const ROUTE_ROLES: readonly (readonly [route: string, access: Access])[] = [
  ['GET /healthz', 'open'],
  ['GET /readyz', 'open'],
  ['GET /metrics', 'metrics'],
  ['POST /v1/events', 'ingest'],
  ['POST /v1/webhooks/videosdk', 'webhook'],
  ['GET /v1/gate', 'gate'],
  ['GET /v1/bans/check', 'gate'],
  ['GET /v1/whoami', 'any'],
  ['GET /v1/reviews', 'moderator'],
  ['GET /v1/reviews/:id', 'moderator'],
  ['POST /v1/reviews/:id/approve', 'moderator'],
  ['POST /v1/reviews/:id/dismiss', 'moderator'],
  ['GET /v1/bans', 'moderator'],
  ['POST /v1/bans', 'moderator'],
  ['DELETE /v1/bans/:meeting/:participantId', 'moderator'],
  ['GET /v1/lockdowns', 'moderator'],
  ['POST /v1/lockdowns', 'moderator'],
  ['DELETE /v1/lockdowns/:meetingId', 'moderator'],
  ['POST /v1/lockdowns/:meetingId/admit', 'moderator'],
  ['GET /v1/audit', 'moderator'],
  ['GET /v1/sessions/:id', 'moderator'],
  ['GET /v1/jobs', 'moderator'],
  ['GET /v1/jobs/:id', 'moderator'],
  ['GET /console', 'open'],
  ['GET /console/:file', 'open'],
  ['GET /v1/console/overview', 'moderator'],
  ['GET /v1/console/rules', 'moderator'],
  ['POST /v1/removals', 'operator'],
  ['POST /v1/replay', 'operator'],
  ['POST /v1/pause', 'operator'],
  ['POST /v1/resume', 'operator'],
  ['GET /v1/dead-letters', 'operator'],
  ['POST /v1/dead-letters/:id/replay', 'operator'],
  ['GET /v1/rules/tripped', 'operator'],
  ['POST /v1/rules/:name/rearm', 'operator'],
  ['POST /v1/undo', 'operator'],
  ['* /admin/queues/**', 'operator'],
];

const EXACT = new Map<string, Access>(ROUTE_ROLES.filter(([route]) => !route.startsWith('* ')));
const PREFIXES = ROUTE_ROLES.filter(([route]) => route.startsWith('* ')).map(
  ([route, access]) => [route.slice(2, -'/**'.length), access] as const,
);

/**
 * What the route `url` (fastify's pattern, not the request's path) asks for `method`; undefined
 * when the table has no row for it.
 */
export function accessOf(method: string, url: string): Access | undefined {
  const exact = EXACT.get(`${method === 'HEAD' ? 'GET' : method} ${url}`);
  if (exact) return exact;
  return PREFIXES.find(([prefix]) => url === prefix || url.startsWith(`${prefix}/`))?.[1];
}
