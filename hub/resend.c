// SPDX-License-Identifier: MIT
/* The add-if-absent re-send of in-doubt events, one script call per stream batch. */
#include "resend.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <uv.h>

#include "entry_lua.h"

#define RESEND_SCAN_LIMIT "100000"

/*
 * KEYS[1] stream; ARGV[1] lowest id to look at; ARGV[2] scan limit; then id, env pairs.
 * An event is added unless an entry of the tail holds one of the same source and id.
 * Only the tail's entries that hold one of the ids have their envelopes read for the
 * source (entry_lua.h); the others cost what reading their `id` or `ids` costs. An
 * envelope that does not give its source (the hub writes none such) is added.
 */
static const char resend_script[] =
    ENTRY_EVENTS_LUA
    "local wanted, seen = {}, {}\n"
    "for i = 3, #ARGV, 2 do wanted[ARGV[i]] = true end\n"
    "local function holds_wanted(f)\n"
    "  if type(f) ~= 'table' then return false end\n"
    "  for i = 1, #f, 2 do\n"
    "    if f[i] == 'id' then return wanted[f[i + 1]] == true end\n"
    "    if f[i] == 'ids' then\n"
    "      local ok, ids = pcall(cmsgpack.unpack, f[i + 1])\n"
    "      if not ok or type(ids) ~= 'table' then return true end\n"
    "      for _, id in ipairs(ids) do\n"
    "        if wanted[id] then return true end\n"
    "      end\n"
    "      return false\n"
    "    end\n"
    "  end\n"
    "  return true\n"
    "end\n"
    "local function see(source, id) seen[source .. '\\0' .. id] = true end\n"
    "local tail = redis.call('XREVRANGE', KEYS[1], '+', ARGV[1], 'COUNT', ARGV[2])\n"
    "for _, e in ipairs(tail) do\n"
    "  if holds_wanted(e[2]) then entry_events(e[2], see) end\n"
    "end\n"
    "local added = 0\n"
    "for i = 3, #ARGV, 2 do\n"
    "  local key = '\\0' .. ARGV[i]\n"
    "  entry_events({'id', ARGV[i], 'env', ARGV[i + 1]}, function(source, id)\n"
    "    key = source .. '\\0' .. id\n"
    "  end)\n"
    "  if not seen[key] then\n"
    "    redis.call('XADD', KEYS[1], '*', 'id', ARGV[i], 'env', ARGV[i + 1])\n"
    "    seen[key] = true\n"
    "    added = added + 1\n"
    "  end\n"
    "end\n"
    "return added\n";

void resend_take_batch(struct out_list *src, struct out_list *batch)
{
    struct out_list others = {0};
    struct out_item *it;
    const char *key;

    if (!src->head)
        return;
    key = src->head->key;
    while ((it = out_list_pop(src))) {
        if (batch->len < RESEND_BATCH_MAX && strcmp(it->key, key) == 0)
            out_list_push(batch, it);
        else
            out_list_push(&others, it);
    }
    *src = others;
}

int resend_send(redisAsyncContext *ac, struct out_list *batch, redisCallbackFn *cb)
{
    const char **argv;
    size_t *argvlen;
    struct out_item *it;
    uint64_t after_ms = batch->head->after_ms;
    char start[32];
    int argc = 0, r = 0;

    for (it = batch->head; it; it = it->next)
        if (it->after_ms < after_ms)
            after_ms = it->after_ms;
    /* A second of margin for the clocks of different streams. */
    snprintf(start, sizeof(start), "%llu-0",
             (unsigned long long)(after_ms > 1000 ? after_ms - 1000 : 0));
    argv = malloc(sizeof(*argv) * (6 + 2 * batch->len));
    argvlen = malloc(sizeof(*argvlen) * (6 + 2 * batch->len));
    if (!argv || !argvlen) {
        r = -ENOMEM;
        goto out;
    }
    argv[argc] = "EVAL", argvlen[argc++] = 4;
    argv[argc] = resend_script, argvlen[argc++] = sizeof(resend_script) - 1;
    argv[argc] = "1", argvlen[argc++] = 1;
    argv[argc] = batch->head->key, argvlen[argc++] = strlen(batch->head->key);
    argv[argc] = start, argvlen[argc++] = strlen(start);
    argv[argc] = RESEND_SCAN_LIMIT, argvlen[argc++] = sizeof(RESEND_SCAN_LIMIT) - 1;
    for (it = batch->head; it; it = it->next) {
        argv[argc] = it->id, argvlen[argc++] = strlen(it->id);
        argv[argc] = it->env, argvlen[argc++] = it->env_len;
    }
    for (it = batch->head; it; it = it->next)
        it->resend = true;
    batch->head->batch = (uint32_t)batch->len;
    batch->head->sent_ns = uv_hrtime();
    if (redisAsyncCommandArgv(ac, cb, batch->head, argc, argv, argvlen) != REDIS_OK)
        r = -ENOTCONN;
out:
    free(argv);
    free(argvlen);
    return r;
}
