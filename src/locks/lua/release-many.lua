-- Give back many run locks in one round trip, each only if it still holds our token
-- (src/locks/redlock.ts, releaseMany). KEYS: the lock keys. ARGV: the tokens, one per key.
-- Returns how many were released.
local released = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then
    redis.call('DEL', key)
    released = released + 1
  end
end
return released
