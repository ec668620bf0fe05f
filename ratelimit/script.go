package ratelimit

import "github.com/redis/go-redis/v9"

// State layout in Redis. Every rule's GCRA state (its theoretical arrival
// time, TAT, in µs of Redis's clock) is a field of a generation hash:
//
//	<base>:<G>:<gen>   field <subject tag><rule suffix>   value TAT
//
// where G (µs) is the rule's period (GCRA's T·Limit, the furthest a TAT can
// run ahead of now) and gen is floor(now / 4G): a generation lasts four
// periods. A TAT is at most G ahead of the time it was written, so a
// decision reads the previous generation only during the first G of the
// current one (three calls in four skip that read), writes the current
// one, and a generation hash expires G after its generation ends. Keeping
// many subjects' state in one hash, read with one HMGET and written with
// one HSET per batch, costs Redis far less per decision than one key with
// its own TTL per subject (see bench/ratelimit), and needs no sweeper.
//
// A value is the TAT in µs as 7 bytes, little-endian. Redis turns a Lua
// number into a string with printf's %.17g and Lua reads one back with
// strtod; together they cost a tenth of a decision, bytes almost nothing.
//
// A block is marked in the rule's field as 'b', the block's end and the TAT
// (15 bytes), put there by blockScript beside the durable block key, so
// that a decision on any node refuses at once while the rule's schedule is
// kept for after the block. The marker is read for at least G after it is
// written; after that the block key, pub/sub and every node's local cache
// carry the block.
//
// On Redis Cluster the base holds the subject's hash tag (one subject per
// call, see WithSplitBySubject), so every key a script touches, including
// the generation hashes it names from the base, lives in one slot.

// tatCodec is the Lua both scripts share to read and write a stored TAT or
// block end: µs as 7 bytes, little-endian, from byte o+1 of v.
const tatCodec = `
local function dec(v, o)
  local b1, b2, b3, b4, b5, b6, b7 = string.byte(v, o + 1, o + 7)
  return b1 + 256 * (b2 + 256 * (b3 + 256 * (b4 + 256 * (b5 + 256 * (b6 + 256 * b7)))))
end
local function enc(n)
  local b1 = n % 256
  n = (n - b1) / 256
  local b2 = n % 256
  n = (n - b2) / 256
  local b3 = n % 256
  n = (n - b3) / 256
  local b4 = n % 256
  n = (n - b4) / 256
  local b5 = n % 256
  n = (n - b5) / 256
  local b6 = n % 256
  return string.char(b1, b2, b3, b4, b5, b6, (n - b6) / 256)
end
`

// decideScript makes a batch of decisions, in order, on Redis's clock (one
// TIME for the batch). Each decision checks all its rules together with GCRA
// and is all or nothing: no rule consumes budget unless every rule admits.
// The caller does the bookkeeping (distinct fields per generation hash,
// distinct rule profiles) and packs each decision into a few bytes, so Redis
// spends its time on the decisions alone: Lua's tonumber costs more than the
// GCRA arithmetic it would feed.
//
// KEYS[1]: the base of the generation hashes.
//
// ARGV: number of periods h, then per period its G (µs), its number of
// distinct fields m and those m fields (fields are numbered across periods
// from 1, in this order); number of rule profiles p, then per profile T
// (µs), tau (µs) and 1 if its violations block, else 0; last, the decisions
// as one string of bytes: per decision its number of rules n followed by n
// pairs of bytes, the rule's profile and its field's number.
//
// Reply: {now (µs)} then one code per decision, verdict + 4·rule + 256·µs:
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

