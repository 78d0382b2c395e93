-- Releases a removal's in-flight fence if the token still holds it.
-- KEYS[1] the fence   ARGV[1] the token   Answers 1 when released, else 0.
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
