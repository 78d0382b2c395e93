-- Records a session object, keeping the newer of two (removal jobs of one session finish in any
-- order), and refreshes both keys' TTL so a session and its removals expire as one.
-- KEYS[1] the session's hash   KEYS[2] the session's removals
-- ARGV[1] when the object was read (ms)   ARGV[2] job id   ARGV[3] the object (JSON)   ARGV[4] TTL (s)
local at = tonumber(redis.call('HGET', KEYS[1], 'at') or '-1')
if tonumber(ARGV[1]) >= at then
  redis.call('HSET', KEYS[1], 'at', ARGV[1], 'jobId', ARGV[2], 's', ARGV[3])
end
redis.call('EXPIRE', KEYS[1], ARGV[4])
if redis.call('EXISTS', KEYS[2]) == 1 then redis.call('EXPIRE', KEYS[2], ARGV[4]) end
return 1
