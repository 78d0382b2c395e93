-- logChange(version, op, values): the change-log entry of a live-list change, with id
-- `<version>-0`. A log whose last id is not below the new version (the version key was lost in a
-- Redis reset while the log survived) is dropped and started again: readers then find a gap and
-- read the lists whole.
-- KEYS[4] the change log (stream)
-- ARGV[1] the list's name   ARGV[2] entries kept in the log
local function logChange(version, op, values)
  local args = {KEYS[4], 'MAXLEN', ARGV[2], version .. '-0', 'list', ARGV[1], 'op', op, 'values', cjson.encode(values)}
  local ok = redis.pcall('XADD', unpack(args))
  if type(ok) == 'table' and ok.err then
    redis.call('DEL', KEYS[4])
    redis.call('XADD', unpack(args))
  end
end
