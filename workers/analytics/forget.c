// SPDX-License-Identifier: MIT
/*
 * Forgetting quiet subjects: the retained aggregates of a topic whose last window ended
 * more than analytics.forget_after ago are removed from the broker. The record is the
 * hash <prefix>analytics:published, "<m>/<type>/<subject>/<window>" -> the end (s since
 * the epoch) of the last window closed on that topic, written in the close's MULTI/EXEC
 * (close.c), one field per topic, overwritten at each close.
 *
 * Every check_interval_ms the worker looks at the next fields of that hash (HSCAN, about
 * FORGET_SCAN_COUNT) and, for those that are due, with no window of that topic open and
 * no aggregate of it in the outbox, publishes an empty retained message (QoS 1) to the
 * topic, at most FORGET_PER_CHECK in flight. Once the broker acknowledged it (PUBACK) the
 * field is deleted, unless a close wrote a newer end meanwhile. A crash in between leaves
 * the field, and the next process publishes the removal again: at least once, and an
 * empty retained publish is idempotent.
 */
#include "forget.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "crash.h"
#include "duration.h"
#include "log.h"
#include "window.h"

/* Fields looked at per check, about (HSCAN's COUNT: a small hash comes whole). */
#define FORGET_SCAN_COUNT "256"
/* Removals in flight (published, PUBACK not taken yet), at most. */
#define FORGET_PER_CHECK 64
/* A removal with no PUBACK by then (a reconnect lost it) is dropped and found again. */
#define FORGET_ACK_TIMEOUT_MS 30000
/* Lookups of open windows per check, at most (short windows take many per field). */
#define FORGET_LOOKUPS_MAX 65536
#define FORGET_END_MAX 24

/* A removal in flight. */
struct flight {
    char field[ACC_KEY_MAX];   /* "<m>/<type>/<subject>/<window>" */
    char end[FORGET_END_MAX];  /* the field's value when it was read */
    int64_t end_ns;            /* the same, in ns */
    int mid;                   /* message id of the empty publish; 0: the slot is free */
    bool acked;
    int64_t deadline_ms;       /* monotonic */
};

struct forget {
    char key[ANALYTICS_KEY_MAX];  /* hash: field -> end (s) */
    char cursor[32];              /* HSCAN's, across checks */
    struct flight flight[FORGET_PER_CHECK];
    int64_t next_ms;              /* monotonic: the next check */
};

int forget_init(struct analytics *a)
{
    if (!(a->forget = calloc(1, sizeof(*a->forget))))
        return -ENOMEM;
    snprintf(a->forget->key, sizeof(a->forget->key), "%sanalytics:published",
             a->cfg->redis.stream_prefix);
    strcpy(a->forget->cursor, "0");
    return 0;
}

void forget_close(struct analytics *a)
{
    free(a->forget);
    a->forget = NULL;
}

int forget_append_published(struct analytics *a, redisContext *c, const struct acc *acc)
{
    char end[FORGET_END_MAX];
    const char *argv[] = {"HSET", a->forget->key, acc->key, end};
    size_t lens[4];

    snprintf(end, sizeof(end), "%lld", (long long)(acc->end_ns / WINDOW_NS_PER_S));
    lens[0] = 4;
    lens[1] = strlen(a->forget->key);
    lens[2] = acc_key_names_len(acc); /* the key without its start: the field */
    lens[3] = strlen(end);
    return redisAppendCommandArgv(c, 4, argv, lens) == REDIS_OK ? 0 : -EIO;
}

void forget_acked(struct analytics *a, int mid)
{
    for (int i = 0; a->forget && i < FORGET_PER_CHECK; i++)
        if (a->forget->flight[i].mid == mid)
            a->forget->flight[i].acked = true;
}

/*
 * Deletes the field of fl if it still holds the end read before the removal (a close
 * since then wrote a newer one: the topic has a new aggregate). 1 deleted, 0 kept,
 * -EIO when Redis did not answer.
 */
