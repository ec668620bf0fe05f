package wire

import (
	"strconv"

	"github.com/redis/go-redis/v9"
)

// State layout in Redis. Every rule's GCRA state (its theoretical arrival
// time, TAT, in µs of Redis's clock) is a field of a generation hash:
//
//	<base>:<G>:<gen>   field <subject tag><rule suffix>   value TAT
//
// where G (µs) is the rule's period (GCRA's T·Limit, the furthest a TAT can
// run ahead of now) and gen is floor(now / (genPeriods·G)). A TAT is at
// most G ahead of the time it was written, so a decision reads the
// previous generation only during the first G of the current one, and
// writes the current one. A generation hash is unlinked by the first
// decision after its last possible reader, and expires 2G after its
// generation ends should no decision come. Keeping many subjects' state in
// one hash, read with one HMGET and written with one HSET per batch, costs
// Redis far less per decision than one key with its own TTL per subject
// (see bench/ratelimit), and needs no sweeper.
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
// call, see ratelimit.Config.Layout), so every key a script touches, including
// the generation hashes it names from the base, lives in one slot.

// genPeriods is how many periods a generation lasts. During the first
// period of a generation every call also reads the previous hash, and each
// generation inserts its subjects' fields afresh (inserting grows the hash,
// and growing rehashes it); longer generations do both less often, at the
// cost of keeping an idle subject's state longer (up to genPeriods+2
// periods: 18 s for the command rule).
const genPeriods = 16

// stateCodec is the Lua both scripts share: the generation length, and how
// a stored TAT or block end is read and written: µs as 7 bytes,
// little-endian, from byte o+1 of v.
var stateCodec = `
local GEN = ` + strconv.Itoa(genPeriods) + `
local byte, char, format = string.byte, string.char, string.format
local function dec(v, o)
  local b1, b2, b3, b4, b5, b6, b7 = byte(v, o + 1, o + 7)
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
  return char(b1, b2, b3, b4, b5, b6, (n - b6) / 256)
end
`

// decideScript makes a batch of decisions, in order, on Redis's clock (one
// TIME for the batch). Each decision checks all its rules together with GCRA
// and is all or nothing: no rule consumes budget unless every rule admits.
// The caller does the bookkeeping (distinct fields per generation hash,
// distinct rule profiles, which rule of a decision is its own) and packs it
// into bytes, so that Redis spends its time on the decisions alone: in
// Redis's Lua, tonumber and turning a number into a string each cost more
// than the GCRA arithmetic.
//
// Two shortcuts keep the common batch cheap, and both give exactly the
// answers of the general loop. A decision's own rule is the one likeliest
// to refuse (its subject's); a field of its other rules (a command's global
// ceiling), used by u decisions, whose rule would admit all u with room to
// spare, can neither refuse nor turn hot in this batch, so it is only
// counted (the fast path). If every such field takes it and every decision
// has one other rule at most, each decision is its own rule alone (the
// simple batch); with one period its writes go straight into the HSET.
//
// KEYS[1]: the base of the generation hashes.
//
// ARGV[1], bytes: the number of periods h, each period's number of fields,
// the number of rule profiles p, and per profile 1 if its violations block,
// else 0. Then per period its G (µs) and its fields (fields are numbered
// across periods from 1, in this order); per profile T and tau (µs); the
// decisions, as bytes: per decision its number of rules n followed by n
// pairs, the rule's profile and its field's number; the candidates for the
// fast path, as bytes: triples of field, profile and number of decisions
// using it; and for a simple batch, per decision four bytes: its own field,
// its profile, the rule's place in the decision, and its candidate or 0
// (else ""); optionally, per decision, how late it is, in ms as two bytes
// big-endian, or "" when none is (see encodeArgsLate).
//
// Reply: {now (µs)}, then for each decision not plainly admitted (code 1)
// its number and its code, verdict + 4·rule + 256·µs: most decisions cost
// the reply nothing.
//
//	1 admitted; rule is a non-blocking rule now known to refuse for µs
//	  whatever other nodes do (its TAT only grows), or 0
//	0 refused by non-blocking rule `rule`; retry after µs
//	2 violation: `rule` is the bit mask (bit i-1 for rule i) of the blocking
//	  rules that refused; the caller imposes their blocks (blockScript)
//	3 refused by the running block of rule `rule`, µs left
//
// Each generation hash holds an empty field, set on its first write, so
// that its expiry is set once rather than on every call. While it is "1"
// the previous generation is still there: the first call after the
// previous generation's last use unlinks it (freeing it off Redis's main
// thread, where an expiry would free a large hash in one go) and sets it
// to "2". The expiry stays as the backstop.
var decideScript = redis.NewScript(decideSource)

