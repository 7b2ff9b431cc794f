// SPDX-License-Identifier: MIT
/*
 * One upkeep round is a tree of pipelined commands on the writer's link: per stream
 * XLEN and XINFO GROUPS, then XPENDING for each group with pending entries, then the
 * trims; and SCAN + HGETALL of the worker status hashes (SCAN's cursor is followed,
 * one reply after the other, until the whole keyspace is covered however many other
 * keys a shared Redis holds; each step is one short command). A round object counts its
 * outstanding replies and publishes its figures when the last one is in; a lost
 * link fails every reply, and that round is dropped (nothing is trimmed on partial
 * knowledge).
 */
#include "streams.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "http.h"
#include "log.h"
#include "prom_text.h"
#include "router.h"

#define CONSUMERS_MAX 64
#define KEY_MAX 192

struct group_stats {
    char name[64];
    uint64_t pending, lag, consumers;
    bool lag_known;
    char last_delivered[48];
    char oldest_pending[48]; /* "" when nothing is pending */
};

struct stream_stats {
    char key[KEY_MAX];
    uint64_t length;
    int n_groups;
    /* Every group of the stream, as many as XINFO GROUPS lists: groups removed from the
     * configuration stay in Redis, and a trim that left one out would cut what it has
     * not read. */
    struct group_stats *groups;
    int outstanding; /* replies this stream still waits for before trimming */
    bool failed;
};

struct consumer_status {
    char key[KEY_MAX];
    char state[16];
    char detail[256]; /* the worker's reason when it is unhealthy, whole (a worker writes
                         up to 255 bytes: a database path and its error) */
    uint64_t counts[3]; /* as consumer_counters lists them */
};

/* The counters of a worker's status hash: its field, and the Prometheus family. */
static const struct {
    const char *field, *name, *help;
} consumer_counters[] = {
    {"processed", "rheinhub_worker_consumer_processed_total", "Events a worker consumer handled."},
    {"failed", "rheinhub_worker_consumer_failed_total",
     "Events a worker consumer failed to handle and tries again."},
    {"deadlettered", "rheinhub_worker_consumer_deadlettered_total",
     "Events a worker consumer gave up on."},
};

#define N_COUNTERS (sizeof(consumer_counters) / sizeof(consumer_counters[0]))

struct round {
    struct streams *owner; /* NULL once the owner is gone */
    int outstanding;
    bool failed;
    size_t n;
    struct stream_stats *stats; /* n of them */
    struct consumer_status consumers[CONSUMERS_MAX];
    int n_consumers;
    int n_status_asked; /* status hashes asked for: at most CONSUMERS_MAX */
};

struct totals {
    char key[KEY_MAX];
    uint64_t trimmed, dropped;
};

struct streams {
    const struct hub_config *cfg;
    struct redis_out *out;
    struct catalog *const *cat;
    uv_timer_t timer;
    struct round *busy;   /* the round in progress */
    struct round *last;   /* the last complete round, for /metrics */
    struct totals totals[CATALOG_TYPES_MAX + 8];
    size_t n_totals;
    bool closing;
    bool trim_failing;    /* XTRIM refused (Redis not writable): logged once, until one works */
};

static void round_free(struct round *r)
{
    if (!r)
        return;
    for (size_t i = 0; r->stats && i < r->n; i++)
        free(r->stats[i].groups);
    free(r->stats);
    free(r);
}

static struct totals *totals_for(struct streams *s, const char *key)
{
    for (size_t i = 0; i < s->n_totals; i++)
        if (strcmp(s->totals[i].key, key) == 0)
            return &s->totals[i];
    if (s->n_totals == sizeof(s->totals) / sizeof(s->totals[0]))
        return NULL;
    snprintf(s->totals[s->n_totals].key, KEY_MAX, "%s", key);
    return &s->totals[s->n_totals++];
}

static void round_done(struct round *r)
{
    struct streams *s = r->owner;

    if (--r->outstanding > 0)
        return;
    if (!s) {
        round_free(r);
        return;
    }
    s->busy = NULL;
    if (r->failed) {
        round_free(r);
        return;
    }
    round_free(s->last);
    s->last = r;
}

