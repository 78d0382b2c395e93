import type { FastifyInstance } from 'fastify';
import { roleAllows, type Role } from '../roles.js';
import { ROUTE_ROLES } from '../route-roles.js';

/**
 * `GET /v1/whoami`: the caller's token name and role, and the routes that role may call (rows of
 * ROUTE_ROLES, open ones aside), so the console offers only what the token can do.
 */
export function registerWhoamiRoute(app: FastifyInstance): void {
  app.get('/v1/whoami', async (request) => {
    // Without any credential configured, every caller may do everything (loopback only).
    const role: Role = request.caller?.role ?? 'admin';
    return {
      name: request.caller?.name ?? null,
      role,
      allows: ROUTE_ROLES.filter(([, access]) => access !== 'open' && access !== 'webhook' && roleAllows(role, access)).map(
        ([route]) => route,
      ),
    };
  });
}
