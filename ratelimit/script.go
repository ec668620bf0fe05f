package ratelimit

import "github.com/redis/go-redis/v9"

// State layout in Redis. Every rule's GCRA state (its theoretical arrival
// time, TAT, in µs of Redis's clock) is a field of a generation hash:
//
//	<base>:<G>:<gen>   field <subject tag><rule suffix>   value TAT (µs)
//
// where G (µs) is the rule's period (GCRA's T·Limit, the furthest a TAT can
// run ahead of now) and gen is floor(now / G). A TAT written during
// generation g is in the past by the end of g+1, so a decision reads the
// current and the previous generation and writes the current one, and each
// generation hash expires at the end of g+1. Keeping many subjects' state in
// one hash, read with one HMGET and written with one HSET per batch, costs
// Redis far less per decision than one key with its own TTL per subject
// (see bench/ratelimit), and needs no sweeper.
//
// A block is marked "b<end>:<TAT>" (µs) in the rule's field, put there by
// blockScript beside the durable block key, so that a decision on any node
// refuses at once while the rule's schedule is kept for after the block.
// The marker lives as long as its generation; after that the block key,
// pub/sub and every node's local cache carry the block.
//
// On Redis Cluster the base holds the subject's hash tag (one subject per
// call, see WithSplitBySubject), so every key a script touches, including
// the generation hashes it names from the base, lives in one slot.

// decideScript makes a batch of decisions, in order, on Redis's clock (one
// TIME for the batch). Each decision checks all its rules together with GCRA
// and is all or nothing: no rule consumes budget unless every rule admits.
// The caller does the bookkeeping (distinct fields per generation hash,
// distinct rule profiles), so Redis spends its time on the decisions alone.
//
// KEYS[1]: the base of the generation hashes.
//
// ARGV: number of decisions; number of periods h, then per period its G
// (µs), its number of distinct fields m and those m fields (fields are
// numbered across periods from 1, in this order); number of rule profiles
// p, then per profile T (µs), tau (µs) and 1 if its violations block, else
// 0; then per decision its number of rules n followed by n pairs: the
// rule's profile and its field's number.
//
// Reply: {now (µs)} then three values per decision, {verdict, rule, µs}:
//
//	1 admitted; rule is a non-blocking rule now known to refuse for µs
//	  whatever other nodes do (its TAT only grows), or 0
//	0 refused by non-blocking rule `rule`; retry after µs
//	2 violation: `rule` is the bit mask (bit i-1 for rule i) of the blocking
//	  rules that refused; the caller imposes their blocks (blockScript)
//	3 refused by the running block of rule `rule`, µs left
//
// Each generation hash holds an empty field, set on its first write, so
// that its expiry is set once rather than on every call.
var decideScript = redis.NewScript(decideSource)

const decideSource = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nd = tonumber(ARGV[1])
local nh = tonumber(ARGV[2])
local a = 3
local val, first, last, hcur, hexp, hnew = {}, {}, {}, {}, {}, {}
local nf = 0
for h = 1, nh do
  local g, m = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local gen = math.floor(now / g)
  local cur = KEYS[1] .. ':' .. g .. ':' .. gen
  local c = redis.call('HMGET', cur, '', unpack(ARGV, a + 2, a + 1 + m))
  local p = redis.call('HMGET', KEYS[1] .. ':' .. g .. ':' .. (gen - 1), unpack(ARGV, a + 2, a + 1 + m))
  for i = 1, m do
    local v = c[i + 1] or p[i]
    if v then
      local n = tonumber(v)
      if not n then
        local e, tt = string.match(v, '^b(%d+):(%d+)$')
        n = {tonumber(e), tonumber(tt)}
      end
      val[nf + i] = n
    else
      val[nf + i] = 0
    end
  end
  hcur[h], hnew[h], first[h], last[h] = cur, not c[1], a + 2, a + 1 + m
  hexp[h] = math.ceil((gen + 2) * g / 1000)
  nf = nf + m
  a = a + 2 + m
end
local P = {}
for i = 1, tonumber(ARGV[a]) do
  local b = a + 3 * i - 2
  P[i] = {tonumber(ARGV[b]), tonumber(ARGV[b + 1]), ARGV[b + 2] == '1'}
