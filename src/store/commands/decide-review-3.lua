-- Decides an item once: the state changes in this one script, so of two moderators who click at the
-- same moment one wins. Answers 'ok', 'missing', 'expired' or the state it already has.
-- KEYS[1] the item   KEYS[2] the open item's id (participant, rule)   KEYS[3] pending index
-- ARGV[1] the decision ('approved' or 'dismissed')   ARGV[2] by   ARGV[3] at (ISO)   ARGV[4] now (ms)
-- ARGV[5] note ('' = none)   ARGV[6] ban ('' = none)   ARGV[7] the item's id
if redis.call('EXISTS', KEYS[1]) == 0 then return 'missing' end
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'pending' then return state end
if tonumber(redis.call('HGET', KEYS[1], 'expiresAtMs') or '0') <= tonumber(ARGV[4]) then return 'expired' end
redis.call('HSET', KEYS[1], 'state', ARGV[1], 'decidedBy', ARGV[2], 'decidedAt', ARGV[3])
if ARGV[5] ~= '' then redis.call('HSET', KEYS[1], 'note', ARGV[5]) end
if ARGV[6] ~= '' then redis.call('HSET', KEYS[1], 'ban', ARGV[6]) end
if redis.call('GET', KEYS[2]) == ARGV[7] then redis.call('DEL', KEYS[2]) end
redis.call('ZREM', KEYS[3], ARGV[7])
return 'ok'
