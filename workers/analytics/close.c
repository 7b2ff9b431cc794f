// SPDX-License-Identifier: MIT
/*
 * Closing windows: when the clock passes a window's end plus the lateness, its
 * aggregate JSON is written, in one MULTI/EXEC, to the aggregate stream (an envelope,
 * for storage), to the outbox, the window's end to the published records (forget.c),
 * and the window leaves the open set. So a crash before
 * EXEC leaves the window open (closed again after the restart, with the same id and
 * payload), and one after it leaves the aggregate in the outbox, from where it is
 * published (QoS 1, retained) until the broker acknowledges it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "close.h"
#include "crash.h"
#include "envelope.h"
#include "forget.h"
#include "log.h"
#include "state.h"
#include "window.h"

/* Windows per MULTI/EXEC. */
#define CLOSE_CHUNK 64
#define ACKS_PER_TAKE 1024
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(15))

void close_aggregate_id(char out[ANALYTICS_ID_HEX + 1], const struct acc *acc)
{
    static const char hex[] = "0123456789abcdef";
    struct acc_parts p;
    const char *parts[4];
    char start[24];
    XXH3_state_t state;
    XXH128_hash_t h;
    uint64_t words[2];

    acc_parts(acc, &p);
    parts[0] = p.municipality;
    parts[1] = p.type;
    parts[2] = p.subject;
    parts[3] = p.window;
    snprintf(start, sizeof(start), "%lld", (long long)(acc->start_ns / WINDOW_NS_PER_S));
    XXH3_INITSTATE(&state);
    XXH3_128bits_reset(&state);
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++)
        XXH3_128bits_update(&state, parts[i], strlen(parts[i]) + 1);
    XXH3_128bits_update(&state, start, strlen(start));
    h = XXH3_128bits_digest(&state);
    words[0] = h.high64;
    words[1] = h.low64;
    for (int w = 0; w < 2; w++)
        for (int i = 0; i < 16; i++)
            out[w * 16 + i] = hex[(words[w] >> (60 - 4 * i)) & 0xf];
    out[ANALYTICS_ID_HEX] = '\0';
}

static int64_t wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * WINDOW_NS_PER_S + ts.tv_nsec;
}

/* ------------------------------------------------------------------------------------------ */
/* Closing */

struct due {
    struct analytics *a;
    int64_t now;
    struct acc **list;
    size_t n, cap;
    int64_t next; /* earliest close of the windows that stay open */
    int err;
};

static int collect_due(const char *key, void *value, void *data)
{
    struct due *d = data;
    struct acc *acc = value;
    int64_t close_ns = acc->end_ns + d->a->lateness_ns;

    if (close_ns > d->now) {
        if (close_ns < d->next)
            d->next = close_ns;
        return 0;
    }
    if (d->n == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 256;
        struct acc **p = realloc(d->list, cap * sizeof(*p));
        if (!p) {
            d->err = -ENOMEM;
            return 1;
        }
        d->list = p;
        d->cap = cap;
    }
    d->list[d->n++] = acc;
    return 0;
}

/* Oldest first; within one end, by key, so that a run is reproducible. */
static int cmp_due(const void *x, const void *y)
{
    const struct acc *p = *(struct acc *const *)x, *q = *(struct acc *const *)y;

    if (p->end_ns != q->end_ns)
        return p->end_ns < q->end_ns ? -1 : 1;
    return strcmp(p->key, q->key);
}

/* The outbox item of a closed window, with its envelope appended to env. NULL on ENOMEM. */
static struct outbox_item *item_new(struct analytics *a, const struct acc *acc,
                                    msgpack_sbuffer *env, int64_t received_ns)
{
    struct outbox_item *it = calloc(1, sizeof(*it));
    char subject[ACC_KEY_MAX], end[WINDOW_TIME_MAX], topic[ACC_TOPIC_MAX];
    json_t *json = NULL;
    struct acc_parts p;
    struct envelope e;

    if (!it || !(json = acc_to_json(acc)))
        goto err;
    acc_parts(acc, &p);
    close_aggregate_id(it->id, acc);
    it->end_ns = acc->end_ns;
    acc_topic(acc->key, acc_key_names_len(acc), topic);
    if (!(it->topic = strdup(topic)))
        goto err;
    if (!(it->payload = json_dumps(json, JSON_FLAGS)))
        goto err;
    it->payload_len = strlen(it->payload);
    snprintf(subject, sizeof(subject), "%s/%s/%s", p.type, p.subject, p.window);
    window_time_format(acc->end_ns, end);
    e = (struct envelope){
        .id = it->id,
        .source = "rheinhub-analytics",
        .type = "rheinhub.aggregate",
        .subject = subject,
        .time = end,
        .municipality = p.municipality,
        .category = "aggregate",
        .receivedtime_ns = (uint64_t)received_ns,
        .data = json,
    };
    if (envelope_encode(&e, env) < 0)
        goto err;
    json_decref(json);
    return it;
err:
    json_decref(json);
    outbox_item_free(it);
    return NULL;
}

