import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../src/shared/duration.js';
import { parseTime } from '../../src/shared/parse-time.js';

describe('parseDuration (the one reader of "30m", "24h", "7d")', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 900_000],
    [' 24h ', 86_400_000],
    ['7d', 604_800_000],
    ['0m', 0],
  ])('%j', (text, ms) => expect(parseDuration(text)).toBe(ms));

  it('reads milliseconds only where asked', () => {
    expect(parseDuration('500ms')).toBeUndefined();
    expect(parseDuration('500ms', ['ms', 's'])).toBe(500);
    expect(parseDuration('5m', ['ms', 's'])).toBeUndefined();
  });

  it.each(['', '10', '1.5h', '10 minutes', '1y', 'h', '-5m'])('refuses %j', (text) => expect(parseDuration(text)).toBeUndefined());

  it('serves parseTime, which reads a duration back from now and refuses a negative one', () => {
    const now = Date.parse('2026-12-01T00:00:00.000Z');
    expect(parseTime('250ms', '--since', now)).toBe(now - 250);
    expect(parseTime('2h', '--since', now)).toBe(now - 7_200_000);
    expect(() => parseTime('-2h', '--since', now)).toThrow(
      '--since must be an ISO time, epoch milliseconds or a duration like 24h, got "-2h"',
    );
  });
});
