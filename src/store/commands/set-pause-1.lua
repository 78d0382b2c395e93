-- Records why removals are paused. A credential pause does not replace an operator one. Answers 1
-- when written.
-- KEYS[1] the pause hash
-- ARGV[1] reason   ARGV[2] kind ('credential' or 'operator')   ARGV[3] at (ISO)
if ARGV[2] == 'credential' and redis.call('HGET', KEYS[1], 'kind') == 'operator' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'reason', ARGV[1], 'kind', ARGV[2], 'at', ARGV[3])
return 1
