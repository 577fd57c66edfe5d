-- Which of these task ids the Redis broker still holds (src/transports/celery/redis-broker.ts,
-- locate): queued in one of the lists, or delivered to a worker and not acknowledged yet (kombu's
-- `unacked` hash). A message names its task id in its headers ("id": "<uuid>"), in plain JSON.
-- KEYS: the queue lists, then the unacked hash (last). ARGV: the task ids. Returns the ids found.
-- Scans whole lists, a thousand messages at a time: called on failover and for runs past their
-- lease, never per fire.
local found = {}
local wanted = {}
local left = 0
for _, id in ipairs(ARGV) do
  wanted[id] = true
  left = left + 1
end
local function scan(text)
  for id in pairs(wanted) do
    if string.find(text, id, 1, true) then
      found[#found + 1] = id
      wanted[id] = nil
      left = left - 1
    end
  end
end
for i = 1, #KEYS - 1 do
  local len = redis.call('LLEN', KEYS[i])
  local start = 0
  while start < len and left > 0 do
    for _, item in ipairs(redis.call('LRANGE', KEYS[i], start, start + 999)) do scan(item) end
    start = start + 1000
  end
end
if left > 0 then
  for _, item in ipairs(redis.call('HVALS', KEYS[#KEYS])) do scan(item) end
end
return found