end
a = a + 1 + 3 * #P
local dirty = {}
local out = {now}
local o = 1
local tats = {}
for _ = 1, nd do
  local n = tonumber(ARGV[a])
  local blocked, left, viol, plain, retry = 0, 0, 0, 0, 0
  for i = 1, n do
    local p = P[tonumber(ARGV[a + 2 * i - 1])]
    local tat = val[tonumber(ARGV[a + 2 * i])]
    if type(tat) == 'table' then
      if tat[1] > now and blocked == 0 then
        blocked, left = i, tat[1] - now
      end
      tat = tat[2]
    end
    if tat < now then tat = now end
    if tat - now > p[2] then
      if p[3] then
        viol = viol + 2 ^ (i - 1)
      elseif tat - now - p[2] > retry then
        plain, retry = i, tat - now - p[2]
      end
    end
    tats[i] = tat + p[1]
  end
  if blocked > 0 then
    out[o + 1], out[o + 2], out[o + 3] = 3, blocked, left
  elseif viol > 0 then
    out[o + 1], out[o + 2], out[o + 3] = 2, viol, 0
  elseif plain > 0 then
    out[o + 1], out[o + 2], out[o + 3] = 0, plain, retry
  else
    local hot, hotv = 0, 0
    for i = 1, n do
      local p = P[tonumber(ARGV[a + 2 * i - 1])]
      local f = tonumber(ARGV[a + 2 * i])
      val[f] = tats[i]
      dirty[f] = true
      if not p[3] and tats[i] - p[2] - now > hotv then
        hot, hotv = i, tats[i] - p[2] - now
      end
    end
    out[o + 1], out[o + 2], out[o + 3] = 1, hot, hotv
  end
  o = o + 3
  a = a + 1 + 2 * n
end
nf = 0
for h = 1, nh do
  local w = {}
  for i = first[h], last[h] do
    nf = nf + 1
    if dirty[nf] then
      w[#w + 1] = ARGV[i]
      w[#w + 1] = val[nf]
    end
  end
  if #w > 0 then
    if hnew[h] then
      w[#w + 1] = ''
      w[#w + 1] = 1
      redis.call('HSET', hcur[h], unpack(w))
      redis.call('PEXPIREAT', hcur[h], hexp[h])
    else
      redis.call('HSET', hcur[h], unpack(w))
    end
  end
end
return out
`

// blockScript imposes the blocks of rules whose limit a decision exceeded:
// per rule, unless a block is already running (another node imposed it
// first), it counts the violation, sets the block key for the backoff's
// duration, announces it on the pub/sub channel and marks the rule's field
// in the current generation hash.
//
// KEYS: two per rule: its block key (value: end, µs) and its violation count.
// KEYS[2n+1]: the base of the generation hashes.
//
// ARGV: pub/sub channel, then five values per rule: block base, max and
// violation memory (ms), period G (µs), field.
//
// Reply: {now} then per rule {imposed (1) or already running (0), µs left}.
var blockScript = redis.NewScript(blockSource)

const blockSource = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local n = (#KEYS - 1) / 2
local out = {now}
for i = 1, n do
  local bk, vk = KEYS[2 * i - 1], KEYS[2 * i]
  local b = 2 + 5 * (i - 1)
  local base, max, mem, g, f = tonumber(ARGV[b]), tonumber(ARGV[b + 1]), ARGV[b + 2], tonumber(ARGV[b + 3]), ARGV[b + 4]
  local e = tonumber(redis.call('GET', bk) or '0') or 0
  if e > now then
    out[#out + 1] = 0
    out[#out + 1] = e - now
  else
    local v = redis.call('INCR', vk)
    redis.call('PEXPIRE', vk, mem)
    local d = base * math.pow(2, v - 1)
    if d > max then d = max end
    local ds = string.format('%.0f', d)
    local ends = string.format('%.0f', now + d * 1000)
    redis.call('SET', bk, ends, 'PX', ds)
    redis.call('PUBLISH', ARGV[1], bk .. ' ' .. ds)
    local gen = math.floor(now / g)
    local h = KEYS[#KEYS] .. ':' .. g .. ':' .. gen
    local tat = redis.call('HGET', h, f) or redis.call('HGET', KEYS[#KEYS] .. ':' .. g .. ':' .. (gen - 1), f) or '0'
    local m = string.match(tat, '^b%d+:(%d+)$')
    redis.call('HSET', h, f, 'b' .. ends .. ':' .. (m or tat))
    redis.call('PEXPIREAT', h, math.ceil((gen + 2) * g / 1000))
    out[#out + 1] = 1
    out[#out + 1] = d * 1000
  end
end
return out
`