/* "<ms>-<seq>" compared as numbers. */
static int id_cmp(const char *a, const char *b)
{
    unsigned long long am = strtoull(a, NULL, 10), bm = strtoull(b, NULL, 10);
    const char *ad = strchr(a, '-'), *bd = strchr(b, '-');
    unsigned long long as = ad ? strtoull(ad + 1, NULL, 10) : 0;
    unsigned long long bs = bd ? strtoull(bd + 1, NULL, 10) : 0;

    if (am != bm)
        return am < bm ? -1 : 1;
    return as < bs ? -1 : as > bs;
}

struct trim_ctx {
    struct round *round;
    struct stream_stats *st;
    bool cap; /* the memory cap (counts drops) rather than the safe trim */
};

static void on_trim(redisAsyncContext *ac, void *reply_, void *privdata)
{
    struct trim_ctx *t = privdata;
    redisReply *reply = reply_;
    struct round *r = t->round;

    if (reply && reply->type == REDIS_REPLY_INTEGER && r->owner && r->owner->trim_failing) {
        log_info("streams", "trimming works again");
        r->owner->trim_failing = false;
    }
    if (reply && reply->type == REDIS_REPLY_INTEGER && reply->integer > 0 && r->owner) {
        struct totals *tot = totals_for(r->owner, t->st->key);
        if (tot && t->cap) {
            tot->dropped += (uint64_t)reply->integer;
            log_warn("streams", "memory cap: dropped %lld entries of %s that not every group "
                     "had acknowledged (redis.stream_maxlen %d)", reply->integer, t->st->key,
                     r->owner->cfg->redis.stream_maxlen);
        } else if (tot) {
            tot->trimmed += (uint64_t)reply->integer;
        }
    } else if (reply && reply->type == REDIS_REPLY_ERROR && (!r->owner ||
                                                              !r->owner->trim_failing)) {
        log_error("streams", "XTRIM %s: %s (said once, until trimming works again)",
                  t->st->key, reply->str);
        if (r->owner)
            r->owner->trim_failing = true;
    }
    free(t);
    round_done(r);
}

static void send_trim(struct round *r, struct stream_stats *st, bool cap, const char *how,
                      const char *arg)
{
    struct trim_ctx *t = malloc(sizeof(*t));
    const char *argv[] = {"XTRIM", st->key, how, "~", arg};
    size_t lens[5];

    if (!t)
        return;
    t->round = r;
    t->st = st;
    t->cap = cap;
    for (int i = 0; i < 5; i++)
        lens[i] = strlen(argv[i]);
    if (!r->owner || redis_out_command(r->owner->out, on_trim, t, 5, argv, lens) < 0) {
        free(t);
        return;
    }
    r->outstanding++;
}

/* All of one stream's figures are in: trim to what every group has acknowledged. */
static void stream_complete(struct round *r, struct stream_stats *st)
{
    const char *floor = NULL;
    char cap[24];

    if (st->failed || !r->owner)
        return;
    for (int g = 0; g < st->n_groups; g++) {
        const struct group_stats *gs = &st->groups[g];
        const char *keep = gs->oldest_pending[0] ? gs->oldest_pending : gs->last_delivered;
        if (!floor || id_cmp(keep, floor) < 0)
            floor = keep;
    }
    if (floor && strcmp(floor, "0-0") != 0)
        send_trim(r, st, false, "MINID", floor);
    if (r->owner->cfg->redis.stream_maxlen > 0 &&
        st->length > (uint64_t)r->owner->cfg->redis.stream_maxlen) {
        snprintf(cap, sizeof(cap), "%d", r->owner->cfg->redis.stream_maxlen);
        send_trim(r, st, true, "MAXLEN", cap);
    }
}

struct stream_ctx {
    struct round *round;
    struct stream_stats *st;
    int group; /* for XPENDING: which group */
};

static void stream_reply_done(struct stream_ctx *c)
{
    struct round *r = c->round;
    struct stream_stats *st = c->st;

    free(c);
    if (--st->outstanding == 0)
        stream_complete(r, st);
    round_done(r);
}

