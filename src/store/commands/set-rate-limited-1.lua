-- Records that removals are held by VideoSDK's Retry-After until a time; a later end wins over an
-- earlier one, and the key expires at its end. Answers 1 when written.
-- KEYS[1] the rate-limited key
-- ARGV[1] until (epoch ms)   ARGV[2] TTL (ms)
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if current and current >= tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
