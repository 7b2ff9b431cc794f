// SPDX-License-Identifier: MIT
/*
 * The Lua that reads the events of an event-stream entry inside Redis, shared by the
 * scripts of the start-up preload (recent_ids.c) and of the add-if-absent re-send
 * (resend.c), which both know an event by its envelope's source and id.
 *
 * entry_events(f, take) calls take(source, id) for each event of the entry whose fields
 * (XRANGE's name, value list) are f, and returns the entry's event count (`n`, or 1).
 * The source is inside the envelope. The hub writes every envelope with the same head,
 * its keys in the order schemas/envelope.md lists (map header, specversion, id, source,
 * ...), so by_layout looks for that head with each of the entry's ids (`id`, or the
 * msgpack array `ids`), in order, and reads the source string after it. Unpacking all
 * of `env` with Redis's cmsgpack, data and all, cost Redis more CPU (measured in
 * docs/configuration.md); by_unpack does that only for an entry whose envelopes do not
 * start that way, and takes every map with a string source and id. Anything may have
 * written an entry: a field cmsgpack cannot read gives nothing.
 */
#ifndef RHEINHUB_ENTRY_LUA_H
#define RHEINHUB_ENTRY_LUA_H

#define ENTRY_EVENTS_LUA \
    "local HEAD = '\\138\\171specversion\\1631.0\\162id'\n" \
    "local function str_at(s, p)\n" \
    "  local b, n, q = s:byte(p), nil, nil\n" \
    "  if not b then return nil end\n" \
    "  if b >= 160 and b <= 191 then n, q = b - 160, p + 1\n" \
    "  elseif b == 217 and p + 1 <= #s then n, q = s:byte(p + 1), p + 2\n" \
    "  elseif b == 218 and p + 2 <= #s then n, q = s:byte(p + 1) * 256 + s:byte(p + 2), p + 3\n" \
    "  else return nil end\n" \
    "  if q + n - 1 > #s then return nil end\n" \
    "  return s:sub(q, q + n - 1), q + n\n" \
    "end\n" \
    "local function head_of(id)\n" \
    "  if type(id) ~= 'string' then return nil end\n" \
    "  if #id < 32 then return HEAD .. string.char(160 + #id) .. id end\n" \
    "  if #id < 256 then return HEAD .. '\\217' .. string.char(#id) .. id end\n" \
    "  return nil\n" \
    "end\n" \
    "local function by_layout(ids, env, take)\n" \
    "  local got, pos = {}, 1\n" \
    "  for _, id in ipairs(ids) do\n" \
    "    local head, s, e = head_of(id), nil, nil\n" \
    "    if head then s, e = env:find(head, pos, true) end\n" \
    "    if not s or env:sub(e + 1, e + 7) ~= '\\166source' then return false end\n" \
    "    local source, after = str_at(env, e + 8)\n" \
    "    if not source then return false end\n" \
    "    got[#got + 1] = source\n" \
    "    got[#got + 1] = id\n" \
    "    pos = after\n" \
    "  end\n" \
    "  for i = 1, #got, 2 do take(got[i], got[i + 1]) end\n" \
    "  return true\n" \
    "end\n" \
    "local function by_unpack(take, ok, ...)\n" \
    "  if not ok then return end\n" \
    "  local envs = {...}\n" \
    "  for j = 1, select('#', ...) do\n" \
    "    local m = envs[j]\n" \
    "    if type(m) == 'table' and type(m.source) == 'string' and type(m.id) == 'string' then\n" \
    "      take(m.source, m.id)\n" \
    "    end\n" \
    "  end\n" \
    "end\n" \
    "local function entry_events(f, take)\n" \
    "  local k, ids, env = 1, nil, nil\n" \
    "  if type(f) ~= 'table' then return k end\n" \
    "  for i = 1, #f, 2 do\n" \
    "    if f[i] == 'n' then k = tonumber(f[i + 1]) or 1\n" \
    "    elseif f[i] == 'id' then ids = {f[i + 1]}\n" \
    "    elseif f[i] == 'ids' then\n" \
    "      local ok, v = pcall(cmsgpack.unpack, f[i + 1])\n" \
    "      if ok and type(v) == 'table' then ids = v end\n" \
    "    elseif f[i] == 'env' then env = f[i + 1] end\n" \
    "  end\n" \
    "  if env and not (ids and by_layout(ids, env, take)) then\n" \
    "    by_unpack(take, pcall(cmsgpack.unpack, env))\n" \
    "  end\n" \
    "  return k\n" \
    "end\n"

#endif
