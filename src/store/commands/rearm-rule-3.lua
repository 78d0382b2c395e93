-- Arms a tripped rule again with an empty window. Answers 1 when it was tripped.
-- KEYS[1] tripped rules   KEYS[2] tripped details   KEYS[3] the rule's window
-- ARGV[1] the rule
local was = redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('DEL', KEYS[3])
return was
