-- Redlock's release on one server, for a batch of locks in one round trip (src/locks/redlock.ts).
-- KEYS: the lock keys. ARGV: the tokens, one per key. Each key is deleted only if it still holds
-- its token (another token's lock is left alone). Returns how many were released.
local released = 0
for i, key in ipairs(KEYS) do
  if redis.call('GET', key) == ARGV[i] then
    redis.call('DEL', key)
    released = released + 1
  end
end
return released
