-- Claims a participant's removal for a job (see includes/settle-claim.lua for the values). A job
-- that holds the pending claim gets it again; a finished removal's claim yields to `force` and to a
-- request from an event received after that removal finished (by more than the skew allowed).
-- KEYS[1] the claim
-- ARGV[1] job id   ARGV[2] force (0/1)   ARGV[3] pending TTL (s)
-- ARGV[4] when the asking event was received (ms; '' when unknown)   ARGV[5] skew allowed (ms)
-- Answers 1, 2 (a finished removal's claim taken: the participant is back) or the current value.
local cur = redis.call('GET', KEYS[1])
local mine = 'pending:' .. ARGV[1]
if cur == false or cur == mine or (ARGV[2] == '1' and string.sub(cur, 1, 5) == 'done:') then
  redis.call('SET', KEYS[1], mine, 'EX', ARGV[3])
  return 1
end
if ARGV[4] ~= '' and string.sub(cur, 1, 5) == 'done:' then
  local doneAt = tonumber(string.match(cur, '^done:[^:]*:(%d+)$'))
  if doneAt and tonumber(ARGV[4]) > doneAt + tonumber(ARGV[5]) then
    redis.call('SET', KEYS[1], mine, 'EX', ARGV[3])
    return 2
  end
end
return cur
