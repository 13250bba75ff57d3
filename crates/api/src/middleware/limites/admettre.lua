-- One request of a client, atomically: a token of its bucket (GCRA, as governor counts it on a
-- single node), then, when KEYS[2] is given, a place among its requests in flight.
-- KEYS[1]: the bucket's theoretical arrival time (microseconds, Redis' clock: the nodes' own
--          clocks never matter); the key expires once the bucket is full again.
-- KEYS[2]: (optional) the requests in flight, a sorted set of node-unique ids scored by the
--          time their lease was last renewed (ms); a lease older than ARGV[4] belongs to a node
--          that died and is dropped here.
-- ARGV: emission interval T (us, 1 s / par_seconde), tolerance tau = T * (rafale - 1) (us),
--       simultanees, lease (ms), id of this request's place, deadline (us, Redis' clock).
-- Returns {verdict, wait (us), remaining}: 1 admitted, 0 over the rate, 2 over the cap (the
-- token is spent, as on a single node), 3 too late: the node has given up waiting and served
-- the request on its own limits, so nothing is charged here (no token, no place that nobody
-- would give back).
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if now > tonumber(ARGV[6]) then
  return {3, 0, 0}
end
local T = tonumber(ARGV[1])
local tau = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1])) or now
local earliest = tat - tau
if now < earliest then
  return {0, earliest - now, 0}
end
local suivant = math.max(tat, now) + T
-- Integers are written with %.0f: Lua's default formatting would round them to 14 digits.
redis.call('SET', KEYS[1], string.format('%.0f', suivant), 'PX', math.floor((suivant - now) / 1000) + 1)
local restant = math.floor(math.min(now + tau + T - suivant, tau + T) / T)
if #KEYS > 1 then
  local ms = math.floor(now / 1000)
  local bail = tonumber(ARGV[4])
  redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', string.format('%.0f', ms - bail))
  if redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[3]) then
    return {2, 0, restant}
  end
  redis.call('ZADD', KEYS[2], string.format('%.0f', ms), ARGV[5])
  redis.call('PEXPIRE', KEYS[2], bail)
end
return {1, 0, restant}
