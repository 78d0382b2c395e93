-- Ends the dedup window after a success for each claim given (the participants joined again);
-- pending claims stay.
-- KEYS[1..n] the claims   Answers how many windows it ended.
local ended = 0
for _, key in ipairs(KEYS) do
  local cur = redis.call('GET', key)
  if cur and string.sub(cur, 1, 5) == 'done:' then ended = ended + redis.call('DEL', key) end
end
return ended
