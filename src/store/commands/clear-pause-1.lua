-- Clears the pause, only when it is of the kind given. Answers 1 when it cleared one.
-- KEYS[1] the pause hash
-- ARGV[1] kind, or '' for any
if ARGV[1] ~= '' and redis.call('HGET', KEYS[1], 'kind') ~= ARGV[1] then return 0 end
return redis.call('DEL', KEYS[1])