const decideSource = tatCodec + `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nh = tonumber(ARGV[1])
local a = 2
local val, blk, hkey, hnew, hexp, first, count = {}, {}, {}, {}, {}, {}, {}
local nf = 0
for h = 1, nh do
  local g, m = tonumber(ARGV[a]), tonumber(ARGV[a + 1])
  local gen = math.floor(now / (4 * g))
  local base = KEYS[1] .. ':' .. g .. ':'
  local cur = base .. gen
  local c = redis.call('HMGET', cur, '', unpack(ARGV, a + 2, a + 1 + m))
  local p = {}
  if now - gen * 4 * g < g then
    p = redis.call('HMGET', base .. (gen - 1), unpack(ARGV, a + 2, a + 1 + m))
  end
  for i = 1, m do
    local v = c[i + 1] or p[i]
    local n = 0
    local o = v and #v - 7
    if o == 0 or o == 8 then
      n = dec(v, o)
      if o == 8 then
        blk[nf + i] = dec(v, 1)
      end
    end
    val[nf + i] = n
  end
  hkey[h], hnew[h], hexp[h], first[h], count[h] = cur, not c[1], math.ceil(((gen + 1) * 4 + 1) * g / 1000), a + 2, m
  nf = nf + m
  a = a + 2 + m
end
local np = tonumber(ARGV[a])
local PT, PU, PB = {}, {}, {}
for i = 1, np do
  local b = a + 3 * i - 2
  PT[i], PU[i], PB[i] = tonumber(ARGV[b]), tonumber(ARGV[b + 1]), ARGV[b + 2] == '1'
end
local D = {string.byte(ARGV[a + 1 + 3 * np], 1, -1)}
local out, o, dirty, nxt = {now}, 1, {}, {}
local k, nd = 1, #D
while k <= nd do
  local n = D[k]
  local blocked, left, viol, plain, retry = 0, 0, 0, 0, 0
  for i = 1, n do
    local pr, f = D[k + 2 * i - 1], D[k + 2 * i]
    local tat, e = val[f], blk[f]
    if e and e > now and blocked == 0 then
      blocked, left = i, e - now
    end
    if tat < now then tat = now end
    local over = tat - now - PU[pr]
    if over > 0 then
      if PB[pr] then
        viol = viol + 2 ^ (i - 1)
      elseif over > retry then
        plain, retry = i, over
      end
    end
    nxt[i] = tat + PT[pr]
  end
  o = o + 1
  if blocked > 0 then
    out[o] = 3 + 4 * blocked + 256 * left
  elseif viol > 0 then
    out[o] = 2 + 4 * viol
  elseif plain > 0 then
    out[o] = 4 * plain + 256 * retry
  else
    local hot, hotv = 0, 0
    for i = 1, n do
      local pr, f = D[k + 2 * i - 1], D[k + 2 * i]
      val[f], blk[f], dirty[f] = nxt[i], nil, true
      if not PB[pr] and nxt[i] - PU[pr] - now > hotv then
        hot, hotv = i, nxt[i] - PU[pr] - now
      end
    end
    out[o] = 1 + 4 * hot + 256 * hotv
  end
  k = k + 1 + 2 * n
end
-- Most writes in a batch are the same TAT (now + T for every subject whose
-- TAT had passed), so each distinct value is encoded once.
local encoded = {}
nf = 0
for h = 1, nh do
  local w, nw = {}, 0
  for i = first[h], first[h] + count[h] - 1 do
    nf = nf + 1
    if dirty[nf] then
      local n = val[nf]
      local e = encoded[n]
      if not e then
        e = enc(n)
        encoded[n] = e
      end
      w[nw + 1], w[nw + 2] = ARGV[i], e
      nw = nw + 2
    end
  end
  if nw > 0 then
    if hnew[h] then
      w[nw + 1], w[nw + 2] = '', 1
      redis.call('HSET', hkey[h], unpack(w))
      redis.call('PEXPIREAT', hkey[h], hexp[h])
    else
      redis.call('HSET', hkey[h], unpack(w))
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

const blockSource = tatCodec + `
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
    local ends = now + d * 1000
    redis.call('SET', bk, string.format('%.0f', ends), 'PX', ds)
    redis.call('PUBLISH', ARGV[1], bk .. ' ' .. ds)
    local gen = math.floor(now / (4 * g))
    local h = KEYS[#KEYS] .. ':' .. g .. ':' .. gen
    local old = redis.call('HGET', h, f)
    if not old and now - gen * 4 * g < g then
      old = redis.call('HGET', KEYS[#KEYS] .. ':' .. g .. ':' .. (gen - 1), f)
    end
    local tat = now
    if old and (#old == 7 or #old == 15) then
      tat = math.max(tat, dec(old, #old - 7))
    end
    redis.call('HSET', h, f, 'b' .. enc(ends) .. enc(tat))
    redis.call('PEXPIREAT', h, math.ceil(((gen + 1) * 4 + 1) * g / 1000))
    out[#out + 1] = 1
    out[#out + 1] = d * 1000
  end
end
return out
`
