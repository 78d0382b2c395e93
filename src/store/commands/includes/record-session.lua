-- A session's record: a hash (the last session object VideoSDK returned, when read, by which job)
-- and a list of its removals; both keys' TTLs are refreshed together so they expire as one.

-- Stores a session object unless a newer one (by `at`) is recorded already: two removal jobs of one
-- session can finish in any order.
local function recordSession(sessionKey, removalsKey, at, jobId, json, ttl)
  local prev = tonumber(redis.call('HGET', sessionKey, 'at') or '-1')
  if tonumber(at) >= prev then
    redis.call('HSET', sessionKey, 'at', at, 'jobId', jobId, 's', json)
  end
  redis.call('EXPIRE', sessionKey, ttl)
  if redis.call('EXISTS', removalsKey) == 1 then redis.call('EXPIRE', removalsKey, ttl) end
end

-- Appends a removal outcome to the session's list, keeping the newest `max`.
local function recordRemoval(sessionKey, removalsKey, item, max, ttl)
  redis.call('RPUSH', removalsKey, item)
  redis.call('LTRIM', removalsKey, -tonumber(max), -1)
  redis.call('EXPIRE', removalsKey, ttl)
  redis.call('EXPIRE', sessionKey, ttl)
end
