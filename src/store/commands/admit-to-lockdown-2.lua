-- Admits participants to a meeting's lockdown. Answers how many were newly admitted, or -1 when the
-- meeting is not locked.
-- KEYS[1] lockdown   KEYS[2] admit set
-- ARGV[1...] participant ids
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return -1 end
local added = 0
for i = 1, #ARGV do added = added + redis.call('SADD', KEYS[2], ARGV[i]) end
redis.call('PEXPIRE', KEYS[2], ttl)
return added
