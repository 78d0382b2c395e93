import type { Keys } from './keys.js';
import { luaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

// The scripts, with their KEYS and ARGV, are in commands/.
const OBSERVE = luaScript('observe-presence-1');
const REMOVED = luaScript('note-removal-1');

/**
 * Presence-aware webhook ids. VideoSDK webhooks carry no id or timestamp, so a participant who
 * leaves and rejoins sends a byte-identical `participant-joined`: the body digest alone would drop
 * the rejoin as a duplicate. A join's id also says how many leaves of that participant in that
 * session came before it (a leave's, how many joins), so a redelivery keeps its id and a real
 * leave/rejoin cycle does not. One round trip, under the session's partition tag.
 */
export function createPresence({ redis, keys, ttlSeconds }: { redis: RedisClient; keys: Keys; ttlSeconds: number }) {
  return {
    /** The id of a webhook event whose body digest gave `baseId`. */
    async webhookId(baseId: string, event: { type: string; sessionId: string; participantId?: string | undefined }): Promise<string> {
      const kind = event.type === 'participant-joined' ? 'join' : event.type === 'participant-left' ? 'left' : undefined;
      if (kind === undefined || event.participantId === undefined) return baseId;
      const key = keys.part(event.sessionId).presence(event.sessionId, event.participantId);
      const before = Number(await OBSERVE.run(redis, [key], [kind, baseId, Math.max(1, Math.floor(ttlSeconds))]));
      // The first join (and the first leave) keeps the plain digest id.
      return before === 0 ? baseId : `${baseId}-${before}`;
    },
    /**
     * Counts a removal as a leave: a bot removed and rejoining at once (before, or without, its
     * `participant-left` webhook) sends a join that is not a duplicate of the first.
     */
    async noteRemoval(sessionId: string, participantId: string, jobId: string): Promise<void> {
      await REMOVED.run(redis, [keys.part(sessionId).presence(sessionId, participantId)], [jobId, Math.max(1, Math.floor(ttlSeconds))]);
    },
  };
}

export type Presence = ReturnType<typeof createPresence>;