static void on_pending(redisAsyncContext *ac, void *reply_, void *privdata)
{
    struct stream_ctx *c = privdata;
    redisReply *reply = reply_;

    if (!reply || reply->type != REDIS_REPLY_ARRAY || reply->elements < 2) {
        c->st->failed = true;
        c->round->failed |= !reply;
    } else if (reply->element[1]->type == REDIS_REPLY_STRING) {
        snprintf(c->st->groups[c->group].oldest_pending, 48, "%s", reply->element[1]->str);
    }
    stream_reply_done(c);
}

static uint64_t reply_uint(const redisReply *v)
{
    if (v->type == REDIS_REPLY_INTEGER)
        return v->integer > 0 ? (uint64_t)v->integer : 0;
    if (v->type == REDIS_REPLY_STRING)
        return strtoull(v->str, NULL, 10);
    return 0;
}

static void on_groups(redisAsyncContext *ac, void *reply_, void *privdata)
{
    struct stream_ctx *c = privdata;
    struct stream_stats *st = c->st;
    redisReply *reply = reply_;

    if (!reply || reply->type != REDIS_REPLY_ARRAY) {
        /* ERR no such key: a stream not written yet has nothing to trim. */
        st->failed = true;
        c->round->failed |= !reply;
        stream_reply_done(c);
        return;
    }
    if (reply->elements > 0 && !(st->groups = calloc(reply->elements, sizeof(*st->groups)))) {
        st->failed = true; /* no trim without every group's figures */
        stream_reply_done(c);
        return;
    }
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *g = reply->element[i];
        struct group_stats *gs = &st->groups[st->n_groups];
        memset(gs, 0, sizeof(*gs));
        if (g->type != REDIS_REPLY_ARRAY)
            continue;
        for (size_t f = 0; f + 1 < g->elements; f += 2) {
            const redisReply *k = g->element[f], *v = g->element[f + 1];
            if (k->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(k->str, "name") == 0 && v->type == REDIS_REPLY_STRING)
                snprintf(gs->name, sizeof(gs->name), "%s", v->str);
            else if (strcmp(k->str, "consumers") == 0)
                gs->consumers = reply_uint(v);
            else if (strcmp(k->str, "pending") == 0)
                gs->pending = reply_uint(v);
            else if (strcmp(k->str, "last-delivered-id") == 0 && v->type == REDIS_REPLY_STRING)
                snprintf(gs->last_delivered, sizeof(gs->last_delivered), "%s", v->str);
            else if (strcmp(k->str, "lag") == 0 && v->type == REDIS_REPLY_INTEGER) {
                gs->lag = reply_uint(v);
                gs->lag_known = true;
            }
        }
        if (gs->pending > 0 && c->round->owner) {
            struct stream_ctx *p = malloc(sizeof(*p));
            const char *argv[] = {"XPENDING", st->key, gs->name};
            size_t lens[] = {8, strlen(st->key), strlen(gs->name)};
            if (p) {
                *p = (struct stream_ctx){c->round, st, st->n_groups};
                if (redis_out_command(c->round->owner->out, on_pending, p, 3, argv, lens) == 0) {
                    st->outstanding++;
                    c->round->outstanding++;
                } else {
                    free(p);
                    st->failed = true;
                }
            }
        }
        st->n_groups++;
    }
    stream_reply_done(c);
}

static void on_length(redisAsyncContext *ac, void *reply_, void *privdata)
{
    struct stream_ctx *c = privdata;
    redisReply *reply = reply_;

    if (reply && reply->type == REDIS_REPLY_INTEGER)
        c->st->length = reply_uint(reply);
    else
        c->round->failed |= !reply;
    stream_reply_done(c);
}

