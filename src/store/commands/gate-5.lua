-- The token gate. In ask mode an unbanned participant who is not admitted is answered `ask_join`
-- and noted in the admit set: their join comes through the waiting room, so it is not removed.
-- Answers {meeting ban or false, every-meeting ban or false, lockdown or false, admitted 0/1}.
-- KEYS[1] meeting ban   KEYS[2] every-meeting ban   KEYS[3] lockdown   KEYS[4] admit set   KEYS[5] members hash
-- ARGV[1] participant id
--- @include "admitted"
local ok, raw = admitted(redis.call('GET', KEYS[3]), KEYS[4], KEYS[5], ARGV[1])
local banM, banA = redis.call('GET', KEYS[1]), redis.call('GET', KEYS[2])
if ok == 0 and not banM and not banA and cjson.decode(raw).mode == 'ask' then
  redis.call('SADD', KEYS[4], ARGV[1])
  redis.call('PEXPIRE', KEYS[4], math.max(1, tonumber(cjson.decode(raw).untilMs) - now))
end
return { banM, banA, raw, ok }
