-- SPDX-License-Identifier: MIT
-- The events of a stream, counted for a benchmark that polls (tests/bench/ingest,
-- bench_storage). An entry carries one event, or `n` of them (schemas/envelope.md), so
-- XLEN counts entries, not events. Each call reads only the entries after the last
-- call's cursor, up to a bound, and adds their events to a total; cursor and total are
-- kept in two keys beside the stream (the benchmarks FLUSHALL before each run).
--
-- KEYS[1]: the stream. ARGV[1]: "" to count every event written, or a group's name to
-- count what that group has acknowledged: the entries it was delivered up to its
-- oldest pending one (the storage worker acknowledges after its COMMIT).
local cursor_key, total_key = KEYS[1] .. ':bench-cursor', KEYS[1] .. ':bench-total'
local cursor = redis.call('GET', cursor_key) or '0-0'
local total = tonumber(redis.call('GET', total_key) or '0')
local bound = '+'

if ARGV[1] ~= '' then
  local groups = redis.pcall('XINFO', 'GROUPS', KEYS[1])
  if type(groups) ~= 'table' or groups.err then
    return total
  end
  bound = nil
  for _, g in ipairs(groups) do
    local t = {}
    for i = 1, #g, 2 do t[g[i]] = g[i + 1] end
    if t['name'] == ARGV[1] then bound = t['last-delivered-id'] end
  end
  if not bound then
    return total
  end
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
  if pending[1] > 0 then
    bound = '(' .. pending[2]
  end
end

while true do
  local entries = redis.call('XRANGE', KEYS[1], '(' .. cursor, bound, 'COUNT', 1000)
  for _, e in ipairs(entries) do
    local f, n = e[2], 1
    for i = 1, #f, 2 do
      if f[i] == 'n' then n = tonumber(f[i + 1]) break end
    end
    total = total + n
    cursor = e[1]
  end
  if #entries < 1000 then break end
end
redis.call('SET', cursor_key, cursor)
redis.call('SET', total_key, total)
return total
