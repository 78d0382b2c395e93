-- The event path's look-up, one run per batch: the bans of the whole batch are read in one MGET and
-- each meeting's lockdown once, so a batch costs a few commands, not a few per event. Joins are
-- recorded before they are checked (a late-processed join from before the cutoff admits), the
-- earliest only. Answers only the events something keeps out, four values each in one flat list:
-- the event's place (from 1), its meeting ban, its every-meeting ban, and the lockdown it is
-- locked out by (each false when none); most events have none, and cost no reply.
-- KEYS[1...] the keys the events name (their bans; each meeting's lockdown, admit set and members hash once)
-- ARGV[1] JSON per event [meeting ban, every-meeting ban, lockdown, admit, members key indexes
--         (0 = none), participant id, join ms (-1 none), role, session id]
-- ARGV[2] members TTL (ms)
--- @include "admitted"
local items = cjson.decode(ARGV[1])
local ttl = tonumber(ARGV[2])
local wanted, order = {}, {}
for _, e in ipairs(items) do
  for _, k in ipairs({ e[1], e[2] }) do
    if k > 0 and not wanted[k] then wanted[k] = true; order[#order + 1] = k end
  end
end
local bans = {}
for from = 1, #order, 200 do
  local names = {}
  for j = from, math.min(from + 199, #order) do names[#names + 1] = KEYS[order[j]] end
  local values = redis.call('MGET', unpack(names))
  for j = 1, #names do bans[order[from + j - 1]] = values[j] end
end
local locks = {}
local out = {}
for i, e in ipairs(items) do
  local pid = e[6]
  if e[5] > 0 then
    local members = KEYS[e[5]]
    -- The hash lives a week past the last member it learned (a new join or a new role), not past
    -- every event: repeat joins and chat cost no expiry refresh.
    local learned = false
    -- A role is recorded from any event that states it (a host's chat as much as their join).
    if e[8] == 'host' or e[8] == 'moderator' then learned = redis.call('HSET', members, 'r:' .. pid, e[8]) == 1 end
    if e[7] >= 0 then
      -- The earliest join seen is the first (a late-processed earlier join moves it back).
      if redis.call('HSETNX', members, 'j:' .. pid, e[7]) == 1 then
        learned = true
      else
        local seen = tonumber(redis.call('HGET', members, 'j:' .. pid) or '')
        if not seen or seen > e[7] then redis.call('HSET', members, 'j:' .. pid, e[7]) end
      end
      -- The session the meeting was last seen live in (a lockdown made by hand clears it).
      if e[9] ~= '' then redis.call('HSET', members, 's', e[9]) end
    end
    if learned then redis.call('PEXPIRE', members, ttl) end
  end
  local lockedOut = false
  if e[3] > 0 then
    if locks[e[3]] == nil then locks[e[3]] = redis.call('GET', KEYS[e[3]]) end
    local ok, raw = admitted(locks[e[3]], KEYS[e[4]], KEYS[e[5]], pid)
    if ok == 0 then lockedOut = raw end
  end
  local banM, banA = e[1] > 0 and bans[e[1]] or false, bans[e[2]] or false
  if banM or banA or lockedOut then
    out[#out + 1] = i
    out[#out + 1] = banM
    out[#out + 1] = banA
    out[#out + 1] = lockedOut
  end
end
return out
