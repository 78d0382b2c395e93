-- Everything a removal try does before its API calls: reads the job's outcome (a success ends the
-- try), takes the in-flight fence, reads the job's "remove sent" mark, claims the participant, and,
-- when the try would send directly and nothing was sent before and the claim is this job's, writes
-- the "remove sent" mark ahead of the call. A session a lockdown ended took everyone out with it:
-- the try ends there, with no call.
-- KEYS[1] job outcome   KEYS[2] in-flight fence   KEYS[3] job "remove sent" mark   KEYS[4] claim
-- KEYS[5] the session's "ended by a lockdown" mark
-- ARGV[1] fence token   ARGV[2] fence TTL (ms)   ARGV[3] job id   ARGV[4] pending TTL (s)
-- ARGV[5] send directly (0/1)   ARGV[6] mark TTL (s)
-- Answers {'done', outcome}, {'ended', sent before}, {'fenced'} or {'go', sent before, claimed, marked}.
local prev = redis.call('GET', KEYS[1])
if prev then
  local ok, o = pcall(cjson.decode, prev)
  if ok and type(o) == 'table' and (o.outcome == 'removed' or o.outcome == 'already-gone') then
    return { 'done', o.outcome }
  end
end
if redis.call('EXISTS', KEYS[5]) == 1 then return { 'ended', redis.call('EXISTS', KEYS[3]) } end
if not redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2], 'NX') then return { 'fenced' } end
local sent = redis.call('EXISTS', KEYS[3])
local cur = redis.call('GET', KEYS[4])
local mine = 'pending:' .. ARGV[3]
local claimed = 0
if cur == false or cur == mine then
  redis.call('SET', KEYS[4], mine, 'EX', ARGV[4])
  claimed = 1
end
local marked = 0
if ARGV[5] == '1' and sent == 0 and claimed == 1 then
  redis.call('SET', KEYS[3], '1', 'EX', ARGV[6])
  marked = 1
end
return { 'go', sent, claimed, marked }
