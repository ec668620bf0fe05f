package discordrest

import "github.com/redis/go-redis/v9"

// acquireScript takes one request slot on Redis's clock, or says how long to
// wait. It checks, all or nothing: a running global 429 block, the route
// bucket (remaining requests until its reset, as Discord's headers last
// said; an unknown bucket lets one probe request through at a time), and the
// global pacing (GCRA without burst: one request every T).
//
// KEYS: global pacing TAT, global block end, bucket state (hash: rem, reset,
// lim, win; times in µs). ARGV: exempt from global (0/1), T (µs), probe
// timeout (µs), state memory (ms).
// Reply: {1, 0, 0} to go, or {0, wait µs, probe} where probe is 1 when the
// wait is for an unknown bucket's first response.
var acquireScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local exempt = ARGV[1] == '1'
if not exempt then
  local gb = tonumber(redis.call('GET', KEYS[2]) or '0')
  if gb > now then return {0, gb - now, 0} end
end
local st = redis.call('HMGET', KEYS[3], 'rem', 'reset', 'lim', 'win')
local rem, reset, lim, win = tonumber(st[1]), tonumber(st[2]), tonumber(st[3]), tonumber(st[4])
local nrem, nreset
if reset and reset > now then
  if rem and rem > 0 then
    nrem, nreset = rem - 1, reset
  else
    local probe = 0
    if not lim then probe = 1 end
    return {0, reset - now, probe}
  end
elseif lim and win then
  nrem, nreset = lim - 1, now + win
else
  nrem, nreset = 0, now + tonumber(ARGV[3])
end
if not exempt then
  local T = tonumber(ARGV[2])
  local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
  if tat > now then return {0, tat - now, 0} end
  redis.call('SET', KEYS[1], string.format('%.0f', now + T), 'PX', string.format('%.0f', math.ceil(T / 1000) + 1))
end
redis.call('HSET', KEYS[3], 'rem', nrem, 'reset', string.format('%.0f', nreset))
redis.call('PEXPIRE', KEYS[3], ARGV[4])
return {1, 0, 0}
`)

// observeScript records what a response said.
//
// KEYS: probe state (the key acquire used), bucket state (by the bucket the
// response named; may equal the first), global block end, invalid-request
// counter (hash of window index -> count), route -> bucket map (hash).
// ARGV: has headers (0/1), remaining, limit, reset-after (µs), 429 retry
// (µs, 0 if not a 429), global 429 (0/1), counts as invalid (0/1), invalid
// window (µs), state memory (ms), route, bucket.
// Reply: invalid requests in the last window (sliding estimate).
var observeScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local mem = ARGV[9]
-- A response ends the probe of a bucket not known yet, whatever it said.
if not redis.call('HGET', KEYS[1], 'lim') then
  redis.call('DEL', KEYS[1])
end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[5], ARGV[10], ARGV[11])
  redis.call('PEXPIRE', KEYS[5], 86400000)
  local rem = tonumber(ARGV[2])
  local lim = tonumber(ARGV[3])
  local after = tonumber(ARGV[4])
  local st = redis.call('HMGET', KEYS[2], 'rem', 'reset')
  local srem, sreset = tonumber(st[1]), tonumber(st[2])
  local nreset = now + after
  if srem and sreset and sreset > now and srem < rem and math.abs(sreset - nreset) < 1000000 then
    rem = srem
  end
  redis.call('HSET', KEYS[2], 'rem', rem, 'reset', string.format('%.0f', nreset), 'lim', lim)
  if rem == lim - 1 then
    redis.call('HSET', KEYS[2], 'win', string.format('%.0f', after))
  end
  redis.call('PEXPIRE', KEYS[2], mem)
end
local retry = tonumber(ARGV[5])
if retry > 0 then
  local until_ = string.format('%.0f', now + retry)
  if ARGV[6] == '1' then
    local cur = tonumber(redis.call('GET', KEYS[3]) or '0')
    if now + retry > cur then
      redis.call('SET', KEYS[3], until_, 'PX', string.format('%.0f', math.ceil(retry / 1000)))
    end
  else
    redis.call('HSET', KEYS[2], 'rem', 0, 'reset', until_)
    redis.call('PEXPIRE', KEYS[2], mem)
  end
end
local w = tonumber(ARGV[8])
local idx = math.floor(now / w)
local cur
if ARGV[7] == '1' then
  cur = redis.call('HINCRBY', KEYS[4], tostring(idx), 1)
  redis.call('HDEL', KEYS[4], tostring(idx - 2))
  redis.call('PEXPIRE', KEYS[4], string.format('%.0f', math.ceil(2 * w / 1000)))
else
  cur = tonumber(redis.call('HGET', KEYS[4], tostring(idx)) or '0')
end
local prev = tonumber(redis.call('HGET', KEYS[4], tostring(idx - 1)) or '0')
local frac = (now - idx * w) / w
return math.floor(cur + prev * (1 - frac))
`)
