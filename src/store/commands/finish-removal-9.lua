-- Everything a removal try records when it ends, in one call: the API call it made last (when
-- not yet written), the job's outcome, the job indexed, the session object (when one is taken),
-- the removal in the session's list, the audit record with every API call of the job, the claim
-- settled (done for the dedup window, or released) and the in-flight fence released.
-- KEYS[1] job outcome   KEYS[2] job attempts   KEYS[3] job "remove sent" mark   KEYS[4] job index
-- KEYS[5] removal claim   KEYS[6] in-flight fence   KEYS[7] session hash   KEYS[8] session removals
-- KEYS[9] audit stream
-- ARGV[1] job id   ARGV[2] outcome (JSON)   ARGV[3] job records TTL (s)   ARGV[4] now (ms)
-- ARGV[5] jobs kept   ARGV[6] API calls to append (JSON, one a line; '' for none)
-- ARGV[7] one of them was a remove call (1/0)
-- ARGV[8] API calls kept   ARGV[9] 'done' or 'release'   ARGV[10] dedup window (s)
-- ARGV[11] fence token ('' for none)   ARGV[12] session object (JSON, '' for none)
-- ARGV[13] when it was read (ms)   ARGV[14] session TTL (s)   ARGV[15] removal item (JSON)
-- ARGV[16] removals kept   ARGV[17] audit time (ms)   ARGV[18] audit records kept
-- ARGV[19] audit record (JSON) without its closing brace: the job's API calls are added here
-- Answers the jobs popped past the cap, with their scores (the caller deletes their records).
--- @include "settle-claim"
--- @include "record-session"
--- @include "append-audit"
--- @include "track-job"
if ARGV[6] ~= '' then
  for call in string.gmatch(ARGV[6], '[^\n]+') do redis.call('RPUSH', KEYS[2], call) end
  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[8]), -1)
  redis.call('EXPIRE', KEYS[2], ARGV[3])
  if ARGV[7] == '1' then
    redis.call('SET', KEYS[3], '1', 'EX', ARGV[3])
  else
    redis.call('EXPIRE', KEYS[3], ARGV[3])
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if ARGV[12] ~= '' then recordSession(KEYS[7], KEYS[8], ARGV[13], ARGV[1], ARGV[12], ARGV[14]) end
recordRemoval(KEYS[7], KEYS[8], ARGV[15], ARGV[16], ARGV[14])
local calls = redis.call('LRANGE', KEYS[2], 0, -1)
appendAudit(KEYS[9], ARGV[17], ARGV[18], ARGV[19] .. ',"attempts":[' .. table.concat(calls, ',') .. ']}')
if ARGV[9] == 'done' then completeClaim(KEYS[5], ARGV[1], ARGV[10]) else releaseClaim(KEYS[5], ARGV[1]) end
if ARGV[11] ~= '' and redis.call('GET', KEYS[6]) == ARGV[11] then redis.call('DEL', KEYS[6]) end
return trackJob(KEYS[4], ARGV[4], ARGV[1], ARGV[5], ARGV[3])
