-- Marks a removal done for the dedup window (see includes/settle-claim.lua).
-- KEYS[1] the claim   ARGV[1] job id   ARGV[2] dedup window (s)   Answers 1 when it did, else 0.
--- @include "settle-claim"
return completeClaim(KEYS[1], ARGV[1], ARGV[2])
