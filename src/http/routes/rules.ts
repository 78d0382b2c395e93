import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { rearmRule } from '../../consequences/rule-trips.js';
import { actorOf } from '../auth.js';
import type { RouteContext } from '../deps.js';
import { invalidInput } from '../route-input.js';

const ruleParams = z.object({
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,99}$/, 'must be a rule name: lower-case letters, digits and "-", up to 100'),
});

/** Rules tripped past their budget: listed, and re-armed by an operator. */
export function registerRuleRoutes(app: FastifyInstance, { deps, now }: RouteContext): void {
  const api = app.withTypeProvider<ZodTypeProvider>();
  api.get('/v1/rules/tripped', async () => {
    if (!deps.budgets) throw new Error('rule budgets are not available in this process');
    return { tripped: await deps.budgets.tripped() };
  });

  api.post('/v1/rules/:name/rearm', { schema: { params: ruleParams }, schemaErrorFormatter: invalidInput('rule') }, async (request) => {
    if (!deps.budgets) throw new Error('rule budgets are not available in this process');
    return rearmRule({ budgets: deps.budgets, audit: deps.audit, logger: deps.logger, now }, request.params.name, actorOf(request));
  });
}
