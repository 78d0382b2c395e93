-- Adds a hit to the participant's pending item for this rule, or makes a new item. The caller reads
-- the open item's id first; the script answers {'retry'} when it changed meanwhile, else
-- {'added', id} or {'created', id}.
-- KEYS[1] the open item's id (participant, rule)   KEYS[2] the open item (the new one when none is open)   KEYS[3] its evidence
-- KEYS[4] the new item   KEYS[5] its evidence   KEYS[6] item index (zset by creation)
-- KEYS[7] pending index (zset by expiry)
-- ARGV[1] the open id as read ('' = none)   ARGV[2] the item (JSON)   ARGV[3] the evidence (JSON)
-- ARGV[4] evidence cap   ARGV[5] TTL (ms)   ARGV[6] now (ms)   ARGV[7] kept after expiry (ms)
-- ARGV[8] the new item's id   ARGV[9] items indexed at most   ARGV[10] now (ISO)
local cur = redis.call('GET', KEYS[1]) or ''
if cur ~= ARGV[1] then return {'retry'} end
local now = tonumber(ARGV[6])
if cur ~= '' then
  local state = redis.call('HGET', KEYS[2], 'state')
  local expires = tonumber(redis.call('HGET', KEYS[2], 'expiresAtMs') or '0')
  if state == 'pending' and expires > now then
    if redis.call('LLEN', KEYS[3]) < tonumber(ARGV[4]) then redis.call('RPUSH', KEYS[3], ARGV[3]) end
    redis.call('HINCRBY', KEYS[2], 'hits', 1)
    return {'added', cur}
  end
end
local expiresAt = now + tonumber(ARGV[5])
redis.call('HSET', KEYS[4], 'data', ARGV[2], 'state', 'pending', 'hits', 1, 'expiresAtMs', expiresAt, 'createdAt', ARGV[10])
redis.call('RPUSH', KEYS[5], ARGV[3])
-- Relative TTLs: Redis's clock need not agree with the worker's (state is judged by expiresAtMs).
redis.call('PEXPIRE', KEYS[4], tonumber(ARGV[5]) + tonumber(ARGV[7]))
redis.call('PEXPIRE', KEYS[5], tonumber(ARGV[5]) + tonumber(ARGV[7]))
redis.call('SET', KEYS[1], ARGV[8], 'PX', ARGV[5])
redis.call('ZADD', KEYS[6], now, ARGV[8])
redis.call('ZADD', KEYS[7], expiresAt, ARGV[8])
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - tonumber(ARGV[5]) - tonumber(ARGV[7]))
redis.call('ZREMRANGEBYRANK', KEYS[6], 0, -tonumber(ARGV[9]) - 1)
redis.call('ZREMRANGEBYSCORE', KEYS[7], '-inf', now)
return {'created', ARGV[8]}
