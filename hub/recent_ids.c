// SPDX-License-Identifier: MIT
/*
 * SCAN ... TYPE stream, then one script call per key, all pipelined on the caller's
 * link. The load counts its outstanding replies and ends when the scan cursor is
 * back at 0 and nothing is outstanding; a lost link fails every reply, which ends
 * it too, with an error.
 *
 * The script reads the stream's tail page by page inside Redis and returns only the
 * `id` or `ids` field of each entry: an entry of several events carries all their
 * envelopes, and a plain XREVRANGE of as many entries as events wanted would bring a
 * reply up to 64 times the size the preload needs into the hub's memory.
 */
#include "recent_ids.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <msgpack.h>

#include "envelope.h"

struct recent_ids {
    recent_ids_id_cb on_id;
    recent_ids_done_cb on_done;
    void *data;
    char pattern[192];
    char count[16]; /* events wanted per stream, decimal */
    int outstanding;
    bool failed, scan_done;
    size_t ids, streams;
};

/*
 * KEYS[1] stream; ARGV[1] events wanted. From the newest entry back, until that many
 * events or the stream's start: each entry's `id` or `ids` field, as name, value.
 */
static const char tail_ids_script[] =
    "local want = tonumber(ARGV[1])\n"
    "local out, n, last = {}, 0, '+'\n"
    "while n < want do\n"
    "  local page = redis.call('XREVRANGE', KEYS[1], last, '-', 'COUNT', 100)\n"
    "  for _, e in ipairs(page) do\n"
    "    local f, k = e[2], 1\n"
    "    if type(f) == 'table' then\n"
    "      for i = 1, #f, 2 do\n"
    "        if f[i] == 'n' then k = tonumber(f[i + 1]) or 1 end\n"
    "        if f[i] == 'id' or f[i] == 'ids' then\n"
    "          out[#out + 1] = f[i]\n"
    "          out[#out + 1] = f[i + 1]\n"
    "          break\n"
    "        end\n"
    "      end\n"
    "    end\n"
    "    n = n + k\n"
    "    last = '(' .. e[1]\n"
    "    if n >= want then break end\n"
    "  end\n"
    "  if #page < 100 then break end\n"
    "end\n"
    "return out\n";

static void finish_if_done(struct recent_ids *load)
{
    if (load->outstanding > 0 || !(load->scan_done || load->failed))
        return;
    load->on_done(load->data, load->failed ? -ECONNRESET : 0, load->ids, load->streams);
    free(load);
}

/* The ids of an entry of several events: `ids`, a msgpack array of strings. */
static void take_ids(struct recent_ids *load, const char *buf, size_t len)
{
    msgpack_unpacked u;
    size_t off = 0;

    /* Anything may have written the entry: no forged array size may make msgpack-c
     * allocate (an array of strings is one deep). */
    if (envelope_check_bounds(buf, len, 1) < 0)
        return;
    msgpack_unpacked_init(&u);
    if (msgpack_unpack_next(&u, buf, len, &off) == MSGPACK_UNPACK_SUCCESS &&
        u.data.type == MSGPACK_OBJECT_ARRAY) {
        for (uint32_t i = 0; i < u.data.via.array.size; i++) {
            const msgpack_object *o = &u.data.via.array.ptr[i];
            if (o->type != MSGPACK_OBJECT_STR)
                continue;
            load->on_id(load->data, o->via.str.ptr, o->via.str.size);
            load->ids++;
        }
    }
    msgpack_unpacked_destroy(&u);
}

static void on_range(redisAsyncContext *ac, void *r, void *privdata)
{
    struct recent_ids *load = privdata;
    redisReply *reply = r;

    load->outstanding--;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        load->failed = true;
    } else if (reply->type == REDIS_REPLY_ARRAY) {
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *name = reply->element[i], *value = reply->element[i + 1];
            if (name->type != REDIS_REPLY_STRING || value->type != REDIS_REPLY_STRING)
                continue;
            if (name->len == 2 && memcmp(name->str, "id", 2) == 0) {
                load->on_id(load->data, value->str, value->len);
                load->ids++;
            } else if (name->len == 3 && memcmp(name->str, "ids", 3) == 0) {
                take_ids(load, value->str, value->len);
            }
        }
    }
    finish_if_done(load);
}

static int scan_next(redisAsyncContext *ac, struct recent_ids *load, const char *cursor);

static void on_scan(redisAsyncContext *ac, void *r, void *privdata)
{
    struct recent_ids *load = privdata;
    redisReply *reply = r;
    const redisReply *keys;

    load->outstanding--;
    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        load->failed = true;
        finish_if_done(load);
        return;
    }
    keys = reply->element[1];
    for (size_t i = 0; i < keys->elements && !load->failed; i++) {
        const redisReply *key = keys->element[i];
        if (key->type != REDIS_REPLY_STRING)
            continue;
        if (redisAsyncCommand(ac, on_range, load, "EVAL %s 1 %b %s", tail_ids_script, key->str,
                              key->len, load->count) != REDIS_OK) {
            load->failed = true;
            break;
        }
        load->outstanding++;
        load->streams++;
    }
    if (!load->failed && strcmp(reply->element[0]->str, "0") != 0) {
        if (scan_next(ac, load, reply->element[0]->str) < 0)
            load->failed = true;
    } else {
        load->scan_done = true;
    }
    finish_if_done(load);
}

static int scan_next(redisAsyncContext *ac, struct recent_ids *load, const char *cursor)
{
    if (redisAsyncCommand(ac, on_scan, load, "SCAN %s MATCH %s COUNT 1000 TYPE stream", cursor,
                          load->pattern) != REDIS_OK)
        return -ECONNRESET;
    load->outstanding++;
    return 0;
}

int recent_ids_load(redisAsyncContext *ac, const char *pattern, unsigned per_stream,
                    recent_ids_id_cb on_id, recent_ids_done_cb on_done, void *data)
{
    struct recent_ids *load = calloc(1, sizeof(*load));

    if (!load)
        return -ENOMEM;
    load->on_id = on_id;
    load->on_done = on_done;
    load->data = data;
    snprintf(load->pattern, sizeof(load->pattern), "%s", pattern);
    snprintf(load->count, sizeof(load->count), "%u", per_stream);
    if (scan_next(ac, load, "0") < 0) {
        load->failed = true;
        finish_if_done(load);
    }
    return 0;
}
