import type { FastifyInstance } from 'fastify';
import { rearmRule } from '../../consequences/rule-trips.js';
import { UsageError } from '../../shared/errors.js';
import type { RouteContext } from '../deps.js';

const RULE_NAME = /^[a-z0-9][a-z0-9-]{0,99}$/;

/** Rules tripped past their budget: listed, and re-armed by an operator. */
export function registerRuleRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  app.get('/v1/rules/tripped', async () => {
    if (!deps.budgets) throw new Error('rule budgets are not available in this process');
    return { tripped: await deps.budgets.tripped() };
  });

  app.post('/v1/rules/:name/rearm', async (request) => {
    const { name } = request.params as { name: string };
    if (!RULE_NAME.test(name)) throw new UsageError(`invalid rule name "${name.slice(0, 100)}": lower-case letters, digits and "-"`);
    if (!deps.budgets) throw new Error('rule budgets are not available in this process');
    return rearmRule({ budgets: deps.budgets, audit: deps.audit, logger: deps.logger, now }, name, 'api');
  });
}