/* Closes list[0..n) in one transaction. 0, or a negative errno (nothing changed in memory). */
static int close_chunk(struct analytics *a, struct acc **list, size_t n)
{
    struct outbox_item *items[CLOSE_CHUNK] = {0};
    size_t env_off[CLOSE_CHUNK], env_len[CLOSE_CHUNK];
    redisContext *c = worker_redis(a->w);
    msgpack_sbuffer env;
    char clock[24];
    int64_t received = wall_ns();
    size_t sent = 0;
    int r = 0;

    if (!c)
        return -ENOTCONN;
    msgpack_sbuffer_init(&env);
    for (size_t i = 0; i < n; i++) {
        env_off[i] = env.size;
        if (!(items[i] = item_new(a, list[i], &env, received))) {
            r = -ENOMEM;
            goto out;
        }
        env_len[i] = env.size - env_off[i];
    }
    if (redisAppendCommand(c, "MULTI") != REDIS_OK)
        goto link;
    sent++;
    /* The clock that closed them: a later process starts no earlier (clock_restore). */
    snprintf(clock, sizeof(clock), "%" PRId64, a->now_ns);
    if (redisAppendCommand(c, "SET %s %s", a->clock_key, clock) != REDIS_OK)
        goto link;
    sent++;
    for (size_t i = 0; i < n; i++) {
        const struct outbox_item *it = items[i];
        size_t tn = strlen(it->topic), vn = tn + 1 + it->payload_len;
        char *value = malloc(vn);
        const char *xadd[] = {"XADD", a->aggregate_stream, "*", "id", it->id, "env",
                              env.data + env_off[i]};
        size_t xadd_l[] = {4, strlen(a->aggregate_stream), 1, 2, ANALYTICS_ID_HEX, 3, env_len[i]};
        const char *hset[] = {"HSET", a->outbox_key, it->id, value};
        size_t hset_l[] = {4, strlen(a->outbox_key), ANALYTICS_ID_HEX, vn};
        const char *hdel[] = {"HDEL", a->windows_key, list[i]->key};
        int ok;

        if (!value) {
            r = -ENOMEM;
            break;
        }
        memcpy(value, it->topic, tn);
        value[tn] = '\n';
        memcpy(value + tn + 1, it->payload, it->payload_len);
        ok = redisAppendCommandArgv(c, 7, xadd, xadd_l) == REDIS_OK &&
             redisAppendCommandArgv(c, 4, hset, hset_l) == REDIS_OK &&
             redisAppendCommandArgv(c, 3, hdel, NULL) == REDIS_OK &&
             forget_append_published(a, c, list[i]) == 0;
        free(value);
        if (!ok)
            goto link;
        sent += 4;
    }
    /* Out of memory half-way: DISCARD instead of EXEC, so that nothing is applied. */
    if (redisAppendCommand(c, r < 0 ? "DISCARD" : "EXEC") != REDIS_OK)
        goto link;
    sent++;
    for (size_t i = 0; i < sent; i++) {
        redisReply *reply;
        if (redisGetReply(c, (void **)&reply) != REDIS_OK)
            goto link;
        if (reply->type == REDIS_REPLY_ERROR ||
            (i + 1 == sent && r == 0 && reply->type != REDIS_REPLY_ARRAY)) {
            log_warn(a->component, "closing windows: %s",
                     reply->type == REDIS_REPLY_ERROR ? reply->str : "EXEC failed");
            r = r < 0 ? r : -EIO;
        } else if (i + 1 == sent && reply->type == REDIS_REPLY_ARRAY) {
            for (size_t k = 0; k < reply->elements; k++)
                if (reply->element[k]->type == REDIS_REPLY_ERROR)
                    r = -EIO;
        }
        freeReplyObject(reply);
    }
    if (r < 0)
        goto out;
    /* Stored: the windows are closed, their aggregates wait in the outbox. */
    for (size_t i = 0; i < n; i++) {
        if (strmap_put(a->outbox, items[i]->id, ANALYTICS_ID_HEX, items[i]) < 0) {
            a->reload = true; /* in Redis's outbox; loaded from there */
            outbox_item_free(items[i]);
        }
        items[i] = NULL;
        log_debug(a->component, "closed %s (%" PRIu64 " events)", list[i]->key, list[i]->count);
        acc_free(strmap_remove(a->windows, list[i]->key, strlen(list[i]->key)));
        a->closed_total++;
    }
    goto out;
link:
    log_warn(a->component, "closing windows: %s", c->errstr[0] ? c->errstr : "link lost");
    r = -EIO;
out:
    for (size_t i = 0; i < n; i++)
        outbox_item_free(items[i]);
    msgpack_sbuffer_destroy(&env);
    return r;
}

