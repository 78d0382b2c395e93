-- Counts a removal as a leave, once per job.
-- KEYS[1] the participant's presence hash   ARGV[1] removal job id   ARGV[2] TTL (s)
if redis.call('HSETNX', KEYS[1], 'removal:' .. ARGV[1], 1) == 1 then redis.call('HINCRBY', KEYS[1], 'left', 1) end
redis.call('EXPIRE', KEYS[1], ARGV[2])
return 1