static void on_status(redisAsyncContext *ac, void *reply_, void *privdata)
{
    struct round *r = privdata;
    redisReply *reply = reply_;

    if (reply && reply->type == REDIS_REPLY_ARRAY && r->n_consumers < CONSUMERS_MAX) {
        struct consumer_status *cs = &r->consumers[r->n_consumers];
        memset(cs, 0, sizeof(*cs));
        for (size_t f = 0; f + 1 < reply->elements; f += 2) {
            const redisReply *k = reply->element[f], *v = reply->element[f + 1];
            if (k->type != REDIS_REPLY_STRING || v->type != REDIS_REPLY_STRING)
                continue;
            if (strcmp(k->str, "state") == 0)
                snprintf(cs->state, sizeof(cs->state), "%s", v->str);
            else if (strcmp(k->str, "detail") == 0)
                snprintf(cs->detail, sizeof(cs->detail), "%s", v->str);
            else if (strcmp(k->str, "key") == 0)
                snprintf(cs->key, sizeof(cs->key), "%s", v->str);
            for (size_t c = 0; c < N_COUNTERS; c++)
                if (strcmp(k->str, consumer_counters[c].field) == 0)
                    cs->counts[c] = strtoull(v->str, NULL, 10);
        }
        if (cs->state[0])
            r->n_consumers++;
    } else if (!reply) {
        r->failed = true;
    }
    round_done(r);
}

static void on_scan_status(redisAsyncContext *ac, void *reply_, void *privdata);

/*
 * One step of the scan for the status hashes, from cursor ("0" to begin). Returns 0 when
 * sent (the reply counts towards the round), -1 when the link cannot take it.
 */
static int send_status_scan(struct round *r, const char *cursor)
{
    char pattern[KEY_MAX];
    const char *argv[] = {"SCAN", cursor, "MATCH", pattern, "COUNT", "1000", "TYPE", "hash"};
    size_t lens[8];

    snprintf(pattern, sizeof(pattern), "%sworker:*", r->owner->cfg->redis.stream_prefix);
    for (int k = 0; k < 8; k++)
        lens[k] = strlen(argv[k]);
    if (redis_out_command(r->owner->out, on_scan_status, r, 8, argv, lens) < 0)
        return -1;
    r->outstanding++;
    return 0;
}

/*
 * A step's keys of status hashes: each is read with the key put in the hash reply, so
 * that the reply says whose it is. Then the next step, until the cursor is back at 0
 * or CONSUMERS_MAX hashes are asked for. A step that cannot be sent fails the round:
 * a partial list of consumers is not published.
 */
static void on_scan_status(redisAsyncContext *ac, void *reply_, void *privdata)
{
    struct round *r = privdata;
    redisReply *reply = reply_;

    if (reply && reply->type == REDIS_REPLY_ARRAY && reply->elements == 2 &&
        reply->element[0]->type == REDIS_REPLY_STRING &&
        reply->element[1]->type == REDIS_REPLY_ARRAY && r->owner) {
        const redisReply *cursor = reply->element[0], *keys = reply->element[1];
        for (size_t i = 0; i < keys->elements && r->n_status_asked < CONSUMERS_MAX; i++) {
            const redisReply *k = keys->element[i];
            const char *argv[] = {"EVAL",
                                  "local h = redis.call('HGETALL', KEYS[1]) "
                                  "table.insert(h, 'key') table.insert(h, KEYS[1]) return h",
                                  "1", k->str};
            size_t lens[] = {4, strlen(argv[1]), 1, k->len};
            if (k->type != REDIS_REPLY_STRING)
                continue;
            if (redis_out_command(r->owner->out, on_status, r, 4, argv, lens) < 0) {
                r->failed = true;
                break;
            }
            r->outstanding++;
            r->n_status_asked++;
        }
        if (!r->failed && strcmp(cursor->str, "0") != 0 && r->n_status_asked < CONSUMERS_MAX &&
            send_status_scan(r, cursor->str) < 0)
            r->failed = true;
    } else if (!reply) {
        r->failed = true;
    }
    round_done(r);
}

