-- Records a session object, keeping the newer of two, and refreshes both keys' TTL.
-- KEYS[1] the session's hash   KEYS[2] the session's removals
-- ARGV[1] when the object was read (ms)   ARGV[2] job id   ARGV[3] the object (JSON)   ARGV[4] TTL (s)
--- @include "record-session"
recordSession(KEYS[1], KEYS[2], ARGV[1], ARGV[2], ARGV[3], ARGV[4])
return 1
