import { z } from 'zod';
import { UsageError } from './errors.js';

/** Longest id (session, participant, meeting, rule) an operator, the API or a library caller may give. */
export const ID_MAX_LENGTH = 200;

/** An id in a request body or a file: trimmed, non-empty, at most `ID_MAX_LENGTH` characters. */
export const idSchema = z.string().trim().min(1, 'must not be empty').max(ID_MAX_LENGTH, `must be at most ${ID_MAX_LENGTH} characters`);

/**
 * The id trimmed, when `value` is one (see `idSchema`); otherwise throws, naming `name`: a
 * `UsageError` for operators and the API (exit 2, 400), a `TypeError` for a library caller.
 */
export function checkId(value: unknown, name: string, Refusal: new (message: string) => Error = UsageError): string {
  const parsed = idSchema.safeParse(value);
  if (!parsed.success) throw new Refusal(`${name} must be a non-empty string of at most ${ID_MAX_LENGTH} characters`);
  return parsed.data;
}
