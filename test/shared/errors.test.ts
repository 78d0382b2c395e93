import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/shared/errors.js';
import { parseConfig } from '../../src/shared/config.js';
import { RedisUnreachableError } from '../../src/store/redis.js';

const { AutomodError, ProblemsError } = errors;
const problems = [{ path: '$.a', message: 'is wrong' }];
const config = parseConfig({});

/** One instance per code each class can carry (VideoSdkApiError has one per kind). */
const samples: Record<string, () => errors.AutomodError[]> = {
  ConfigError: () => [new errors.ConfigError(problems)],
  InvalidEventError: () => [new errors.InvalidEventError(problems)],
  InvalidRemovalError: () => [new errors.InvalidRemovalError(problems)],
  RulesError: () => [new errors.RulesError(problems)],
  VideoSdkApiError: () =>
    (['transient', 'permanent', 'credential'] as const).map((kind) => new errors.VideoSdkApiError(kind, { method: 'GET', path: '/x' })),
  RemovalUnconfirmedError: () => [new errors.RemovalUnconfirmedError({ status: 200, why: 'an empty body', seen: 'listed' })],
  CredentialMissingError: () => [new errors.CredentialMissingError('none')],
  WebhookSignatureError: () => [new errors.WebhookSignatureError('bad')],
  UsageError: () => [new errors.UsageError('bad')],
  ForbiddenError: () => [new errors.ForbiddenError('not for this token', 'operator')],
  NotFoundError: () => [new errors.NotFoundError('gone')],
  ConflictError: () => [new errors.ConflictError('decided')],
  QueueAddError: () => [new errors.QueueAddError(new Error('down'))],
  GateUnavailableError: () => [new errors.GateUnavailableError('Redis did not answer')],
  TooManyEventsError: () => [new errors.TooManyEventsError(1001, 1000)],
  InternalError: () => [new errors.InternalError(new Error('a bug'))],
  RedisUnreachableError: () => [new RedisUnreachableError(config.redis, 1000, undefined)],
};

describe('the error registry', () => {
  it('covers every error class errors.ts exports', () => {
    const exported = Object.entries(errors)
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof AutomodError && value !== ProblemsError)
      .map(([name]) => name);
    expect(exported.filter((name) => !(name in samples))).toEqual([]);
  });

  it('gives every error class (and VideoSDK failure kind) a code of its own, and every code of the registry a class', () => {
    const codes = Object.values(samples).flatMap((make) => make().map((err) => err.code));
    expect(codes.every((code) => /^ERR_[A-Z_]+$/.test(code))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
    expect([...codes].sort()).toEqual(Object.keys(errors.ERROR_CODES).sort());
  });

  it('gives every error the HTTP status of its code', () => {
    for (const err of Object.values(samples).flatMap((make) => make())) {
      expect(err.statusCode, err.code).toBe(errors.ERROR_CODES[err.code]);
      expect(err.statusCode === 500 || (err.statusCode >= 400 && err.statusCode < 600), err.code).toBe(true);
    }
  });

  it('is what docs/reference.md lists: every code with its status, and no other', async () => {
    const reference = await readFile(new URL('../../docs/reference.md', import.meta.url), 'utf8');
    const section = reference.slice(reference.indexOf('\n## Errors\n'));
    const table = section.slice(0, section.indexOf('\n## ', 1));
    const rows = [...table.matchAll(/^\| `(ERR_[A-Z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => ({ code: m[1]!, status: Number(m[2]) }));
    expect(rows.length).toBeGreaterThan(10);
    expect(new Set(rows.map((r) => r.code)).size).toBe(rows.length);
    expect(Object.fromEntries(rows.map((r) => [r.code, r.status]))).toEqual(errors.ERROR_CODES);
  });

  it('holds every ERR_ code the source gives (no answer or error makes up its own)', async () => {
    // Codes of Node.js itself that the source matches on, not ones it gives.
    const foreign = new Set(['ERR_INVALID_URL']);
    const src = new URL('../../src/', import.meta.url).pathname;
    const files = (await readdir(src, { recursive: true })).filter((f) => f.endsWith('.ts'));
    const found = new Map<string, string>();
    for (const file of files) {
      const text = await readFile(join(src, file), 'utf8');
      for (const m of text.matchAll(/['"`](ERR_[A-Z_]+)['"`]/g)) if (!foreign.has(m[1]!)) found.set(m[1]!, file);
    }
    expect(found.size).toBeGreaterThan(10);
    expect([...found].filter(([code]) => !(code in errors.ERROR_CODES))).toEqual([]);
  });

  it('lists the problems of every problem-carrying error after its prefix', () => {
    for (const err of [
      new errors.ConfigError(problems),
      new errors.InvalidEventError(problems),
      new errors.InvalidRemovalError(problems),
      new errors.RulesError(problems),
    ]) {
      expect(err).toBeInstanceOf(ProblemsError);
      expect(err.problems).toEqual(problems);
      expect(err.message).toMatch(/^invalid [a-z]+: \$\.a: is wrong$/);
      expect(err.name).toBe(err.constructor.name);
    }
  });

  it('names a zod issue path as a JSON path', () => {
    expect(errors.problemPath(['data', 'items', 0, 'name'])).toBe('$.data.items[0].name');
    expect(errors.problemPath([])).toBe('$');
  });
});
