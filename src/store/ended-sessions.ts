import type { Keys } from './keys.js';
import type { RedisClient } from './redis.js';

/**
 * Sessions a lockdown ended through VideoSDK: everyone in one left with it, so a join of that
 * session handled afterwards (a raid's joins are still on their way) needs no remove call. Kept
 * while the lockdown lasts; shared by every worker.
 */
export function createEndedSessions({ redis, keys }: { redis: RedisClient; keys: Keys }) {
  return {
    /** Notes the session as ended (before the call that ends it: its late joins start coming at once). */
    async note(sessionId: string, forMs: number): Promise<void> {
      await redis.set(keys.sessionEnded(sessionId), '1', 'PX', Math.max(1000, Math.floor(forMs)));
    },
    /** Forgets it (the call that was to end it failed). */
    async forget(sessionId: string): Promise<void> {
      await redis.del(keys.sessionEnded(sessionId));
    },
    async has(sessionId: string): Promise<boolean> {
      return (await redis.exists(keys.sessionEnded(sessionId))) === 1;
    },
  };
}

export type EndedSessions = ReturnType<typeof createEndedSessions>;