int close_due(struct analytics *a)
{
    struct due d = {.a = a, .now = a->now_ns, .next = INT64_MAX};
    size_t closed = 0;
    int r = 0;

    strmap_each(a->windows, collect_due, &d);
    if (d.err < 0) {
        free(d.list);
        return d.err;
    }
    if (d.n > 1)
        qsort(d.list, d.n, sizeof(*d.list), cmp_due);
    if (d.n > 0)
        state_series_clear(a); /* it points at windows that are about to go */
    for (size_t i = 0; i < d.n && r == 0; i += CLOSE_CHUNK) {
        size_t k = d.n - i < CLOSE_CHUNK ? d.n - i : CLOSE_CHUNK;
        if ((r = close_chunk(a, d.list + i, k)) == 0) {
            closed += k;
            crash_point(a, "close", k);
        }
    }
    if (r < 0) {
        /* What is left stays open; whether the last EXEC happened is for the reload to see. */
        a->reload = r != -ENOMEM || a->reload;
        d.next = a->now_ns;
        log_warn(a->component, "closing windows failed after %zu of %zu: %s", closed, d.n,
                 strerror(-r));
    }
    a->next_close_ns = d.next;
    if (closed)
        log_info(a->component, "closed %zu windows (%zu open)", closed, strmap_size(a->windows));
    free(d.list);
    if (closed)
        close_pump(a);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Publishing */

struct walk {
    struct analytics *a;
    void **list;             /* struct outbox_item *: to publish */
    size_t n, cap;
    bool reset;              /* a reconnect: publish everything again */
    struct strmap *acked;    /* topic -> int64_t * of the newest acknowledged end */
    void **gone;             /* struct outbox_item *: acknowledged, to HDEL and free */
    size_t n_gone, cap_gone;
    int err;
};

static int push(void ***list, size_t *n, size_t *cap, void *item)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 64;
        void **p = realloc(*list, c * sizeof(*p));
        if (!p)
            return -ENOMEM;
        *list = p;
        *cap = c;
    }
    (*list)[(*n)++] = item;
    return 0;
}

static int cmp_items(const void *x, const void *y)
{
    const struct outbox_item *p = *(struct outbox_item *const *)x,
                             *q = *(struct outbox_item *const *)y;

    if (p->end_ns != q->end_ns)
        return p->end_ns < q->end_ns ? -1 : 1;
    return strcmp(p->topic, q->topic);
}

