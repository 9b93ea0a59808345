/**
 * The Lua scripts of `RedisHistory`, run atomically by Redis (EVALSHA, EVAL on NOSCRIPT).
 *
 * Keys of a topic T (prefix P; the braces keep them in one Redis Cluster slot):
 *   P{T}:s  the stream; entry ID `0-<seq>`, fields d (JSON), t (ms), p (producer), q (its
 *           number), e (the epoch, so a reader notices a lineage change in the entries themselves)
 *   P{T}:m  a hash: e = epoch, n = last seq, and per producer id its last number (dedupe)
 *
 * The epoch is regenerated only when the meta hash is missing (the data was lost): then the
 * seq restarts after whatever the stream still holds. A stream lost while its meta survived
 * keeps the epoch and the seq (the history just starts later: readers see "truncated").
 */
import { createHash } from "node:crypto";

/** Drops entries older than the age limit (at most 256 per call; the rest at later calls). */
const TRIM_AGE = `
local function trim_age(stream, now, max_age)
  if max_age <= 0 then return end
  local old = redis.call('XRANGE', stream, '-', '+', 'COUNT', 256)
  local cut = nil
  for _, e in ipairs(old) do
    local f = e[2]
    local t = 0
    for i = 1, #f, 2 do if f[i] == 't' then t = tonumber(f[i + 1]) end end
    if t >= now - max_age then break end
    cut = e[1]
  end
  if cut then
    local seq = tonumber(string.match(cut, '%-(%d+)$'))
    redis.call('XTRIM', stream, 'MINID', '0-' .. (seq + 1))
  end
end
local function meta(stream, m, new_epoch)
  local em = redis.call('HMGET', m, 'e', 'n')
  if em[1] then return em[1], tonumber(em[2]) end
  local n = 0
  local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)
  if #last > 0 then n = tonumber(string.match(last[1][1], '%-(%d+)$')) end
  redis.call('DEL', m)
  redis.call('HSET', m, 'e', new_epoch, 'n', n)
  return new_epoch, n
end
`;

/**
 * APPEND a batch, atomically (a batch is stored whole or not at all, in order).
 * KEYS: stream and meta of each topic of the batch, in pairs.
 * ARGV: new epoch, max count, now, max age, producer, idle expiry (ms, 0 = none), then per
 * message: its topic's pair index (1-based), its producer number, its data.
 * Returns epoch, seq per message. A producer number already stored for that topic (the batch
 * is a retry after a lost reply) appends nothing: its seq is looked up among the topic's last
 * 1000 entries (0 if it is not there any more).
 */
export const APPEND = `${TRIM_AGE}
local producer = ARGV[5]
local now, max_age, expiry = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
local state = {}
local out = {}
for i = 7, #ARGV, 3 do
  local k = tonumber(ARGV[i])
  local s, m = KEYS[2 * k - 1], KEYS[2 * k]
  local st = state[k]
  if not st then
    local e, n = meta(s, m, ARGV[1])
    st = { e = e, n = n, seen = tonumber(redis.call('HGET', m, 'p:' .. producer) or '0') }
    state[k] = st
  end
  local number = tonumber(ARGV[i + 1])
  if number <= st.seen then
    local found = 0
    local recent = redis.call('XREVRANGE', s, '+', '-', 'COUNT', 1000)
    for _, e in ipairs(recent) do
      local f = e[2]
      local p, q
      for j = 1, #f, 2 do
        if f[j] == 'p' then p = f[j + 1] elseif f[j] == 'q' then q = tonumber(f[j + 1]) end
      end
      if p == producer and q == number then found = tonumber(string.match(e[1], '%-(%d+)$')) break end
    end
    out[#out + 1] = st.e
    out[#out + 1] = found
  else
    st.n = st.n + 1
    st.seen = number
    redis.call('XADD', s, 'MAXLEN', '~', ARGV[2], '0-' .. st.n, 'd', ARGV[i + 2], 't', ARGV[3], 'p', producer, 'q', number, 'e', st.e)
    out[#out + 1] = st.e
    out[#out + 1] = st.n
  end
end
for k, st in pairs(state) do
  local s, m = KEYS[2 * k - 1], KEYS[2 * k]
  redis.call('HSET', m, 'n', st.n, 'p:' .. producer, st.seen)
  if expiry > 0 then
    redis.call('PEXPIRE', m, expiry)
    redis.call('PEXPIRE', s, expiry)
  end
  trim_age(s, now, max_age)
end
return out
`;

/**
 * READ. KEYS: stream, meta. ARGV: new epoch, now, max age, mode ("after" | "last"), n, limit.
 * Returns { epoch, first, last, id1, t1, d1, id2, t2, d2, … }.
 */
export const READ = `${TRIM_AGE}
local epoch, n = meta(KEYS[1], KEYS[2], ARGV[1])
trim_age(KEYS[1], tonumber(ARGV[2]), tonumber(ARGV[3]))
local first = n + 1
local head = redis.call('XRANGE', KEYS[1], '-', '+', 'COUNT', 1)
if #head > 0 then first = tonumber(string.match(head[1][1], '%-(%d+)$')) end
local after = tonumber(ARGV[5])
if ARGV[4] == 'last' then after = math.max(0, n - after) end
local out = { epoch, first, n }
local limit = tonumber(ARGV[6])
if limit > 0 and after < n then
  local entries = redis.call('XRANGE', KEYS[1], '(0-' .. after, '+', 'COUNT', limit)
  for _, e in ipairs(entries) do
    local f = e[2]
    local t, d = '0', ''
    for i = 1, #f, 2 do
      if f[i] == 't' then t = f[i + 1] elseif f[i] == 'd' then d = f[i + 1] end
    end
    out[#out + 1] = string.match(e[1], '%-(%d+)$')
    out[#out + 1] = t
    out[#out + 1] = d
  end
end
return out
`;

/**
 * NEW EPOCH if the epoch is still `old`. KEYS: meta. ARGV: old, new. Returns the epoch now.
 * Run when a reader finds the history behind what it had already read (Redis restarted from
 * a persistence file older than what it had acknowledged): the seqs after it would be reused,
 * so the lineage must change for subscribers to be told.
 */
export const BUMP_EPOCH = `
local e = redis.call('HGET', KEYS[1], 'e')
if e == ARGV[1] then
  redis.call('HSET', KEYS[1], 'e', ARGV[2])
  return ARGV[2]
end
return e
`;

/** The SHA1 Redis names a script by (EVALSHA). */
export function scriptSha(script: string): string {
  return createHash("sha1").update(script).digest("hex");
}
