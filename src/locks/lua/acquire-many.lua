-- Redlock's acquire on one server, for a batch of locks in one round trip (src/locks/redlock.ts).
-- KEYS: the lock keys. ARGV: for each key, three values: ttl in ms, token, retake (1 or 0).
-- For each key: free → SET token PX ttl → 1; already holding this token and retake → PEXPIRE → 1;
-- held by another token → 0. Returns one 0/1 per key, in order.
local taken = {}
for i, key in ipairs(KEYS) do
  local ttl = ARGV[(i - 1) * 3 + 1]
  local token = ARGV[(i - 1) * 3 + 2]
  local retake = ARGV[(i - 1) * 3 + 3]
  if redis.call('SET', key, token, 'NX', 'PX', ttl) then
    taken[i] = 1
  elseif retake == '1' and redis.call('GET', key) == token then
    redis.call('PEXPIRE', key, ttl)
    taken[i] = 1
  else
    taken[i] = 0
  end
end
return taken