static void start_round(struct streams *s)
{
    const struct catalog *cat = *s->cat;
    struct round *r;

    if (s->busy || !redis_out_ready(s->out))
        return;
    if (!(r = calloc(1, sizeof(*r))) ||
        !(r->stats = calloc(router_type_count(cat), sizeof(*r->stats)))) {
        free(r);
        return;
    }
    r->owner = s;
    r->n = router_type_count(cat);
    r->outstanding = 1; /* held until every command is sent */
    s->busy = r;
    for (size_t i = 0; i < r->n; i++) {
        struct stream_stats *st = &r->stats[i];
        const char *verbs[2][3] = {{"XLEN", NULL, NULL}, {"XINFO", "GROUPS", NULL}};
        snprintf(st->key, sizeof(st->key), "%sevents:%s", s->cfg->redis.stream_prefix,
                 router_type(cat, i));
        for (int v = 0; v < 2; v++) {
            struct stream_ctx *c = malloc(sizeof(*c));
            const char *argv[3];
            size_t lens[3];
            int argc = v == 0 ? 2 : 3;
            argv[0] = verbs[v][0];
            if (v == 0) {
                argv[1] = st->key;
            } else {
                argv[1] = verbs[v][1];
                argv[2] = st->key;
            }
            for (int k = 0; k < argc; k++)
                lens[k] = strlen(argv[k]);
            if (!c)
                continue;
            *c = (struct stream_ctx){r, st, 0};
            st->outstanding++;
            r->outstanding++;
            if (redis_out_command(s->out, v == 0 ? on_length : on_groups, c, argc, argv, lens) <
                0) {
                free(c);
                st->outstanding--;
                r->outstanding--;
                st->failed = true;
            }
        }
    }
    if (send_status_scan(r, "0") < 0)
        r->failed = true;
    round_done(r); /* releases the hold */
}

static void on_timer(uv_timer_t *t)
{
    start_round(t->data);
}

struct streams *streams_new(uv_loop_t *loop, const struct hub_config *cfg, struct redis_out *out,
                            struct catalog *const *cat)
{
    struct streams *s = calloc(1, sizeof(*s));

    if (!s)
        return NULL;
    s->cfg = cfg;
    s->out = out;
    s->cat = cat;
    uv_timer_init(loop, &s->timer);
    s->timer.data = s;
    uv_timer_start(&s->timer, on_timer, (uint64_t)cfg->redis.trim_interval_ms,
                   (uint64_t)cfg->redis.trim_interval_ms);
    return s;
}

static void on_closed(uv_handle_t *h)
{
    struct streams *s = h->data;

    round_free(s->last);
    free(s);
}

void streams_close(struct streams *s)
{
    if (!s)
        return;
    if (s->busy)
        s->busy->owner = NULL; /* the round frees itself when its replies are in */
    uv_close((uv_handle_t *)&s->timer, on_closed);
}

int streams_unhealthy_consumers(const struct streams *s)
{
    int n = 0;

    if (!s->last)
        return 0;
    for (int i = 0; i < s->last->n_consumers; i++)
        if (strcmp(s->last->consumers[i].state, "ok") != 0)
            n++;
    return n;
}

void streams_render_unhealthy(const struct streams *s, FILE *out)
{
    bool first = true;

    fputc('{', out);
    for (int i = 0; s && s->last && i < s->last->n_consumers; i++) {
        const struct consumer_status *cs = &s->last->consumers[i];
        if (strcmp(cs->state, "ok") == 0)
            continue;
        fputs(first ? "" : ",", out);
        http_json_string(out, cs->key);
        fputc(':', out);
        http_json_string(out, cs->detail[0] ? cs->detail : cs->state);
        first = false;
    }
    fputc('}', out);
}

static void render_consumer_counters(const struct round *r, FILE *out)
{
    for (size_t c = 0; c < N_COUNTERS; c++) {
        fprintf(out, "# HELP %s %s\n# TYPE %s counter\n", consumer_counters[c].name,
                consumer_counters[c].help, consumer_counters[c].name);
        for (int i = 0; i < r->n_consumers; i++) {
            prom_series(out, consumer_counters[c].name, "consumer", r->consumers[i].key,
                           NULL, NULL);
            fprintf(out, "%" PRIu64 "\n", r->consumers[i].counts[c]);
        }
    }
}

