-- Makes a ban, its end computed from Redis' clock, so workers with skewed clocks agree and the
-- key's own expiry (PX) is the ban's end: no sweeper. With keep-longer (rule bans) an existing ban
-- that lasts at least as long stays as it is: a rule's 10-minute ban never shortens an operator's.
-- Answers {1, the ban (JSON)} when made, {0, the ban kept}.
-- KEYS[1] the ban   KEYS[2] the ban index (zset by end)
-- ARGV[1] for how long (ms, 0 = permanent)   ARGV[2] the ban (JSON, no times)   ARGV[3] keep longer ('1' or '0')
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local ms = tonumber(ARGV[1])
if ARGV[3] == '1' then
  local old = redis.call('GET', KEYS[1])
  if old then
    local o = cjson.decode(old)
    if o.untilMs == nil or (ms > 0 and o.untilMs >= now + ms) then return {0, old} end
  end
end
local ban = cjson.decode(ARGV[2])
ban.atMs = now
local value
if ms > 0 then
  ban.untilMs = now + ms
  value = cjson.encode(ban)
  redis.call('SET', KEYS[1], value, 'PX', ms)
  redis.call('ZADD', KEYS[2], now + ms, KEYS[1])
else
  value = cjson.encode(ban)
  redis.call('SET', KEYS[1], value)
  redis.call('ZADD', KEYS[2], '+inf', KEYS[1])
end
return {1, value}
