-- Drops a job's removal claim (see includes/settle-claim.lua).
-- KEYS[1] the claim   ARGV[1] job id   Answers 1 when it did, else 0.
--- @include "settle-claim"
return releaseClaim(KEYS[1], ARGV[1])
