-- Counts removals against their rules' budgets (sliding windows), tripping a rule that goes past
-- its budget. Times come from Redis' clock, so every worker agrees on windows and trips whatever its
-- own clock says. Answers one verdict per take: 1 ok, 0 tripped already, 2 tripped now.
-- KEYS[1] tripped rules (zset: rule -> when it arms again)   KEYS[2] tripped details (hash)
-- KEYS[2 + i] the window (zset) of take i's rule
-- ARGV[1] the takes, JSON [[rule, max, windowMs, member], ...]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local takes = cjson.decode(ARGV[1])
local out = {}
for i, take in ipairs(takes) do
  local rule, max, window, member = take[1], tonumber(take[2]), tonumber(take[3]), take[4]
  local key = KEYS[i + 2]
  local ends = tonumber(redis.call('ZSCORE', KEYS[1], rule) or '0')
  if ends > now then
    out[i] = 0
  else
    redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
    local count = redis.call('ZCARD', key)
    if count < max then
      redis.call('ZADD', key, now, member)
      redis.call('PEXPIRE', key, window)
      out[i] = 1
    else
      redis.call('ZADD', KEYS[1], now + window, rule)
      redis.call('HSET', KEYS[2], rule, cjson.encode({ at = now, ['until'] = now + window, max = max, windowMs = window, count = count }))
      out[i] = 2
    end
  end
end
return out
