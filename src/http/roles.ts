/**
 * The roles a named token holds (`AUTOMOD_TOKENS_FILE`), narrowest first. Each is scoped to one
 * purpose, so a leaked token-server config opens the gate and nothing else.
 */
export const ROLES = ['gate', 'ingest', 'metrics', 'moderator', 'operator', 'admin'] as const;
export type Role = (typeof ROLES)[number];

/**
 * The routes' roles each role may call. A role includes another only where the product says so:
 * a moderator can ask the gate, an operator does what a moderator does and reads the metrics;
 * nobody but `ingest` and `admin` puts events in.
 */
const GRANTS: Readonly<Record<Role, readonly Role[]>> = {
  gate: ['gate'],
  ingest: ['ingest'],
  metrics: ['metrics'],
  moderator: ['gate', 'moderator'],
  operator: ['gate', 'moderator', 'metrics', 'operator'],
  admin: ROLES,
};

/**
 * What a route asks of its caller: `open` (nothing: the probes, the console's page and files),
 * `webhook` (the webhook's own credential, checked by its route), `any` (any accepted token, of any
 * role), or a role.
 */
export type Access = 'open' | 'webhook' | 'any' | Role;

/** Whether a token of `role` may call a route that asks for `access`. */
export function roleAllows(role: Role, access: Access): boolean {
  if (access === 'open' || access === 'any') return true;
  if (access === 'webhook') return false;
  return GRANTS[role].includes(access);
}

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
