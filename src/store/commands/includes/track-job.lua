-- Indexes a removal job's records by when they were last written, drops index entries whose
-- records have expired anyway, and pops the oldest past the cap: the caller deletes their keys.
-- Popping in the script keeps the count exact when many workers write at once.
local function trackJob(indexKey, now, jobId, cap, ttl)
  redis.call('ZADD', indexKey, now, jobId)
  redis.call('ZREMRANGEBYSCORE', indexKey, '-inf', tonumber(now) - tonumber(ttl) * 1000)
  redis.call('EXPIRE', indexKey, ttl)
  local excess = redis.call('ZCARD', indexKey) - tonumber(cap)
  if excess > 0 then return redis.call('ZPOPMIN', indexKey, excess) end
  return {}
end
