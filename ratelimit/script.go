package ratelimit

import "github.com/redis/go-redis/v9"

// decideScript makes a batch of decisions, in order, on Redis's clock (one
// TIME for the batch). Each decision checks all its rules together with GCRA
// and is all or nothing: no rule consumes budget unless every rule admits.
// It reads every key of the batch with one MGET and writes each changed TAT
// once at the end, so a key shared by the batch (a command's global ceiling)
// costs one write per batch, not per decision.
//
// KEYS: three per rule of each decision, in order: the rule's theoretical
// arrival time (TAT, µs), its block (value: end, µs) and its violation count.
// On Redis Cluster all keys of one call must share a slot, so the caller
// sends one subject per call there.
//
// ARGV: number of decisions, pub/sub channel for new blocks, number of rule
// profiles p, then five values per profile: emission T (µs), tolerance tau
// (µs), block base (ms; 0 for a rule that never blocks), block max (ms),
// violation memory (ms); then per decision its number of rules n followed by
// the profile (1-based) of each rule.
//
// Reply: {now (µs)} then per decision {allowed, rule (1-based; 0 if
// allowed), retry (µs), notify, hot_1 .. hot_n}, where hot_i is how long from
// now rule i is known to refuse whatever other nodes do (its TAT only grows),
// or 0. notify is 0 only for a refusal by a block that was already running.
var decideScript = redis.NewScript(scriptSource)

const scriptSource = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local nd = tonumber(ARGV[1])
local np = tonumber(ARGV[3])
local P = {}
for i = 0, np - 1 do
  local b = 4 + 5 * i
  P[i + 1] = {tonumber(ARGV[b]), tonumber(ARGV[b + 1]), tonumber(ARGV[b + 2]), tonumber(ARGV[b + 3]), ARGV[b + 4]}
end
local names, seen = {}, {}
for i = 1, #KEYS do
  if i % 3 ~= 0 and not seen[KEYS[i]] then
    seen[KEYS[i]] = true
    names[#names + 1] = KEYS[i]
  end
end
local raw = redis.call('MGET', unpack(names))
local val = {}
for i = 1, #names do
  if raw[i] then val[names[i]] = tonumber(raw[i]) end
end
local dirty, order = {}, {}
local out = {now}
local o = 1
local prof, tats, denied, hots = {}, {}, {}, {}
local k = 0
local a = 4 + 5 * np
for _ = 1, nd do
  local n = tonumber(ARGV[a])
  for i = 1, n do prof[i] = P[tonumber(ARGV[a + i])] end
  local blocked = 0
  for i = 1, n do
    if prof[i][3] > 0 and blocked == 0 then
      local e = val[KEYS[k + 3 * i - 1]]
      if e and e > now then
        blocked = i
        out[o + 1] = 0; out[o + 2] = i; out[o + 3] = e - now; out[o + 4] = 0
        o = o + 4
      end
    end
  end
  if blocked > 0 then
    for i = 1, n do out[o + i] = 0 end
    o = o + n
  else
    local ndenied = 0
    for i = 1, n do
      local tat = val[KEYS[k + 3 * i - 2]] or 0
      if tat < now then tat = now end
      denied[i] = false
      if tat - now > prof[i][2] then
        ndenied = ndenied + 1
        denied[i] = tat - now - prof[i][2]
      end
      tats[i] = tat + prof[i][1]
    end
    if ndenied == 0 then
      out[o + 1] = 1; out[o + 2] = 0; out[o + 3] = 0; out[o + 4] = 0
      o = o + 4
      for i = 1, n do
        local key = KEYS[k + 3 * i - 2]
        val[key] = tats[i]
        if not dirty[key] then
          dirty[key] = true
          order[#order + 1] = key
        end
        local hot = 0
        if prof[i][3] == 0 then
          hot = tats[i] - prof[i][2] - now
          if hot < 0 then hot = 0 end
        end
        o = o + 1
        out[o] = hot
      end
    else
      local rule, retry, newblock = 0, 0, false
      for i = 1, n do
        local r = denied[i]
        hots[i] = 0
        if r then
          local base = prof[i][3]
          if base > 0 then
            local vk = KEYS[k + 3 * i]
            local v = redis.call('INCR', vk)
            redis.call('PEXPIRE', vk, prof[i][5])
            local d = base * math.pow(2, v - 1)
            if d > prof[i][4] then d = prof[i][4] end
            local ds = string.format('%.0f', d)
            local bk = KEYS[k + 3 * i - 1]
            val[bk] = now + d * 1000
            redis.call('SET', bk, string.format('%.0f', val[bk]), 'PX', ds)
            redis.call('PUBLISH', ARGV[2], bk .. ' ' .. ds)
            if not newblock then
              rule, retry, newblock = i, d * 1000, true
            end
          else
            hots[i] = r
            if not newblock and r > retry then
              rule, retry = i, r
            end
          end
        end
      end
      out[o + 1] = 0; out[o + 2] = rule; out[o + 3] = retry; out[o + 4] = 1
      o = o + 4
      for i = 1, n do out[o + i] = hots[i] end
      o = o + n
    end
  end
  k = k + 3 * n
  a = a + 1 + n
end
for _, key in ipairs(order) do
  local tat = val[key]
  redis.call('SET', key, string.format('%.0f', tat), 'PX', string.format('%.0f', math.ceil((tat - now) / 1000)))
end
return out
`