var decideSource = stateCodec + `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local M = {byte(ARGV[1], 1, -1)}
local nh, nf = M[1], 0
for h = 1, nh do nf = nf + M[1 + h] end
-- An unknown TAT is 0: val starts as nf zeros, sized once.
local Z = string.rep('\0', nf)
local val, blk, hs = {byte(Z, 1, -1)}, {}, {}
local a, f0 = 2, 0
for h = 1, nh do
  local gs, m = ARGV[a], M[1 + h]
  local g = tonumber(gs)
  local gen = math.floor(now / (GEN * g))
  local cur = KEYS[1] .. ':' .. gs .. ':' .. format('%d', gen)
  local c = redis.call('HMGET', cur, '', unpack(ARGV, a + 1, a + m))
  if now - gen * GEN * g < g then
    local p = redis.call('HMGET', KEYS[1] .. ':' .. gs .. ':' .. format('%d', gen - 1), unpack(ARGV, a + 1, a + m))
    for i = 1, m do
      if not c[i + 1] then c[i + 1] = p[i] end
    end
  elseif c[1] == '1' then
    redis.call('UNLINK', KEYS[1] .. ':' .. gs .. ':' .. format('%d', gen - 1))
    redis.call('HSET', cur, '', '2')
  end
  for i = 1, m do
    local v = c[i + 1]
    if v then
      local l = #v
      if l == 7 then
        val[f0 + i] = dec(v, 0)
      elseif l == 15 then
        val[f0 + i], blk[f0 + i] = dec(v, 8), dec(v, 1)
      end
    end
  end
  local x = 6 * h
  hs[x - 5], hs[x - 4], hs[x - 3], hs[x - 2], hs[x - 1], hs[x] = cur, c[1], g, gen, a + 1, m
  f0 = f0 + m
  a = a + 1 + m
end
-- put writes the nw values of w, field then value, to period h's hash,
-- setting its expiry on its first write.
local function put(h, w, nw)
  local x = 6 * h
  if hs[x - 4] then
    redis.call('HSET', hs[x - 5], unpack(w, 1, nw))
  else
    w[nw + 1], w[nw + 2] = '', '1'
    redis.call('HSET', hs[x - 5], unpack(w, 1, nw + 2))
    redis.call('PEXPIREAT', hs[x - 5], format('%d', math.ceil(((hs[x - 2] + 1) * GEN + 2) * hs[x - 3] / 1000)))
  end
end
local np = M[2 + nh]
local PT, PU, PB = {}, {}, {}
for i = 1, np do
  PT[i], PU[i], PB[i] = tonumber(ARGV[a]), tonumber(ARGV[a + 1]), M[2 + nh + i] == 1
  a = a + 2
end
local S, simple = ARGV[a + 1], ARGV[a + 2] ~= ''
-- LB: per decision, how late it is (2 bytes, ms): the user acted at
-- now - late. A decision is admitted if GCRA admits it at that time (so a
-- late burst the user sent at an honest pace passes) or, as without it, at
-- now; its TAT then grows from the later of the TAT and that time. The
-- shortcuts count at now, so a batch with late decisions takes neither.
local LB = ARGV[a + 3]
if LB == '' then LB = nil end
if LB then S, simple = '', false end
local function at(j)
  if not LB then return now end
  local h, l = byte(LB, 2 * j - 1, 2 * j)
  return now - (h * 256 + l) * 1000
end
local fast, used = {}, {}
for j = 1, #S, 3 do
  local f, pr, u = byte(S, j, j + 2)
  local e, b = blk[f], val[f]
  if b < now then b = now end
  if (not e or e <= now) and b + u * PT[pr] - now <= PU[pr] then
    fast[f], used[f] = b, 0
  else
    simple = false
  end
end
-- out lists only the decisions not plainly admitted: index, code.
local out, no, dirty, encoded = {now}, 1, {}, {}
if simple then
  -- With one period, the writes go straight to the HSET's arguments.
  local Q = {byte(ARGV[a + 2], 1, -1)}
  local nd, direct, w, nw = #Q / 4, nh == 1, {}, 0
  for j = 1, nd do
    local q = 4 * j
    local f, pr, r = Q[q - 3], Q[q - 2], Q[q - 1]
    local tat, e = val[f], blk[f]
    if e and e > now then
      out[no + 1], out[no + 2], no = j, 3 + 4 * r + 256 * (e - now), no + 2
    else
      if tat < now then tat = now end
      local over = tat - now - PU[pr]
      if over <= 0 then
        tat = tat + PT[pr]
        if direct then
          local x = encoded[tat]
          if not x then
            x = enc(tat)
            encoded[tat] = x
          end
          w[nw + 1], w[nw + 2] = ARGV[2 + f], x
          nw = nw + 2
        else
          val[f], blk[f], dirty[f] = tat, nil, true
        end
        local s = Q[q]
        if s > 0 then used[s] = used[s] + 1 end
        over = tat - PU[pr] - now
        if over > 0 and not PB[pr] then
          out[no + 1], out[no + 2], no = j, 1 + 4 * r + 256 * over, no + 2
        end
      elseif PB[pr] then
        out[no + 1], out[no + 2], no = j, 2 + 4 * 2 ^ (r - 1), no + 2
      else
        out[no + 1], out[no + 2], no = j, 4 * r + 256 * over, no + 2
      end
    end
  end
  if direct then
    for j = 1, #S, 3 do
      local f, pr = byte(S, j, j + 1)
      if used[f] > 0 then
        w[nw + 1], w[nw + 2] = ARGV[2 + f], enc(fast[f] + used[f] * PT[pr])
        nw = nw + 2
      end
    end
    if nw > 0 then put(1, w, nw) end
    return out
  end
else
  local D, nxt = {byte(ARGV[a], 1, -1)}, {}
  local o, k, nd = 0, 1, #ARGV[a]
  while k <= nd do
    local n = D[k]
    local blocked, left, viol, plain, retry = 0, 0, 0, 0, 0
    local t0 = at(o + 1)
    for i = 1, n do
      local f = D[k + 2 * i]
      if not fast[f] then
        local pr = D[k + 2 * i - 1]
        local tat, e = val[f], blk[f]
        if e and e > now and blocked == 0 then
          blocked, left = i, e - now
        end
        local over = tat - now - PU[pr]
        if tat < t0 then tat = t0 end
        if t0 < now then
          local oe = tat - t0 - PU[pr]
          if oe < over then over = oe end
        elseif tat < now then
          tat = now
        end
        if over > 0 then
          if PB[pr] then
            viol = viol + 2 ^ (i - 1)
          elseif over > retry then
            plain, retry = i, over
          end
        end
        nxt[i] = tat + PT[pr]
      end
    end
    o = o + 1
    if blocked > 0 then
      out[no + 1], out[no + 2], no = o, 3 + 4 * blocked + 256 * left, no + 2
    elseif viol > 0 then
      out[no + 1], out[no + 2], no = o, 2 + 4 * viol, no + 2
    elseif plain > 0 then
      out[no + 1], out[no + 2], no = o, 4 * plain + 256 * retry, no + 2
    else
      local hot, hotv = 0, 0
      for i = 1, n do
        local f = D[k + 2 * i]
        if fast[f] then
          used[f] = used[f] + 1
        else
          local pr, x = D[k + 2 * i - 1], nxt[i]
          val[f], blk[f], dirty[f] = x, nil, true
          if not PB[pr] and x - PU[pr] - now > hotv then
            hot, hotv = i, x - PU[pr] - now
          end
        end
      end
      if hot > 0 then
        out[no + 1], out[no + 2], no = o, 1 + 4 * hot + 256 * hotv, no + 2
      end
    end
    k = k + 1 + 2 * n
  end
end
for j = 1, #S, 3 do
  local f, pr = byte(S, j, j + 1)
  local u = used[f]
  if u and u > 0 then
    val[f], blk[f], dirty[f] = fast[f] + u * PT[pr], nil, true
  end
end
-- Most writes in a batch are the same TAT (now + T for every subject whose
-- TAT had passed), so each distinct value is encoded once.
f0 = 0
for h = 1, nh do
  local x = 6 * h
  local w, nw, first = {}, 0, hs[x - 1]
  for i = first, first + hs[x] - 1 do
    f0 = f0 + 1
    if dirty[f0] then
      local n = val[f0]
      local e = encoded[n]
      if not e then
        e = enc(n)
        encoded[n] = e
      end
      w[nw + 1], w[nw + 2] = ARGV[i], e
      nw = nw + 2
    end
  end
  if nw > 0 then put(h, w, nw) end
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

var blockSource = stateCodec + `
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
    local gen = math.floor(now / (GEN * g))
    local base = KEYS[#KEYS] .. ':' .. ARGV[b + 3] .. ':'
    local h = base .. format('%d', gen)
    local old = redis.call('HGET', h, f)
    if not old and now - gen * GEN * g < g then
      old = redis.call('HGET', base .. format('%d', gen - 1), f)
    end
    local tat = now
    if old and (#old == 7 or #old == 15) then
      tat = math.max(tat, dec(old, #old - 7))
    end
    redis.call('HSET', h, f, 'b' .. enc(ends) .. enc(tat))
    redis.call('PEXPIREAT', h, format('%d', math.ceil(((gen + 1) * GEN + 2) * g / 1000)))
    out[#out + 1] = 1
    out[#out + 1] = d * 1000
  end
end
return out
`

// failScript records one failure of a subject with GCRA and starts the
// block when the failure uses up the allowance: with Sensitive 3 per 5
// minutes, the third failure in a burst blocks, as does any failure that
// leaves no room for another one.
//
// KEYS: the failure key, the block key. ARGV: T and tau (µs), the block
// (ms), the pub/sub channel.
//
// Reply: {1, block µs left} when a block runs (started now or before),
// {0, 0} otherwise.
var failScript = redis.NewScript(`
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local e = tonumber(redis.call('GET', KEYS[2]) or '0') or 0
if e > now then
  return {1, e - now}
end
local T, tau, block = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
if tat < now then tat = now end
tat = tat + T
if tat - now > tau then
  redis.call('DEL', KEYS[1])
  local ends = now + block * 1000
  redis.call('SET', KEYS[2], string.format('%.0f', ends), 'PX', string.format('%.0f', block))
  redis.call('PUBLISH', ARGV[4], KEYS[2] .. ' ' .. string.format('%.0f', block))
  return {1, block * 1000}
end
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
return {0, 0}
`)
