import { describe, expect, it } from 'vitest';
import { classifyApiFailure, MAX_RETRY_AFTER_MS, mayHaveApplied, parseRetryAfter } from '../../src/videosdk/classify.js';

describe('classifyApiFailure', () => {
  it.each([
    [{ status: 400 }, 'permanent'],
    [{ status: 404 }, 'permanent'],
    [{ status: 409 }, 'permanent'],
    [{ status: 422 }, 'permanent'],
    [{ status: 410 }, 'permanent'],
    [{ status: 401 }, 'credential'],
    [{ status: 403 }, 'credential'],
    [{ status: 408 }, 'transient'],
    [{ status: 429 }, 'transient'],
    [{ status: 500 }, 'transient'],
    [{ status: 502 }, 'transient'],
    [{ status: 503 }, 'transient'],
    [{ status: 504 }, 'transient'],
    [{ code: 'ETIMEDOUT', timedOut: true }, 'transient'],
    [{ code: 'ECONNRESET', sent: true }, 'transient'],
    [{ code: 'ECONNREFUSED', sent: false }, 'transient'],
    [{ code: 'EAI_AGAIN' }, 'transient'],
    [{}, 'transient'],
  ] as const)('%j is %s', (input, kind) => {
    expect(classifyApiFailure(input)).toBe(kind);
  });
});

describe('mayHaveApplied', () => {
  it('is only ever true for a POST that may have reached the server', () => {
    expect(mayHaveApplied({ method: 'POST', status: 500 })).toBe(true);
    expect(mayHaveApplied({ method: 'POST', status: 503 })).toBe(true);
    expect(mayHaveApplied({ method: 'POST', status: 429 })).toBe(false);
    expect(mayHaveApplied({ method: 'POST', status: 404 })).toBe(false);
    expect(mayHaveApplied({ method: 'POST', code: 'ETIMEDOUT', timedOut: true, sent: true })).toBe(true);
    expect(mayHaveApplied({ method: 'POST', code: 'ETIMEDOUT', timedOut: true, sent: false })).toBe(false);
    expect(mayHaveApplied({ method: 'POST', code: 'ECONNRESET' })).toBe(true);
    expect(mayHaveApplied({ method: 'POST', code: 'ECONNREFUSED' })).toBe(false);
    expect(mayHaveApplied({ method: 'GET', status: 500 })).toBe(false);
    expect(mayHaveApplied({ method: 'GET', code: 'ETIMEDOUT', sent: true })).toBe(false);
  });
});

describe('parseRetryAfter', () => {
  const now = Date.UTC(2026, 10, 25, 10, 0, 0);

  it('reads delta-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });

  it('reads an HTTP date', () => {
    expect(parseRetryAfter('Wed, 25 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
  });

  it('turns the past and negatives into 0', () => {
    expect(parseRetryAfter('Wed, 25 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('-5', now)).toBe(0);
  });

  it('caps long waits', () => {
    expect(parseRetryAfter('999999', now)).toBe(MAX_RETRY_AFTER_MS);
    expect(parseRetryAfter('Fri, 25 Dec 2026 10:00:00 GMT', now)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('ignores what it cannot read', () => {
    expect(parseRetryAfter(undefined, now)).toBeUndefined();
    expect(parseRetryAfter('', now)).toBeUndefined();
    expect(parseRetryAfter('soon', now)).toBeUndefined();
  });
});
