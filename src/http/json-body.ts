import { UsageError } from '../shared/errors.js';

/**
 * A body that is not JSON at all. Shaped like fastify's own parser errors (`statusCode`, `code`),
 * so the one error mapping answers it as `400 bad request: ...`.
 */
export class InvalidJsonBodyError extends Error {
  readonly statusCode = 400;
  readonly code = 'FST_ERR_CTP_INVALID_JSON_BODY';
  constructor(detail: string) {
    super(`body is not valid JSON (${detail})`);
    this.name = 'InvalidJsonBodyError';
  }
}

/** A key can only spell `__proto__` or `constructor` literally or through `\u` escapes. */
const SUSPECT = /__proto__|constructor|\\u/;

/**
 * Parses a JSON body, refusing `__proto__` keys and `constructor.prototype` (what fastify's
 * `onProtoPoisoning: 'error'` refuses) with a message that says so: such a body is valid JSON,
 * and "not valid JSON" would send its sender looking for the wrong mistake.
 */
export function parseJsonBody(text: string): unknown {
  if (text.trim() === '') throw new InvalidJsonBodyError('the body is empty');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new InvalidJsonBodyError(err instanceof Error ? err.message : 'parse error');
  }
  if (SUSPECT.test(text)) {
    const found = poisonedKey(value);
    if (found) throw new UsageError(`key ${found.key} at ${found.path} is not allowed (prototype pollution guard)`);
  }
  return value;
}

/** Iterative: a body nested thousands of levels deep must not overflow the stack. */
function poisonedKey(root: unknown): { key: string; path: string } | undefined {
  const stack: { value: unknown; path: string }[] = [{ value: root, path: '$' }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (value === null || typeof value !== 'object') continue;
    if (Object.hasOwn(value, '__proto__')) return { key: '__proto__', path };
    const ctor = (value as Record<string, unknown>).constructor;
    if (Object.hasOwn(value, 'constructor') && ctor !== null && typeof ctor === 'object' && Object.hasOwn(ctor, 'prototype')) {
      return { key: 'constructor.prototype', path };
    }
    for (const [key, inner] of Object.entries(value)) {
      stack.push({ value: inner, path: Array.isArray(value) ? `${path}[${key}]` : `${path}.${key}` });
    }
  }
  return undefined;
}
