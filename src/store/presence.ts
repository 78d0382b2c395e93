import type { Keys } from './keys.js';
import { createLuaScript } from './lua-script.js';
import type { RedisClient } from './redis.js';

// KEYS[1]: the participant's presence hash. ARGV: kind ('join' | 'left'), body digest, TTL seconds.
// Answers how many webhooks of the other kind were counted before this one. A webhook is counted
// once per (kind, digest, answer): a redelivery finds its field and changes nothing.
const OBSERVE = createLuaScript(`
local other = ARGV[1] == 'join' and 'left' or 'join'
local n = tonumber(redis.call('HGET', KEYS[1], other)) or 0
if redis.call('HSETNX', KEYS[1], ARGV[1] .. ':' .. ARGV[2] .. ':' .. n, 1) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return n
`);

// KEYS[1]: the presence hash. ARGV: removal job id, TTL seconds. A removal counts as a leave, once per job.
const REMOVED = createLuaScript(`
if redis.call('HSETNX', KEYS[1], 'removal:' .. ARGV[1], 1) == 1 then redis.call('HINCRBY', KEYS[1], 'left', 1) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
`);

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
