// SPDX-License-Identifier: MIT
/*
 * The worker's streams (worker_streams.h): the route key read every few seconds,
 * a changed route applied (streams kept keep their cursors, new ones start with
 * their own pending entries), and XGROUP CREATE where the group is missing.
 */
#include "worker_streams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "worker_internal.h"
#include "worker_link.h"
#include "worker_stop.h"

#define ROUTE_INTERVAL_MS 2000      /* route re-read while one is followed */
#define ROUTE_WAIT_INTERVAL_MS 250  /* route re-read while none exists yet */
#define ROUTE_WAIT_LOG_MS 30000

void worker_streams_rewind(struct worker *w)
{
    for (size_t i = 0; i < w->n_streams; i++) {
        w->streams[i].history = true;
        snprintf(w->streams[i].cursor, sizeof(w->streams[i].cursor), "0");
    }
}

void worker_streams_reset(struct worker *w)
{
    for (size_t i = 0; i < w->n_streams; i++)
        w->streams[i].ready = false;
    worker_streams_rewind(w);
    w->next_route_ms = 0;
}

size_t worker_streams_ready(const struct worker *w)
{
    size_t n = 0;

    for (size_t i = 0; i < w->n_streams; i++)
        n += w->streams[i].ready;
    return n;
}

/*
 * XGROUP CREATE <stream> <kind> $ MKSTREAM, BUSYGROUP being fine (the hub did it). A
 * stream whose group cannot be made stays out of the reads until the next route check.
 */
static void stream_ensure_group(struct worker *w, struct worker_stream *s)
{
    const char *argv[] = {"XGROUP", "CREATE", s->key, w->kind, "$", "MKSTREAM"};
    redisReply *reply = worker_command(w, 6, argv, NULL);

    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_ERROR && strncmp(reply->str, "BUSYGROUP", 9) != 0) {
        log_warn(w->component, "cannot create group %s on %s: %s", w->kind, s->key, reply->str);
    } else {
        s->ready = true;
        if (reply->type != REDIS_REPLY_ERROR)
            log_info(w->component, "created group %s on %s", w->kind, s->key);
    }
    freeReplyObject(reply);
}

/* Makes w->scratch the route followed: streams kept keep their state, new ones start. */
static void route_apply(struct worker *w)
{
    struct worker_stream *old = malloc(sizeof(w->streams));
    size_t n_old = w->n_streams, added = 0;

    if (!old) {
        log_error(w->component, "out of memory applying the route");
        return;
    }
    memcpy(old, w->streams, sizeof(w->streams));
    w->n_streams = 0;
    for (size_t i = 0; i < w->scratch.n_streams; i++) {
        struct worker_stream *s = &w->streams[w->n_streams++];
        size_t k;

        for (k = 0; k < n_old; k++)
            if (strcmp(old[k].key, w->scratch.streams[i]) == 0)
                break;
        if (k < n_old) {
            *s = old[k];
            continue;
        }
        memset(s, 0, sizeof(*s));
        snprintf(s->key, sizeof(s->key), "%s", w->scratch.streams[i]);
        s->history = true; /* pending entries of ours from an earlier run come first */
        snprintf(s->cursor, sizeof(s->cursor), "0");
        snprintf(s->claim_cursor, sizeof(s->claim_cursor), "0-0");
        added++;
    }
    log_info(w->component, "route %s version %lld: %zu streams (%zu new, %zu left)",
             w->route_key, w->scratch.version, w->n_streams, added,
             n_old + added - w->n_streams);
    free(old);
    w->route = w->scratch;
    w->have_route = true;
    w->status_dirty = true;
}

void worker_streams_refresh(struct worker *w)
{
    const char *argv[] = {"GET", w->route_key};
    int64_t now = worker_now_ms();
    redisReply *reply = worker_command(w, 2, argv, NULL);

    w->next_route_ms = now + (w->have_route ? ROUTE_INTERVAL_MS : ROUTE_WAIT_INTERVAL_MS);
    if (!reply)
        return;
    if (reply->type == REDIS_REPLY_NIL) {
        if (!w->have_route && now - w->route_wait_logged_ms >= ROUTE_WAIT_LOG_MS) {
            log_info(w->component, "waiting for the route at %s (the hub publishes it)",
                     w->route_key);
            w->route_wait_logged_ms = now;
        } else if (w->have_route && w->route_text) {
            log_warn(w->component, "route %s is gone; keeping the last one", w->route_key);
            free(w->route_text);
            w->route_text = NULL;
        }
    } else if (reply->type != REDIS_REPLY_STRING) {
        log_warn(w->component, "route %s is not a string", w->route_key);
    } else if (!w->route_text || strlen(w->route_text) != reply->len ||
               memcmp(w->route_text, reply->str, reply->len) != 0) {
        char why[200];
        char *text = malloc(reply->len + 1);

        if (!text) {
            freeReplyObject(reply);
            return;
        }
        memcpy(text, reply->str, reply->len);
        text[reply->len] = '\0';
        free(w->route_text);
        w->route_text = text; /* a bad text is reported once, not at every check */
        if (worker_route_parse(&w->scratch, reply->str, reply->len, w->kind, why, sizeof(why)) <
            0)
            log_warn(w->component, "route %s ignored: %s", w->route_key, why);
        else
            route_apply(w);
    }
    freeReplyObject(reply);
    for (size_t i = 0; i < w->n_streams && w->redis; i++)
        if (!w->streams[i].ready)
            stream_ensure_group(w, &w->streams[i]);
}
