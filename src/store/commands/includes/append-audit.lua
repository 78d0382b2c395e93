-- Appends a record to the audit stream. Records come from many workers and may arrive slightly
-- out of time order, but stream ids must grow: the id is the record time when that is newer than
-- the last entry, else the last entry's time with the next sequence number, so ids stay close to
-- the record time and time-range queries can still read ids.
local function appendAudit(key, ms, maxRecords, record)
  local id = ms .. '-0'
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)
  if #last > 0 then
    local lastId = last[1][1]
    local dash = string.find(lastId, '-', 1, true)
    local lastMs = tonumber(string.sub(lastId, 1, dash - 1))
    if tonumber(ms) <= lastMs then
      id = string.sub(lastId, 1, dash - 1) .. '-' .. string.format('%.0f', tonumber(string.sub(lastId, dash + 1)) + 1)
    end
  end
  return redis.call('XADD', key, 'MAXLEN', '~', maxRecords, id, 'r', record)
end
