import { describe, expect, it } from 'vitest';
import { removalLimiter } from '../../src/removals/removal-queue.js';

describe('removalLimiter', () => {
  it('keeps every second under AUTOMOD_API_RATE_PER_SEC, however the windows fall, and wastes little', () => {
    for (let rate = 1; rate <= 5000; rate++) {
      const { max, duration } = removalLimiter(rate);
      expect(Number.isInteger(max) && Number.isInteger(duration) && max >= 1 && duration >= 1, `rate ${rate}`).toBe(true);
      // Windows open at least `duration` apart. With one start per window, the start opens it, so
      // a second holds ceil(1000 / duration) starts at most; with more, the starts of a window can
      // come any time before it closes, so one more window can reach into the second.
      const worstSecond = max === 1 ? Math.ceil(1000 / duration) * max : (Math.ceil(1000 / duration) + 1) * max;
      expect(worstSecond, `rate ${rate}`).toBeLessThanOrEqual(rate);
      // Sustained, it starts close to the cap.
      const sustained = (max * 1000) / duration;
      expect(sustained, `rate ${rate}`).toBeGreaterThanOrEqual(rate < 40 ? rate * 0.95 : rate * 0.89);
    }
  });

  it('is effectively off without a cap (it is still there for Retry-After)', () => {
    expect(removalLimiter(undefined)).toEqual({ max: 1_000_000, duration: 1000 });
  });
});
