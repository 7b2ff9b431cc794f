// SPDX-License-Identifier: MIT
/*
 * SCAN ... TYPE stream, then one script call per key, all pipelined on the caller's
 * link. The load counts its outstanding replies and ends when the scan cursor is
 * back at 0 and nothing is outstanding; a lost link fails every reply, which ends
 * it too, with an error.
 *
 * The script reads the stream's tail page by page inside Redis and returns only the
 * source and id of each event: a plain XREVRANGE of as many entries as events wanted
 * would bring a reply up to 64 times the size the preload needs into the hub's memory
 * (an entry of several events carries all their envelopes). Each source is sent once,
 * with the ids of its events, so that the reply is about as large as the ids alone.
 * How it finds the source inside the envelopes: entry_lua.h.
 */
#include "recent_ids.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "entry_lua.h"

struct recent_ids {
    recent_ids_event_cb on_event;
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
 * events or the stream's start, the source and id of each event of the entry; returned
 * per source: source, count, its ids.
 */
static const char tail_events_script[] =
    ENTRY_EVENTS_LUA
    "local by_source, sources = {}, {}\n"
    "local function take(source, id)\n"
    "  local ids = by_source[source]\n"
    "  if not ids then\n"
    "    ids = {}\n"
    "    by_source[source] = ids\n"
    "    sources[#sources + 1] = source\n"
    "  end\n"
    "  ids[#ids + 1] = id\n"
    "end\n"
    "local want = tonumber(ARGV[1])\n"
    "local n, last = 0, '+'\n"
    "while n < want do\n"
    "  local page = redis.call('XREVRANGE', KEYS[1], last, '-', 'COUNT', 100)\n"
    "  for _, e in ipairs(page) do\n"
    "    n = n + entry_events(e[2], take)\n"
    "    last = '(' .. e[1]\n"
    "    if n >= want then break end\n"
    "  end\n"
    "  if #page < 100 then break end\n"
    "end\n"
    "local out = {}\n"
    "for _, source in ipairs(sources) do\n"
    "  local ids = by_source[source]\n"
    "  out[#out + 1] = source\n"
    "  out[#out + 1] = #ids\n"
    "  for _, id in ipairs(ids) do out[#out + 1] = id end\n"
    "end\n"
    "return out\n";

static void finish_if_done(struct recent_ids *load)
{
    if (load->outstanding > 0 || !(load->scan_done || load->failed))
        return;
    load->on_done(load->data, load->failed ? -ECONNRESET : 0, load->ids, load->streams);
    free(load);
}

/*
 * The script's reply: for each source, the source, the count of its ids, then the ids. A
 * reply of any other shape ends the reading of that stream where it stops making sense.
 */
static void take_events(struct recent_ids *load, const redisReply *reply)
{
    size_t i = 0;

    while (i + 1 < reply->elements) {
        const redisReply *source = reply->element[i], *count = reply->element[i + 1];
        if (source->type != REDIS_REPLY_STRING || count->type != REDIS_REPLY_INTEGER ||
            count->integer < 0 || (unsigned long long)count->integer > reply->elements - i - 2)
            return;
        i += 2;
        for (size_t end = i + (size_t)count->integer; i < end; i++) {
            const redisReply *id = reply->element[i];
            if (id->type != REDIS_REPLY_STRING)
                continue;
            load->on_event(load->data, source->str, source->len, id->str, id->len);
            load->ids++;
        }
    }
}

static void on_range(redisAsyncContext *ac, void *r, void *privdata)
{
    struct recent_ids *load = privdata;
    redisReply *reply = r;

    load->outstanding--;
    if (!reply || reply->type == REDIS_REPLY_ERROR) {
        load->failed = true;
    } else if (reply->type == REDIS_REPLY_ARRAY) {
        take_events(load, reply);
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
        if (redisAsyncCommand(ac, on_range, load, "EVAL %s 1 %b %s", tail_events_script, key->str,
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
                    recent_ids_event_cb on_event, recent_ids_done_cb on_done, void *data)
{
    struct recent_ids *load = calloc(1, sizeof(*load));

    if (!load)
        return -ENOMEM;
    load->on_event = on_event;
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