void streams_render(const struct streams *s, FILE *out)
{
    const struct round *r = s->last;
    uint64_t now_ms;
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    now_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
    fprintf(out, "# HELP rheinhub_stream_trimmed_total Entries trimmed after every group "
                 "acknowledged them.\n# TYPE rheinhub_stream_trimmed_total counter\n");
    for (size_t i = 0; i < s->n_totals; i++) {
        prom_series(out, "rheinhub_stream_trimmed_total", "stream", s->totals[i].key, NULL,
                    NULL);
        fprintf(out, "%" PRIu64 "\n", s->totals[i].trimmed);
    }
    fprintf(out, "# HELP rheinhub_stream_dropped_total Entries dropped by the memory cap before "
                 "every group had them.\n# TYPE rheinhub_stream_dropped_total counter\n");
    for (size_t i = 0; i < s->n_totals; i++) {
        prom_series(out, "rheinhub_stream_dropped_total", "stream", s->totals[i].key, NULL,
                    NULL);
        fprintf(out, "%" PRIu64 "\n", s->totals[i].dropped);
    }
    if (!r)
        return;
    fprintf(out, "# HELP rheinhub_stream_length Entries in the stream.\n"
                 "# TYPE rheinhub_stream_length gauge\n");
    for (size_t i = 0; i < r->n; i++) {
        prom_series(out, "rheinhub_stream_length", "stream", r->stats[i].key, NULL, NULL);
        fprintf(out, "%" PRIu64 "\n", r->stats[i].length);
    }
    fprintf(out, "# HELP rheinhub_group_lag Entries of the stream the group has not read yet.\n"
                 "# TYPE rheinhub_group_lag gauge\n");
    for (size_t i = 0; i < r->n; i++)
        for (int g = 0; g < r->stats[i].n_groups; g++)
            if (r->stats[i].groups[g].lag_known) {
                prom_series(out, "rheinhub_group_lag", "stream", r->stats[i].key, "group",
                            r->stats[i].groups[g].name);
                fprintf(out, "%" PRIu64 "\n", r->stats[i].groups[g].lag);
            }
    fprintf(out, "# HELP rheinhub_group_pending Entries read but not acknowledged.\n"
                 "# TYPE rheinhub_group_pending gauge\n");
    for (size_t i = 0; i < r->n; i++)
        for (int g = 0; g < r->stats[i].n_groups; g++) {
            prom_series(out, "rheinhub_group_pending", "stream", r->stats[i].key, "group",
                        r->stats[i].groups[g].name);
            fprintf(out, "%" PRIu64 "\n", r->stats[i].groups[g].pending);
        }
    fprintf(out, "# HELP rheinhub_group_oldest_pending_seconds Age of the oldest entry read "
                 "but not acknowledged.\n# TYPE rheinhub_group_oldest_pending_seconds gauge\n");
    for (size_t i = 0; i < r->n; i++) {
        for (int g = 0; g < r->stats[i].n_groups; g++) {
            const struct group_stats *gs = &r->stats[i].groups[g];
            uint64_t ms = gs->oldest_pending[0] ? strtoull(gs->oldest_pending, NULL, 10) : 0;
            double age = ms && now_ms > ms ? (double)(now_ms - ms) / 1000.0 : 0.0;
            prom_series(out, "rheinhub_group_oldest_pending_seconds", "stream",
                        r->stats[i].key, "group", gs->name);
            fprintf(out, "%.3f\n", age);
        }
    }
    fprintf(out, "# HELP rheinhub_worker_consumer_healthy 1 when a worker consumer reports ok.\n"
                 "# TYPE rheinhub_worker_consumer_healthy gauge\n");
    for (int i = 0; i < r->n_consumers; i++) {
        prom_series(out, "rheinhub_worker_consumer_healthy", "consumer", r->consumers[i].key,
                    NULL, NULL);
        fprintf(out, "%d\n", strcmp(r->consumers[i].state, "ok") == 0);
    }
    /* Counters of the worker's process: a restarted worker starts again from 0, which
     * Prometheus's rate() takes as a counter reset. */
    render_consumer_counters(r, out);
}
