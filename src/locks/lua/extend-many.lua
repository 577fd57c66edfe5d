-- Redlock's extend on one server, for a batch of locks in one round trip (src/locks/redlock.ts).
-- KEYS: the lock keys. ARGV: for each key, two values: ttl in ms, token.
-- For each key: still holding this token → PEXPIRE ttl → 1; expired, released or another token's
-- (left alone) → 0. Returns one 0/1 per key, in order.
local extended = {}
for i, key in ipairs(KEYS) do
  local ttl = ARGV[(i - 1) * 2 + 1]
  local token = ARGV[(i - 1) * 2 + 2]
  if redis.call('GET', key) == token then
    redis.call('PEXPIRE', key, ttl)
    extended[i] = 1
  else
    extended[i] = 0
  end
end
return extended
