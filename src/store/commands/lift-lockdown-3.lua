-- Lifts a meeting's lockdown. Answers it, or false when none was in force (one whose time is up is
-- left to the sweep, which tells that it ended).
-- KEYS[1] lockdown   KEYS[2] lockdown index   KEYS[3] admit set
-- ARGV[1] meeting id
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local old = redis.call('GET', KEYS[1])
if not old or tonumber(cjson.decode(old).untilMs) <= now then return false end
redis.call('DEL', KEYS[1], KEYS[3])
redis.call('ZREM', KEYS[2], ARGV[1])
return old
