-- Counts a participant's join or leave webhook once per (kind, body digest, answer): a redelivery
-- finds its field and changes nothing.
-- KEYS[1] the participant's presence hash
-- ARGV[1] 'join' or 'left'   ARGV[2] body digest   ARGV[3] TTL (s)
-- Answers how many webhooks of the other kind were counted before this one.
local other = ARGV[1] == 'join' and 'left' or 'join'
local n = tonumber(redis.call('HGET', KEYS[1], other)) or 0
if redis.call('HSETNX', KEYS[1], ARGV[1] .. ':' .. ARGV[2] .. ':' .. n, 1) == 1 then
  redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
end
redis.call('EXPIRE', KEYS[1], ARGV[3])
return n
