-- Raises a partition's copy of the lists version, never lowering it (changes may mirror out of order).
-- KEYS[1] the partition's lists version
-- ARGV[1] the lists version
local v = tonumber(ARGV[1])
if v > (tonumber(redis.call('GET', KEYS[1])) or 0) then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