static int unrecord(struct analytics *a, const struct flight *fl)
{
    const char *argv[] = {"EVAL",
                          "if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then "
                          "return redis.call('HDEL', KEYS[1], ARGV[1]) else return 0 end",
                          "1", a->forget->key, fl->field, fl->end};
    redisReply *reply = redisCommandArgv(worker_redis(a->w), 6, argv, NULL);
    int r;

    if (!reply || reply->type != REDIS_REPLY_INTEGER) {
        log_warn(a->component, "%s %s: %s", a->forget->key, fl->field,
                 !reply ? "link lost" : reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                       : "unexpected reply");
        freeReplyObject(reply);
        return -EIO;
    }
    r = reply->integer == 1;
    freeReplyObject(reply);
    return r;
}

/* The removals the broker acknowledged lose their field; those that timed out are dropped. */
static void settle(struct analytics *a, int64_t now_ms)
{
    struct forget *f = a->forget;
    size_t acked = 0;

    for (int i = 0; i < FORGET_PER_CHECK; i++)
        acked += f->flight[i].mid && f->flight[i].acked;
    if (acked)
        crash_point(a, "forget", acked); /* published and acknowledged, field still there */
    for (int i = 0; i < FORGET_PER_CHECK; i++) {
        struct flight *fl = &f->flight[i];
        char topic[ACC_TOPIC_MAX] = "", when[WINDOW_TIME_MAX], after[32];
        int r;

        if (!fl->mid)
            continue;
        if (!fl->acked) {
            if (now_ms >= fl->deadline_ms) {
                log_debug(a->component, "no PUBACK for the removal of %s: found again later",
                          fl->field);
                fl->mid = 0;
            }
            continue;
        }
        if ((r = unrecord(a, fl)) < 0)
            return; /* acknowledged still: tried again at the next tick */
        acc_topic(fl->field, strlen(fl->field), topic);
        if (r == 1) {
            a->unretained_total++;
            window_time_format(fl->end_ns, when);
            duration_format(a->cfg->analytics.forget_after_ns, after, sizeof(after));
            log_info(a->component, "unretained %s: its last window ended %s, over %s ago",
                     topic, when, after);
        } else {
            log_debug(a->component, "%s closed a window meanwhile: its record stays", topic);
        }
        fl->mid = 0;
        fl->acked = false;
    }
}

/* Whether an end (s, decimal) lies more than forget_after before the clock; *end_ns it. */
static bool due(const struct analytics *a, const char *end, size_t len, int64_t *end_ns)
{
    char text[FORGET_END_MAX], *stop;
    long long s;

    if (len == 0 || len >= sizeof(text))
        return false;
    memcpy(text, end, len);
    text[len] = '\0';
    errno = 0;
    s = strtoll(text, &stop, 10);
    if (errno || *stop || s < 0 || s > INT64_MAX / WINDOW_NS_PER_S)
        return false;
    *end_ns = s * WINDOW_NS_PER_S;
    return a->now_ns - a->cfg->analytics.forget_after_ns >= *end_ns;
}

/*
 * Whether a window of field's topic is open: those whose end plus the lateness lies
 * ahead of the clock (the older ones were closed before this check), up to the latest
 * an event may open (an hour ahead). *lookups counts the lookups. True also for a
 * field whose window does not parse (not ours to remove).
 */
static bool window_open(struct analytics *a, const char *field, size_t *lookups)
{
    const char *text = strrchr(field, '/');
    int64_t length_s, start, last = a->now_ns + ANALYTICS_FUTURE_MAX_S * WINDOW_NS_PER_S;

    if (!text || window_length_parse(text + 1, &length_s) < 0)
        return true;
    for (start = window_start(a->now_ns - a->lateness_ns, length_s);
         start != INT64_MIN && start != INT64_MAX && start <= last;
         start = window_end(start, length_s)) {
        char key[ACC_KEY_MAX + 24];
        int n = snprintf(key, sizeof(key), "%s/%lld", field,
                         (long long)(start / WINDOW_NS_PER_S));

        (*lookups)++;
        if (n > 0 && (size_t)n < sizeof(key) && strmap_get(a->windows, key, (size_t)n))
            return true;
    }
    return false;
}

struct topic_match {
    const char *topic;
    bool found;
};

static int match_topic(const char *key, void *value, void *data)
{
    struct topic_match *m = data;
    const struct outbox_item *it = value;

    m->found = strcmp(it->topic, m->topic) == 0;
    return m->found;
}

