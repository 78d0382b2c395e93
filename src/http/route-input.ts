import type { FastifySchemaValidationError } from 'fastify';
import { z } from 'zod';
import { InvalidRemovalError, UsageError, type Problem } from '../shared/errors.js';

/**
 * What a route gives fastify as `schemaErrorFormatter`: the problems its schemas found (by the
 * zod validator compiler, `fastify-type-provider-zod`) made into the error that answers them.
 */
export type InputErrorFormatter = (errors: FastifySchemaValidationError[], part: string) => Error;

/**
 * Fastify's `instancePath` (`/removals/0/sessionId`, zod's issue path joined by `/`) as the JSON
 * path our answers name (`$.removals[0].sessionId`). Every key our schemas take is a name, so an
 * all-digit segment is an array index.
 */
function jsonPath(instancePath: string): string {
  return instancePath
    .split('/')
    .filter((part) => part !== '')
    .reduce((path, part) => (/^\d+$/.test(part) ? `${path}[${part}]` : `${path}.${part}`), '$');
}

function problemsOf(errors: readonly FastifySchemaValidationError[]): Problem[] {
  return errors.map((error) => ({ path: jsonPath(error.instancePath), message: error.message ?? 'is not valid' }));
}

function listed(problems: readonly Problem[]): string {
  return problems.map((p) => `${p.path}: ${p.message}`).join('; ');
}

/** How a message names the part of the request that holds the problem (a body goes unnamed). */
const PART: Record<string, string> = { querystring: ' query', params: ' path' };

/**
 * A 400 (`ERR_USAGE`) naming each problem of a route's input, by what the input is: `invalid audit
 * query: $.limit: ...` for a query string, `invalid rule path: $.name: ...` for path parameters,
 * `invalid ban: $.for: is required` for a body. `hint` follows the list (what the body takes).
 */
export function invalidInput(what: string, hint?: string): InputErrorFormatter {
  return (errors, part) => new UsageError(`invalid ${what}${PART[part] ?? ''}: ${listed(problemsOf(errors))}${hint ? ` (${hint})` : ''}`);
}

/** A 400 (`ERR_INVALID_REMOVAL`) listing each problem in `details`, as a removal request's are. */
export const invalidRemovalInput: InputErrorFormatter = (errors) => new InvalidRemovalError(problemsOf(errors));

/**
 * A body schema that reads a request without a body (or a JSON `null`) as `{}`, so "approve" with
 * nothing to add needs no `{}`, and a missing field is named rather than the missing body.
 */
export function bodyOrEmpty<T extends z.ZodType>(schema: T) {
  return z.preprocess((body) => body ?? {}, schema);
}