/* An item whose topic has a newer acknowledged aggregate is done: that one is retained. */
static int sweep(const char *key, void *value, void *data)
{
    struct walk *wk = data;
    struct outbox_item *it = value;
    int64_t *newest = wk->acked ? strmap_get(wk->acked, it->topic, strlen(it->topic)) : NULL;

    if (newest && it->end_ns <= *newest) {
        char mid[16];
        snprintf(mid, sizeof(mid), "%d", it->mid);
        if (it->mid && strmap_get(wk->a->by_mid, mid, strlen(mid)) == it)
            strmap_remove(wk->a->by_mid, mid, strlen(mid));
        strmap_remove(wk->a->outbox, key, strlen(key));
        if (push(&wk->gone, &wk->n_gone, &wk->cap_gone, it) < 0) {
            outbox_item_free(it); /* stays in Redis's outbox: published once more later */
            wk->err = -ENOMEM;
        }
        return 0;
    }
    if (wk->reset && it->mid) { /* its old publish is forgotten: it goes out again */
        char mid[16];
        snprintf(mid, sizeof(mid), "%d", it->mid);
        if (strmap_get(wk->a->by_mid, mid, strlen(mid)) == it)
            strmap_remove(wk->a->by_mid, mid, strlen(mid));
        it->mid = 0;
    }
    if (it->mid == 0 && push(&wk->list, &wk->n, &wk->cap, it) < 0)
        wk->err = -ENOMEM;
    return 0;
}

static int free_i64(const char *key, void *value, void *data)
{
    free(strmap_remove(data, key, strlen(key)));
    return 0;
}

void close_pump(struct analytics *a)
{
    struct walk wk = {.a = a};
    int mids[ACKS_PER_TAKE];
    size_t n;

    if (!a->mqtt)
        return;
    wk.reset = mqtt_out_take_connect(a->mqtt);
    /* PUBACKs: the newest acknowledged end per topic. */
    while ((n = mqtt_out_take_acks(a->mqtt, mids, ACKS_PER_TAKE)) > 0) {
        for (size_t i = 0; i < n; i++) {
            char key[16];
            struct outbox_item *it;
            int64_t *newest;

            snprintf(key, sizeof(key), "%d", mids[i]);
            if (!(it = strmap_remove(a->by_mid, key, strlen(key)))) {
                forget_acked(a, mids[i]); /* a removal's, or an item's that is gone */
                continue;
            }
            if (it->mid != mids[i])
                continue; /* an older publish of an item sent again */
            if (!wk.acked && !(wk.acked = strmap_new()))
                continue;
            if (!(newest = strmap_get(wk.acked, it->topic, strlen(it->topic)))) {
                if (!(newest = malloc(sizeof(*newest))) ||
                    strmap_put(wk.acked, it->topic, strlen(it->topic), newest) < 0) {
                    free(newest);
                    continue;
                }
                *newest = it->end_ns;
            }
            if (it->end_ns > *newest)
                *newest = it->end_ns;
        }
    }
    strmap_each(a->outbox, sweep, &wk);
    if (wk.n_gone > 0 && worker_redis(a->w)) {
        const char **argv = malloc((2 + wk.n_gone) * sizeof(*argv));
        redisReply *reply;

        if (argv) {
            argv[0] = "HDEL";
            argv[1] = a->outbox_key;
            for (size_t i = 0; i < wk.n_gone; i++)
                argv[2 + i] = ((struct outbox_item *)wk.gone[i])->id;
            /* A failed HDEL leaves them to be published once more after a restart: harmless. */
            reply = redisCommandArgv(worker_redis(a->w), (int)(2 + wk.n_gone), argv, NULL);
            freeReplyObject(reply);
            free(argv);
        }
    }
    for (size_t i = 0; i < wk.n_gone; i++)
        outbox_item_free((struct outbox_item *)wk.gone[i]);
    free(wk.gone);
    if (wk.acked) {
        strmap_each(wk.acked, free_i64, wk.acked);
        strmap_free(wk.acked);
    }
    /* Publish what waits, oldest window first, so that the newest one stays retained. */
    if (wk.n > 1)
        qsort(wk.list, wk.n, sizeof(*wk.list), cmp_items);
    for (size_t i = 0; i < wk.n; i++) {
        struct outbox_item *it = wk.list[i];
        char key[16];
        int mid = mqtt_out_publish(a->mqtt, it->topic, it->payload, it->payload_len);

        if (mid < 0) {
            if (mid != -ENOTCONN)
                log_warn(a->component, "publish %s: %s", it->topic, strerror(-mid));
            break; /* published after the next connect */
        }
        it->mid = mid;
        snprintf(key, sizeof(key), "%d", mid);
        if (strmap_put(a->by_mid, key, strlen(key), it) < 0)
            it->mid = 0;
    }
    free(wk.list);
}
