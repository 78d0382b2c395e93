-- Locks a meeting, only when no lockdown is in force. Answers {1, json} or {0, json of the one in force}.
-- KEYS[1] lockdown   KEYS[2] lockdown index (zset by end)   KEYS[3] admit set
-- ARGV[1] the lockdown (JSON, no times)   ARGV[2] for how long (ms)   ARGV[3] cutoff at (ms, '' = none)
-- ARGV[4] cutoff ago (ms, '' = none)   ARGV[5] meeting id   ARGV[6] kept after its end (ms)
-- ARGV[7...] participant ids admitted from the start
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('GET', KEYS[1])
if old and tonumber(cjson.decode(old).untilMs) > now then return { 0, old } end
local lock = cjson.decode(ARGV[1])
local ms = tonumber(ARGV[2])
lock.sinceMs = now
lock.untilMs = now + ms
if ARGV[3] ~= '' then lock.cutoffMs = tonumber(ARGV[3])
elseif ARGV[4] ~= '' then lock.cutoffMs = now - tonumber(ARGV[4])
else lock.cutoffMs = now end
local value = cjson.encode(lock)
redis.call('SET', KEYS[1], value, 'PX', ms + tonumber(ARGV[6]))
redis.call('ZADD', KEYS[2], now + ms, ARGV[5])
redis.call('DEL', KEYS[3])
if #ARGV > 6 then
  for i = 7, #ARGV do redis.call('SADD', KEYS[3], ARGV[i]) end
  redis.call('PEXPIRE', KEYS[3], ms)
end
return { 1, value }