static bool in_outbox(struct analytics *a, const char *topic)
{
    struct topic_match m = {topic, false};

    strmap_each(a->outbox, match_topic, &m);
    return m.found;
}

/* A free slot, or -1; *in_flight whether field is in flight already. */
static int slot_for(struct forget *f, const char *field, size_t n, bool *in_flight)
{
    int free_slot = -1;

    *in_flight = false;
    for (int i = 0; i < FORGET_PER_CHECK; i++) {
        if (!f->flight[i].mid) {
            free_slot = free_slot < 0 ? i : free_slot;
        } else if (strlen(f->flight[i].field) == n && memcmp(f->flight[i].field, field, n) == 0) {
            *in_flight = true;
        }
    }
    return free_slot;
}

/*
 * Starts the removal of one field if it is due. 1 started (or nothing to do), 0 when
 * this check should stop here (no slot, the lookups spent, the link down).
 */
static int consider(struct analytics *a, const redisReply *k, const redisReply *v,
                    size_t *lookups, int64_t now_ms)
{
    struct forget *f = a->forget;
    char topic[ACC_TOPIC_MAX];
    struct flight *fl;
    int64_t end_ns;
    bool in_flight;
    int slot, mid;

    if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING ||
        k->len >= ACC_KEY_MAX || strlen(k->str) != k->len || !due(a, v->str, v->len, &end_ns))
        return 1;
    slot = slot_for(f, k->str, k->len, &in_flight);
    if (in_flight)
        return 1;
    if (slot < 0 || *lookups >= FORGET_LOOKUPS_MAX)
        return 0;
    if (window_open(a, k->str, lookups) || acc_topic(k->str, k->len, topic) < 0 ||
        in_outbox(a, topic))
        return 1;
    if ((mid = mqtt_out_publish(a->mqtt, topic, "", 0)) < 0) {
        if (mid != -ENOTCONN)
            log_warn(a->component, "publish the removal of %s: %s", topic, strerror(-mid));
        return 0;
    }
    fl = &f->flight[slot];
    memcpy(fl->field, k->str, k->len + 1);
    snprintf(fl->end, sizeof(fl->end), "%.*s", (int)v->len, v->str);
    fl->end_ns = end_ns;
    fl->mid = mid;
    fl->acked = false;
    fl->deadline_ms = now_ms + FORGET_ACK_TIMEOUT_MS;
    log_debug(a->component, "removing the retained aggregate of %s (mid %d)", topic, mid);
    return 1;
}

/* One HSCAN step over the records. A check that stopped early keeps the cursor. */
static void scan(struct analytics *a, int64_t now_ms)
{
    struct forget *f = a->forget;
    const char *argv[] = {"HSCAN", f->key, f->cursor, "COUNT", FORGET_SCAN_COUNT};
    redisReply *reply = redisCommandArgv(worker_redis(a->w), 5, argv, NULL);
    const redisReply *items;
    size_t lookups = 0;
    bool whole = true;

    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
        reply->element[0]->type != REDIS_REPLY_STRING ||
        reply->element[1]->type != REDIS_REPLY_ARRAY) {
        log_warn(a->component, "HSCAN %s: %s", f->key,
                 !reply ? "link lost" : reply->type == REDIS_REPLY_ERROR ? reply->str
                                                                       : "unexpected reply");
        freeReplyObject(reply);
        return;
    }
    items = reply->element[1];
    for (size_t i = 0; i + 1 < items->elements && whole; i += 2)
        whole = consider(a, items->element[i], items->element[i + 1], &lookups, now_ms) == 1;
    if (whole)
        snprintf(f->cursor, sizeof(f->cursor), "%s", reply->element[0]->str);
    freeReplyObject(reply);
}

void forget_tick(struct analytics *a, int64_t now_ms)
{
    struct forget *f = a->forget;

    if (!f || !worker_redis(a->w))
        return;
    settle(a, now_ms);
    if (a->cfg->analytics.forget_after_ns == 0 || now_ms < f->next_ms)
        return;
    f->next_ms = now_ms + a->cfg->analytics.check_interval_ms;
    /* Only once every window due has closed: the open ones are then those still to come. */
    if (a->reload || !a->mqtt || !mqtt_out_connected(a->mqtt) || clock_now(a) >= a->next_close_ns)
        return;
    scan(a, now_ms);
}
