// SPDX-License-Identifier: MIT
/*
 * The Lua that reads the events of an event-stream entry inside Redis, shared by the
 * scripts of the start-up preload (recent_ids.c) and of the add-if-absent re-send
 * (resend.c), which both know an event by its envelope's source and id.
 *
 * entry_events(f, take) calls take(source, id) for each event of the entry whose fields
 * (XRANGE's name, value list) are f, and returns the entry's event count (`n`, or 1).
 * The source is inside the envelope: `env` (one map, or a msgpack stream of `n` maps)
 * is unpacked with Redis's cmsgpack, and every map with a string source and id is
 * taken. Anything may have written an entry: a field cmsgpack cannot read gives
 * nothing. (Finding the source after the envelope's fixed head instead, a second
 * reader of its bytes, was no faster: docs/configuration.md.)
 */
#ifndef RHEINHUB_ENTRY_LUA_H
#define RHEINHUB_ENTRY_LUA_H

#define ENTRY_EVENTS_LUA \
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
    "  local k, env = 1, nil\n" \
    "  if type(f) ~= 'table' then return k end\n" \
    "  for i = 1, #f, 2 do\n" \
    "    if f[i] == 'n' then k = tonumber(f[i + 1]) or 1\n" \
    "    elseif f[i] == 'env' then env = f[i + 1] end\n" \
    "  end\n" \
    "  if env then by_unpack(take, pcall(cmsgpack.unpack, env)) end\n" \
    "  return k\n" \
    "end\n"

#endif
