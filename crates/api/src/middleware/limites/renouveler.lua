-- Renews the leases of the places in flight a living node holds, so that only a dead node's
-- places expire. KEYS[i]: a client's requests in flight; ARGV[i]: the place held there;
-- ARGV[#KEYS + 1]: the lease (ms). A place already released is not re-created (XX).
local t = redis.call('TIME')
local ms = string.format('%.0f', tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000))
local bail = ARGV[#KEYS + 1]
for i, cle in ipairs(KEYS) do
  redis.call('ZADD', cle, 'XX', ms, ARGV[i])
  redis.call('PEXPIRE', cle, bail)
end
return #KEYS
