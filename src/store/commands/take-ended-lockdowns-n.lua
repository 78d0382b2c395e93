-- Takes the lockdowns whose end has passed out of the index (each once, whichever worker asks first),
-- so exactly one worker tells that it ended. Answers their lockdowns (JSON).
-- KEYS[1] lockdown index   KEYS[2...] the lockdowns of the meetings asked
-- ARGV[1...] the meetings' ids, in the order of their keys
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local out = {}
for i, m in ipairs(ARGV) do
  local ends = tonumber(redis.call('ZSCORE', KEYS[1], m) or '')
  if ends and ends <= now then
    redis.call('ZREM', KEYS[1], m)
    local raw = redis.call('GET', KEYS[i + 1])
    if raw and tonumber(cjson.decode(raw).untilMs) <= now then
      redis.call('DEL', KEYS[i + 1])
      out[#out + 1] = raw
    end
  end
end
return out
