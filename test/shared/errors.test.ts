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
  NotFoundError: () => [new errors.NotFoundError('gone')],
  ConflictError: () => [new errors.ConflictError('decided')],
  QueueAddError: () => [new errors.QueueAddError(new Error('down'))],
  RedisUnreachableError: () => [new RedisUnreachableError(config.redis, 1000, undefined)],
};

describe('the error registry', () => {
  it('covers every error class errors.ts exports', () => {
    const exported = Object.entries(errors)
      .filter(([, value]) => typeof value === 'function' && value.prototype instanceof AutomodError && value !== ProblemsError)
      .map(([name]) => name);
    expect(exported.filter((name) => !(name in samples))).toEqual([]);
  });

  it('gives every error class (and VideoSDK failure kind) a code of its own', () => {
    const codes = Object.values(samples).flatMap((make) => make().map((err) => err.code));
    expect(codes.every((code) => /^ERR_[A-Z_]+$/.test(code))).toBe(true);
    expect(new Set(codes).size).toBe(codes.length);
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
