"""The Lua scripts RedisState runs: each decision is one atomic script on Redis's own clock.

Times inside the scripts come from ``redis.call('TIME')`` (seconds as a double, microsecond
resolution): processes' monotonic clocks are not comparable, Redis's clock is the one they
share. Numbers go back to Python as strings (``%.17g``), because Redis truncates Lua numbers
in replies to integers. A value under one of our keys that is not ours (a string that is not a
number, a hash with a foreign state, a key of another type) is deleted and reported as
``bad``, so the caller answers from local state once and the next call starts clean.
"""

from __future__ import annotations

__all__ = ["BREAKER", "GCRA"]

GCRA = """
local key = KEYS[1]
local interval = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local max_wait = tonumber(ARGV[3])
local want = tonumber(ARGV[4])
local tol = 1e-9
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local ok, raw = pcall(redis.call, 'GET', key)
local tat = nil
if not ok then
  redis.call('DEL', key)
  return {-1, 0, '0', 'not a string'}
end
if raw then
  tat = tonumber(raw)
  if tat == nil or tat ~= tat or tat == math.huge or tat == -math.huge then
    redis.call('DEL', key)
    return {-1, 0, '0', 'not a number'}
  end
end
if tat == nil or tat < now then tat = now end
local allowance = (burst - 1) * interval
local wait = tat - allowance - now
if wait > max_wait + tol then
  return {0, 0, string.format('%.17g', wait)}
end
local granted = 1
if want > 1 and wait <= tol then
  granted = math.min(want, math.floor((allowance + now - tat + tol) / interval) + 1)
end
tat = tat + granted * interval
redis.call('SET', key, string.format('%.17g', tat), 'PX', math.ceil((tat - now) * 1000) + 1)
return {1, granted, string.format('%.17g', wait)}
"""
"""GCRA, as in ``_memory_rates.py``, taking up to ``want`` free permits at once (a lease).

ARGV: interval, burst, max_wait, want. Reply: ``{admitted, granted, wait}`` with admitted 1, 0
(refused: ``wait`` is the exact retry_after) or -1 (bad value, deleted; a fourth item
says why). A lease takes only
permits free now; a reservation within ``max_wait`` takes one. The key expires when its
theoretical arrival time is in the past (an absent key and a past one mean the same).
"""

