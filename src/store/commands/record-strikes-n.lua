-- Records an event's strikes (one member per rule, `eventId:rule`, so a redelivered event adds none
-- twice) and one hit per counted rule that fired, each set trimmed and kept as long as asked.
-- KEYS[1] the participant's strikes set   KEYS[2...] one hit set per counted rule that fired
-- ARGV[1] the event time (ms)   ARGV[2] the strikes' trim bound (ms)   ARGV[3] their TTL (ms)
-- ARGV[4] the number of strike members   ARGV[5...] the members, then the event id, then a trim
--         bound and a TTL (ms) per hit set
local t = ARGV[1]
local members = tonumber(ARGV[4])
for i = 5, 4 + members do redis.call('ZADD', KEYS[1], t, ARGV[i]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
local id = ARGV[5 + members]
local a = 6 + members
for k = 2, #KEYS do
  redis.call('ZADD', KEYS[k], t, id)
  redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', ARGV[a])
  redis.call('PEXPIRE', KEYS[k], ARGV[a + 1])
  a = a + 2
end
return 1
