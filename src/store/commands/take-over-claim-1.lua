-- Takes a removal claim over when it still holds the expected value (or nothing).
-- KEYS[1] the claim   ARGV[1] expected value   ARGV[2] job id   ARGV[3] pending TTL (s)
-- Answers 1 when taken, else 0.
local cur = redis.call('GET', KEYS[1])
if cur == false or cur == ARGV[1] then
  redis.call('SET', KEYS[1], 'pending:' .. ARGV[2], 'EX', ARGV[3])
  return 1
end
return 0
