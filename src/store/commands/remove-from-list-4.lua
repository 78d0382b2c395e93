-- Removes values from a live list (dropping it from the index when empty), with the version bump
-- and the change-log entry of the values that really were there. Answers how many were removed.
-- KEYS[1] the list (set)   KEYS[2] the list index (set)   KEYS[3] lists version   KEYS[4] change log
-- ARGV[1] the list's name   ARGV[2] entries kept in the log   ARGV[3...] the values
--- @include "log-change"
local present = redis.call('SMISMEMBER', KEYS[1], unpack(ARGV, 3))
local gone = {}
for i, p in ipairs(present) do if p == 1 then gone[#gone + 1] = ARGV[i + 2] end end
if #gone > 0 then redis.call('SREM', KEYS[1], unpack(gone)) end
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('SREM', KEYS[2], ARGV[1]) end
if #gone > 0 then logChange(redis.call('INCR', KEYS[3]), 'remove', gone) end
return #gone
