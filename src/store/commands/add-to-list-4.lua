-- Adds values to a live list (creating it), unless it would then hold more than the most allowed.
-- The size check, the change, the version bump and the change-log entry happen together, so a reader
-- that sees the version unchanged knows the lists are unchanged, and the log entry with id
-- `<version>-0` holds exactly what that version changed. Only values that were not in the list are
-- logged. Answers how many were added, or -1 when the list would hold too many.
-- KEYS[1] the list (set)   KEYS[2] the list index (set)   KEYS[3] lists version   KEYS[4] change log
-- ARGV[1] the list's name   ARGV[2] entries kept in the log   ARGV[3] most values a list holds
-- ARGV[4...] the values
--- @include "log-change"
local max = tonumber(ARGV[3])
local present = redis.call('SMISMEMBER', KEYS[1], unpack(ARGV, 4))
local fresh = {}
for i, p in ipairs(present) do if p == 0 then fresh[#fresh + 1] = ARGV[i + 3] end end
if #fresh == 0 then return 0 end
if redis.call('SCARD', KEYS[1]) + #fresh > max then return -1 end
redis.call('SADD', KEYS[1], unpack(fresh))
redis.call('SADD', KEYS[2], ARGV[1])
logChange(redis.call('INCR', KEYS[3]), 'add', fresh)
return #fresh
