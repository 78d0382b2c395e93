-- Puts an approval back to pending when its removal could not be queued (only that approval).
-- Answers 1 when it did.
-- KEYS[1] the item   KEYS[2] pending index
-- ARGV[1] the state to undo ('approved')   ARGV[2] its decision time (ISO)   ARGV[3] the item's id
if redis.call('HGET', KEYS[1], 'state') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'decidedAt') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'state', 'pending')
redis.call('HDEL', KEYS[1], 'decidedBy', 'decidedAt', 'note', 'ban')
redis.call('ZADD', KEYS[2], tonumber(redis.call('HGET', KEYS[1], 'expiresAtMs')), ARGV[3])
return 1
