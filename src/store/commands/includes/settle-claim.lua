-- A removal claim is 'pending:<job>' while its job is queued or running and 'done:<job>:<ms>' for
-- the dedup window after it succeeded ('done:<job>' when written before the time was recorded).

-- Marks the removal done for the dedup window, stamped by Redis's clock (one clock for every
-- worker), if the claim is still this job's or absent; completing again keeps the first stamp.
local function completeClaim(key, jobId, dedupSeconds)
  local cur = redis.call('GET', key)
  if cur and (cur == 'done:' .. jobId or string.sub(cur, 1, #jobId + 6) == 'done:' .. jobId .. ':') then
    redis.call('EXPIRE', key, dedupSeconds)
    return 1
  end
  if cur == false or cur == 'pending:' .. jobId then
    local t = redis.call('TIME')
    local ms = t[1] .. string.format('%03d', math.floor(tonumber(t[2]) / 1000))
    redis.call('SET', key, 'done:' .. jobId .. ':' .. ms, 'EX', dedupSeconds)
    return 1
  end
  return 0
end

-- Drops this job's claim (it failed or was rejected): a later request may try again.
local function releaseClaim(key, jobId)
  local cur = redis.call('GET', key)
  if cur == 'pending:' .. jobId or cur == 'done:' .. jobId or (cur and string.sub(cur, 1, #jobId + 6) == 'done:' .. jobId .. ':') then
    return redis.call('DEL', key)
  end
  return 0
end
