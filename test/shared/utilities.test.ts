import { describe, expect, it } from 'vitest';
import { compare } from '../../src/shared/compare.js';
import { withDeadline, within } from '../../src/shared/deadline.js';
import { deepFreeze } from '../../src/shared/deep-freeze.js';
import { UsageError } from '../../src/shared/errors.js';
import { checkId, ID_MAX_LENGTH } from '../../src/shared/ids.js';
import { sleep } from '../../src/shared/sleep.js';

const never = new Promise<never>(() => undefined);

describe('the small shared pieces', () => {
  it('compare orders by code unit, whatever the locale', () => {
    expect(['b', 'a', 'B', 'é', 'e'].sort(compare)).toEqual(['B', 'a', 'b', 'e', 'é']);
    expect(compare('x', 'x')).toBe(0);
  });

  it('deepFreeze freezes what an object holds, arrays included', () => {
    const value = deepFreeze({ a: { b: [{ c: 1 }] } });
    expect(Object.isFrozen(value.a.b[0])).toBe(true);
    expect(Object.isFrozen(value.a.b)).toBe(true);
  });

  it('checkId trims an id and names the field it refuses, as the caller wants it refused', () => {
    expect(checkId('  p1 ', 'participantId')).toBe('p1');
    for (const bad of ['', '   ', 42, undefined, 'x'.repeat(ID_MAX_LENGTH + 1)]) {
      expect(() => checkId(bad, 'meetingId')).toThrow(UsageError);
      expect(() => checkId(bad, 'meetingId', TypeError)).toThrow(
        new TypeError(`meetingId must be a non-empty string of at most ${ID_MAX_LENGTH} characters`),
      );
    }
  });

  it('sleep ends early, without an error, when its signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(600_000, controller.signal);
    controller.abort();
    await expect(slept).resolves.toBeUndefined();
    await expect(sleep(1, AbortSignal.abort())).resolves.toBeUndefined();
  });

  it('withDeadline ignores errors and stops waiting at its deadline; within rejects with the error given', async () => {
    await expect(withDeadline(Promise.reject(new Error('down')), 600_000)).resolves.toBeUndefined();
    await expect(withDeadline(never, 1)).resolves.toBeUndefined();
    await expect(withDeadline(undefined, 600_000)).resolves.toBeUndefined();
    await expect(within(never, 1, () => new Error('no answer'))).rejects.toThrow('no answer');
    await expect(within(Promise.resolve(7), 600_000, () => new Error('no answer'))).resolves.toBe(7);
  });
});
