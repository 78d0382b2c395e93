import { describe, expect, it } from 'vitest';
import { perSecond } from '../../src/bench/raid.js';

// The raid's "cap held in every second" is judged on any 1 s window, not only calendar seconds:
// 200 calls at the end of one second and 200 at the start of the next are 400 within one second.
describe('raid perSecond', () => {
  it('counts the busiest sliding 1 s window and the busiest calendar second', () => {
    const late = Array.from({ length: 5 }, (_, i) => 10_900 + i * 10);
    const early = Array.from({ length: 5 }, (_, i) => 11_000 + i * 10);
    expect(perSecond([...early, ...late])).toEqual({ maxPerSecondSliding: 10, maxPerCalendarSecond: 5 });
  });

  it('a call exactly 1,000 ms after another starts a new window', () => {
    expect(perSecond([0, 1000, 2000])).toEqual({ maxPerSecondSliding: 1, maxPerCalendarSecond: 1 });
    expect(perSecond([])).toEqual({ maxPerSecondSliding: 0, maxPerCalendarSecond: 0 });
  });
});
