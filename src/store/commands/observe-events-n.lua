-- Observes a batch of events (one partition's, in one run), each exactly as if alone and in order,
-- so concurrent events still get exact counts: its processing marker (another owner's marker makes
-- it a duplicate: nothing recorded or read), its counter sets (recorded in those of its own type,
-- trimmed, kept as long as the longest window; every window counted), its strikes and its counted
-- rules' hits, and once the lists version. Strikes and rule hits count (t - w, t]: other events'
-- hits at the same time count, this event's own (there on a redelivery, as `id:rule` members and
-- as `id`) do not. Counts count (t - w, t], this event included.
-- KEYS[1] the lists version   KEYS[2...] every other key of the batch (a session's sets once, the
--         events' own keys as they come); the events name them by index (0 = none)
-- ARGV[1] JSON [plans, events]. A plan (one per layout and event type in the run) is [[strike
--         window (ms)...], [[record 0/1, windows, TTL (ms)] per counter set], [windows per counted
--         rule]] (numbers of windows). `events` is one flat list, per event: plan index, time,
--         marker TTL (s, 0 = no marker), marker key, strikes key, then per counter set its key (0 =
--         no subject: nothing else follows for it) and, when it has one, a trim bound when recorded
--         and a lower bound per window; then per counted rule its key (0 = none) and, when it has
--         one, a lower bound per window. Times and bounds are strings ready for Redis (formatting a
--         number costs Lua a microsecond); only strike bounds are made here, for the few
--         participants who have strikes.
-- ARGV[2...] the event ids, then the marker owners (producer text, kept out of the JSON so it
--         reaches Redis as every other command sends it)
-- Answers the lists version, then per event -1 (another owner holds its marker) or 1 followed by
-- its strike counts, then per counted set its window counts, then per counted rule its counts.
local batch = cjson.decode(ARGV[1])
local plans, flat = batch[1], batch[2]
local out = { tonumber(redis.call('GET', KEYS[1])) or 0 }
local n = (#ARGV - 1) / 2
local at = 1
-- Skips what an event sent for its counter sets and counted rules (a duplicate reads none).
local function skip(plan)
  for _, set in ipairs(plan[2]) do
    local k = flat[at]
    at = at + 1
    if k > 0 then at = at + set[1] + set[2] end
  end
  for _, windows in ipairs(plan[3]) do
    local k = flat[at]
    at = at + 1
    if k > 0 then at = at + windows end
  end
end
for e = 1, n do
  local plan = plans[flat[at] + 1]
  local t, ttl, marker, strikes = flat[at + 1], flat[at + 2], flat[at + 3], flat[at + 4]
  at = at + 5
  local id = ARGV[e + 1]
  local done = false
  if marker > 0 then
    local holder = redis.call('GET', KEYS[marker])
    if holder == false then
      redis.call('SET', KEYS[marker], ARGV[n + e + 1], 'EX', ttl)
    elseif holder ~= ARGV[n + e + 1] then
      done = true
    end
  end
  if done then
    out[#out + 1] = -1
    skip(plan)
  else
    out[#out + 1] = 1
    local strikeWindows = plan[1]
    -- Most participants have no strikes (no set): one look instead of a count per window.
    if strikes > 0 and #strikeWindows > 0 and redis.call('EXISTS', KEYS[strikes]) == 1 then
      local own = 0
      local prefix = id .. ':'
      for _, m in ipairs(redis.call('ZRANGEBYSCORE', KEYS[strikes], t, t)) do
        if string.sub(m, 1, #prefix) == prefix and not string.find(m, ':', #prefix + 1, true) then own = own + 1 end
      end
      local tn = tonumber(t)
      for _, w in ipairs(strikeWindows) do
        out[#out + 1] = redis.call('ZCOUNT', KEYS[strikes], '(' .. (tn - w), t) - own
      end
    else
      for _ = 1, #strikeWindows do out[#out + 1] = 0 end
    end
    for _, set in ipairs(plan[2]) do
      local k = flat[at]
      at = at + 1
      if k > 0 then
        if set[1] == 1 then
          redis.call('ZADD', KEYS[k], t, id)
          redis.call('ZREMRANGEBYSCORE', KEYS[k], '-inf', flat[at])
          redis.call('PEXPIRE', KEYS[k], set[3])
          at = at + 1
        end
        for _ = 1, set[2] do
          out[#out + 1] = redis.call('ZCOUNT', KEYS[k], flat[at], t)
          at = at + 1
        end
      end
    end
    for _, windows in ipairs(plan[3]) do
      local k = flat[at]
      at = at + 1
      if k > 0 then
        local mine = redis.call('ZSCORE', KEYS[k], id)
        local ownHit = (mine and tonumber(mine) == tonumber(t)) and 1 or 0
        for _ = 1, windows do
          out[#out + 1] = redis.call('ZCOUNT', KEYS[k], flat[at], t) - ownHit
          at = at + 1
        end
      end
    end
  end
end
return out
