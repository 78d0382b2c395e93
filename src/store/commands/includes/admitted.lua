-- Admission, in one place for the gate and the event path: `now` (Redis' clock, ms) and
-- admitted(raw, admitKey, membersKey, pid), which checks the lockdown in force (its end against
-- `now`) and whether the participant is admitted. Answers 1 when admitted (or not locked) and 0
-- when locked out, with the lockdown (or false when none is in force).
-- Reads no KEYS or ARGV of its own: the caller passes the keys.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
-- raw: the meeting's lockdown key as read (or false).
local function admitted(raw, admitKey, membersKey, pid)
  if not raw then return 1, false end
  local lock = cjson.decode(raw)
  if tonumber(lock.untilMs) <= now then return 1, false end
  -- The admit set holds those admitted by name and, in ask mode, those who asked the gate during
  -- the lockdown: they come in through VideoSDK's waiting room, where someone inside let them in.
  if redis.call('SISMEMBER', admitKey, pid) == 1 then return 1, raw end
  local role = redis.call('HGET', membersKey, 'r:' .. pid)
  if role == 'host' or role == 'moderator' then return 1, raw end
  local first = tonumber(redis.call('HGET', membersKey, 'j:' .. pid) or '')
  if first and first < tonumber(lock.cutoffMs) then return 1, raw end
  return 0, raw
end