BREAKER = """
local key = KEYS[1]
local op = ARGV[1]
local ratio = tonumber(ARGV[2])
local minimum = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
local consecutive = tonumber(ARGV[5])
local brk = tonumber(ARGV[6])
local probes = tonumber(ARGV[7])
local oks = tonumber(ARGV[12])
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
-- Only the fields a decision needs are read (HMGET; a missing field reads as false).
local f = {}
local function load(...)
  local names = {...}
  local values = redis.call('HMGET', key, unpack(names))
  for i = 1, #names do f[names[i]] = values[i] end
end
if not pcall(load, 's', 'u', 'p', 'k', 'x', 'q') then
  redis.call('DEL', key)
  return {'bad', 'not a hash'}
end
local state = f['s'] or 'closed'
local known = {closed = true, open = true, half_open = true, isolated = true}
if not known[state] then
  redis.call('DEL', key)
  return {'bad', 'unknown state'}
end
local bad = false
local function num(name)
  local v = f[name]
  if not v then return 0 end
  local n = tonumber(v)
  if n == nil then bad = true; return 0 end
  return n
end
local untl, taken, good, slots_at, streak = num('u'), num('p'), num('k'), num('x'), num('q')
if bad then
  redis.call('DEL', key)
  return {'bad', 'not a number'}
end
local prev, reason = '', ''
local allowed, probe = 0, 0
local function go(new, why)
  prev = state; state = new; reason = why
  redis.call('DEL', key)
  if new == 'open' then
    untl = now + brk
    redis.call('HSET', key, 's', 'open', 'u', string.format('%.17g', untl))
    redis.call('PEXPIRE', key, math.ceil(2 * brk * 1000))
  elseif new == 'half_open' then
    local slots = string.format('%.17g', now + brk)
    redis.call('HSET', key, 's', 'half_open', 'p', 1, 'k', 0, 'x', slots)
    redis.call('PEXPIRE', key, math.ceil(2 * brk * 1000))
  elseif new == 'isolated' then
    redis.call('HSET', key, 's', 'isolated')
  end
end
if op == 'admit' then
  if state == 'closed' then
    allowed = 1
  elseif state == 'open' then
    if now >= untl then go('half_open', 'break_elapsed'); allowed = 1; probe = 1 end
  elseif state == 'half_open' then
    if now >= slots_at then
      -- the round is over (its probes were lost, or are late): a new round, same state
      taken = 0
      slots_at = now + brk
      redis.call('HSET', key, 'p', 0, 'k', 0, 'x', string.format('%.17g', slots_at))
      redis.call('PEXPIRE', key, math.ceil(2 * brk * 1000))
    end
    if taken < probes then
      redis.call('HINCRBY', key, 'p', 1); allowed = 1; probe = 1
    end
  end
elseif op == 'ok' or op == 'fail' then
  local failed = op == 'fail'
  if ARGV[10] == '1' then
    if state == 'half_open' then
      if failed then
        go('open', 'probe_failed')
      elseif good + 1 >= probes then
        go('closed', 'probes_succeeded')
      else
        redis.call('HINCRBY', key, 'k', 1)
      end
    end
  elseif state == 'closed' then
    local idx = math.floor(now * 10 / window)
    local slot = idx % 10
    if failed and ratio > 0 then  -- the ratio needs every bucket, read before any change
      load('e0', 'e1', 'e2', 'e3', 'e4', 'e5', 'e6', 'e7', 'e8', 'e9',
        'n0', 'n1', 'n2', 'n3', 'n4', 'n5', 'n6', 'n7', 'n8', 'n9',
        'f0', 'f1', 'f2', 'f3', 'f4', 'f5', 'f6', 'f7', 'f8', 'f9')
    else
      load('e' .. slot)
    end
    if num('e' .. slot) ~= idx then
      redis.call('HSET', key, 'e' .. slot, idx, 'n' .. slot, 0, 'f' .. slot, 0)
    end
    -- oks: successes the caller held back (batched), counted before this outcome
    redis.call('HINCRBY', key, 'n' .. slot, 1 + oks)
    local run = streak
    if oks > 0 or not failed then run = 0 end
    if failed then
      redis.call('HINCRBY', key, 'f' .. slot, 1)
      run = run + 1
    end
    if run ~= streak then redis.call('HSET', key, 'q', run) end
    streak = run
    redis.call('PEXPIRE', key, math.ceil(window * 1000) + 1000)
    if failed then
      if consecutive > 0 and streak >= consecutive then
        go('open', 'consecutive')
      elseif ratio > 0 then
        local calls, fails = 1 + oks, 1
        for i = 0, 9 do
          local e = num('e' .. i)
          if i ~= slot and e > idx - 10 then
            calls = calls + num('n' .. i); fails = fails + num('f' .. i)
          elseif i == slot and e == idx then
            calls = calls + num('n' .. i); fails = fails + num('f' .. i)
          end
        end
        if calls >= minimum and fails / calls >= ratio then
          go('open', 'failure_ratio')
        end
      end
    end
  end
elseif op == 'release' then
  if state == 'half_open' and taken > 0 then redis.call('HINCRBY', key, 'p', -1) end
elseif op == 'isolate' then
  if state ~= 'isolated' then go('isolated', 'isolated') end
elseif op == 'reset' then
  if state ~= 'closed' then go('closed', 'reset') else redis.call('DEL', key) end
end
local left = 0
if state == 'open' then left = math.max(untl - now, 0) end
local remaining = string.format('%.17g', left)
if reason ~= '' then
  redis.call('PUBLISH', ARGV[8], ARGV[9] .. '\\n' .. prev .. '\\n' .. state .. '\\n' ..
    reason .. '\\n' .. remaining .. '\\n' .. ARGV[11])
end
return {state, remaining, allowed, probe, prev, reason}
"""
"""The breaker state machine of ``BreakerPolicy`` on one hash per key, atomic per call.

The semantics are those of ``_memory_breakers.py`` (its docstring is the reference), on
Redis's clock. ARGV: op (admit, ok, fail, release, isolate, reset, read), failure_ratio (0
for none), minimum_calls, window, consecutive_failures (0 for none), break_duration,
half_open_probes, channel, origin, probe ('1'/'0'), the caller's key, successes held back
by the caller to count before this outcome. Fields: ``s`` state,
``u`` open until, ``p`` probes taken, ``k`` probes succeeded, ``x`` end of the probe round,
``q`` failures in a row, ``e<i>``/``n<i>``/``f<i>`` ten buckets of ``window / 10`` seconds
(epoch, calls, failures). Reply: ``{state, open_remaining, allowed, probe, previous,
reason}`` (reason '' for no change) or ``{'bad', detail}``. Every change is published as
``origin, previous, state, reason, remaining, key`` (newline-separated; the key last, so it
may contain anything).
"""
