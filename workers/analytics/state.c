// SPDX-License-Identifier: MIT
/*
 * The analytics worker's state in Redis, all under <prefix>analytics:
 *
 *   windows  hash    acc key -> packed acc (acc.h): every open window
 *   applied  hash    one record per stored batch: the entries counted whose XACK may
 *                    not have happened yet (applied.h); a redelivered entry found in
 *                    one is not counted again
 *   late     hash    "<type>/<window>" -> events too late for that window;
 *                    "<type>/future" -> events too far ahead of the clock
 *   outbox   hash    aggregate id -> "<topic>\n<payload>": closed, not yet PUBACKed
 *   lock     string  the consumer that runs (one analytics process per Redis)
 *   published hash   "<m>/<type>/<subject>/<window>" -> end (s) of its last closed window
 *                    (forget.c)
 *
 * A batch's changes (windows, applied, late) go in one MULTI/EXEC, so Redis holds
 * either all or none of them; whatever went wrong, the worker loads the state again
 * and the SDK hands the batch over again. The applied records are pruned once a second:
 * an entry that is no longer pending in the group can never come back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "state.h"

#define LOCK_TTL_MS "30000"
#define HSET_PAIRS_MAX 128
#define HDEL_FIELDS_MAX 512
#define SCAN_COUNT "1000"
/* Records checked entry by entry in one prune, at most (the rest wait for the next). */
#define APPLIED_CHECK_MAX 64

/* ------------------------------------------------------------------------------------------ */
/* Pipelines and transactions on the SDK's synchronous link */

struct pipeline {
    redisContext *c;
    size_t pending; /* replies to read */
    int err;
};

static void pl_init(struct pipeline *p, redisContext *c)
{
    p->c = c;
    p->pending = 0;
    p->err = c ? 0 : -ENOTCONN;
}

static void pl_cmd(struct pipeline *p, int argc, const char **argv, const size_t *lens)
{
    if (p->err)
        return;
    if (redisAppendCommandArgv(p->c, argc, argv, lens) != REDIS_OK)
        p->err = -EIO;
    else
        p->pending++;
}

/*
 * Reads every reply. With txn, the first must be MULTI's OK, the middle ones QUEUED
 * and the last EXEC's array without errors. Returns 0, or -EIO (logged).
 */
static int pl_finish(struct analytics *a, struct pipeline *p, bool txn, const char *what)
{
    int r = p->err;

    for (size_t i = 0; i < p->pending; i++) {
        redisReply *reply;

        if (redisGetReply(p->c, (void **)&reply) != REDIS_OK) {
            log_warn(a->component, "%s: %s", what, p->c->errstr[0] ? p->c->errstr : "link lost");
            return -EIO;
        }
        if (reply->type == REDIS_REPLY_ERROR) {
            if (r == 0)
                log_warn(a->component, "%s: %s", what, reply->str);
            r = -EIO;
        } else if (txn && i + 1 == p->pending) {
            if (reply->type != REDIS_REPLY_ARRAY) {
                r = -EIO;
            } else {
                for (size_t k = 0; k < reply->elements; k++) {
                    if (reply->element[k]->type == REDIS_REPLY_ERROR) {
                        if (r == 0)
                            log_warn(a->component, "%s: %s", what, reply->element[k]->str);
                        r = -EIO;
                    }
                }
            }
        }
        freeReplyObject(reply);
    }
    return r;
}

/* One command, its reply returned (NULL on a link error, logged). */
static redisReply *command(struct analytics *a, int argc, const char **argv, const size_t *lens)
{
    redisContext *c = worker_redis(a->w);
    redisReply *reply;

    if (!c)
        return NULL;
    reply = redisCommandArgv(c, argc, argv, lens);
    if (!reply)
        log_warn(a->component, "%s: %s", argv[0], c->errstr[0] ? c->errstr : "link lost");
    return reply;
}

/* ------------------------------------------------------------------------------------------ */
/* The lock */

int state_lock(struct analytics *a)
{
    const char *me = worker_consumer(a->w);
    const char *set[] = {"SET", a->lock_key, me, "NX", "PX", LOCK_TTL_MS};
    const char *get[] = {"GET", a->lock_key};
    redisReply *reply = command(a, 6, set, NULL);
    int r = 0;

    if (!reply)
        return -EIO;
    if (reply->type == REDIS_REPLY_STATUS) {
        freeReplyObject(reply);
        return 0;
    }
    freeReplyObject(reply);
    if (!(reply = command(a, 2, get, NULL)))
        return -EIO;
    if (reply->type == REDIS_REPLY_STRING && strcmp(reply->str, me) == 0) {
        r = state_lock_refresh(a); /* ours, from before a restart */
    } else {
        log_error(a->component, "%s is held by %s: one analytics process runs per Redis (its "
                  "windows live in that process); it expires %s ms after that process stops",
                  a->lock_key, reply->type == REDIS_REPLY_STRING ? reply->str : "?", LOCK_TTL_MS);
        r = -EBUSY;
    }
    freeReplyObject(reply);
    return r;
}

int state_lock_refresh(struct analytics *a)
{
    const char *argv[] = {"EVAL",
                          "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                          "return redis.call('PEXPIRE', KEYS[1], ARGV[2]) else return -1 end",
                          "1", a->lock_key, worker_consumer(a->w), LOCK_TTL_MS};
    redisReply *reply = command(a, 6, argv, NULL);
    int r;

    if (!reply)
        return 0; /* the link, not the lock: the SDK reconnects */
    r = reply->type == REDIS_REPLY_INTEGER && reply->integer == -1 ? -EBUSY : 0;
    freeReplyObject(reply);
    return r;
}

void state_unlock(struct analytics *a)
{
    const char *argv[] = {"EVAL",
                          "if redis.call('GET', KEYS[1]) == ARGV[1] then "
                          "return redis.call('DEL', KEYS[1]) else return 0 end",
                          "1", a->lock_key, worker_consumer(a->w)};

    freeReplyObject(command(a, 5, argv, NULL));
}

/* ------------------------------------------------------------------------------------------ */
/* Memory */

static int clear_acc(const char *key, void *value, void *data)
{
    acc_free(strmap_remove(data, key, strlen(key)));
    return 0;
}

static int clear_plain(const char *key, void *value, void *data)
{
    strmap_remove(data, key, strlen(key));
    free(value == (void *)1 ? NULL : value);
    return 0;
}

static int clear_outbox(const char *key, void *value, void *data)
{
    outbox_item_free(strmap_remove(data, key, strlen(key)));
    return 0;
}

static int clear_ref(const char *key, void *value, void *data)
{
    strmap_remove(data, key, strlen(key));
    return 0;
}

void state_counters_clear(struct strmap *m)
{
    strmap_each(m, clear_plain, m);
}

static int clear_series(const char *key, void *value, void *data)
{
    free(strmap_remove(data, key, strlen(key)));
    return 0;
}

void state_series_clear(struct analytics *a)
{
    strmap_each(a->series, clear_series, a->series);
}

void state_clear(struct analytics *a)
{
    state_series_clear(a);
    strmap_each(a->windows, clear_acc, a->windows);
    applied_clear(&a->applied);
    strmap_each(a->late, clear_plain, a->late);
    strmap_each(a->by_mid, clear_ref, a->by_mid);
    strmap_each(a->outbox, clear_outbox, a->outbox);
    a->n_touched = 0;
    a->next_close_ns = INT64_MAX;
}

/* ------------------------------------------------------------------------------------------ */
/* Loading */

/* Calls fn(a, field, field_len, value, value_len) for every pair of an HSCAN of key. */
static int scan_hash(struct analytics *a, const char *key,
                     int (*fn)(struct analytics *a, const char *k, size_t kn, const char *v,
                               size_t vn))
{
    char cursor[32] = "0";
    int r = 0;

    do {
        const char *argv[] = {"HSCAN", key, cursor, "COUNT", SCAN_COUNT};
        redisReply *reply = command(a, 5, argv, NULL), *items;

        if (!reply)
            return -EIO;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
            reply->element[0]->type != REDIS_REPLY_STRING ||
            reply->element[1]->type != REDIS_REPLY_ARRAY) {
            log_warn(a->component, "HSCAN %s: unexpected reply%s%s", key,
                     reply->type == REDIS_REPLY_ERROR ? ": " : "",
                     reply->type == REDIS_REPLY_ERROR ? reply->str : "");
            freeReplyObject(reply);
            return -EIO;
        }
        snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
        items = reply->element[1];
        for (size_t i = 0; i + 1 < items->elements && r == 0; i += 2) {
            const redisReply *k = items->element[i], *v = items->element[i + 1];
            if (k->type == REDIS_REPLY_STRING && v->type == REDIS_REPLY_STRING)
                r = fn(a, k->str, k->len, v->str, v->len);
        }
        freeReplyObject(reply);
    } while (r == 0 && strcmp(cursor, "0") != 0);
    return r;
}

/*
 * The loaders below take a field that HSCAN gives twice (it may, when the hash is
 * resized between two calls) once: a second copy would leak the first and count it twice.
 */
static int load_window(struct analytics *a, const char *k, size_t kn, const char *v, size_t vn)
{
    struct acc *acc;
    int r = 0;

    if (strmap_get(a->windows, k, kn))
        return 0;
    acc = acc_new(k);
    if (!acc || strlen(k) != kn || (r = acc_unpack(acc, v, vn)) < 0) {
        if (!acc && errno == ENOMEM)
            return -ENOMEM;
        if (acc && r == -ENOMEM) {
            acc_free(acc);
            return -ENOMEM;
        }
        /* Nothing in it can be trusted; it stays in Redis for a look, and is not used. */
        log_error(a->component, "%s: window %.*s does not unpack: left out", a->windows_key,
                  (int)kn, k);
        acc_free(acc);
        return 0;
    }
    if (strmap_put_borrowed(a->windows, acc->key, kn, acc) < 0) {
        acc_free(acc);
        return -ENOMEM;
    }
    if (acc->end_ns + a->lateness_ns < a->next_close_ns)
        a->next_close_ns = acc->end_ns + a->lateness_ns;
    return 0;
}

static bool is_future_counter(const char *k, size_t kn)
{
    return kn > 7 && memcmp(k + kn - 7, "/future", 7) == 0;
}

static int load_late(struct analytics *a, const char *k, size_t kn, const char *v, size_t vn)
{
    uint64_t *n;

    if (strmap_get(a->late, k, kn))
        return 0;
    if (!(n = calloc(1, sizeof(*n))))
        return -ENOMEM;
    *n = strtoull(v, NULL, 10);
    if (strmap_put(a->late, k, kn, n) < 0) {
        free(n);
        return -ENOMEM;
    }
    if (is_future_counter(k, kn))
        a->future_total += *n;
    else
        a->late_total += *n;
    return 0;
}

static int load_outbox(struct analytics *a, const char *k, size_t kn, const char *v, size_t vn)
{
    const char *nl = memchr(v, '\n', vn);
    struct outbox_item *it;

    if (!nl || kn != ANALYTICS_ID_HEX) {
        log_error(a->component, "%s: entry %.*s is not <topic>\\n<payload>: left out",
                  a->outbox_key, (int)kn, k);
        return 0;
    }
    if (strmap_get(a->outbox, k, kn))
        return 0;
    if (!(it = calloc(1, sizeof(*it))))
        return -ENOMEM;
    memcpy(it->id, k, kn);
    it->topic = strndup(v, (size_t)(nl - v));
    it->payload_len = vn - (size_t)(nl - v) - 1;
    it->payload = malloc(it->payload_len + 1);
    if (!it->topic || !it->payload) {
        outbox_item_free(it);
        return -ENOMEM;
    }
    memcpy(it->payload, nl + 1, it->payload_len);
    it->payload[it->payload_len] = '\0';
    if (outbox_payload_end(it->payload, it->payload_len, &it->end_ns) < 0) {
        log_error(a->component, "%s: entry %.*s has no aggregate with an end: left out",
                  a->outbox_key, (int)kn, k);
        outbox_item_free(it);
        return 0;
    }
    if (strmap_put(a->outbox, it->id, kn, it) < 0) {
        outbox_item_free(it);
        return -ENOMEM;
    }
    return 0;
}

static int load_applied(struct analytics *a, const char *k, size_t kn, const char *v, size_t vn)
{
    int r = applied_load(&a->applied, k, kn, v, vn);

    if (r == -EINVAL) { /* its entries are unknown: they may be counted twice if they come back */
        log_error(a->component, "%s: record %.*s does not parse: left out", a->applied_key,
                  (int)kn, k);
        return 0;
    }
    return r;
}

int state_load(struct analytics *a)
{
    static bool loaded_once;
    int r;

    if (!worker_redis(a->w))
        return -ENOTCONN;
    state_clear(a);
    a->late_total = a->future_total = 0;
    if ((r = scan_hash(a, a->windows_key, load_window)) < 0 ||
        (r = scan_hash(a, a->applied_key, load_applied)) < 0 ||
        (r = scan_hash(a, a->late_key, load_late)) < 0 ||
        (r = scan_hash(a, a->outbox_key, load_outbox)) < 0 || (r = clock_restore(a)) < 0) {
        state_clear(a);
        a->reload = true;
        return r;
    }
    if (!loaded_once) { /* what was counted before this process is no news for the log */
        a->late_logged = a->late_total;
        a->future_logged = a->future_total;
        loaded_once = true;
    }
    a->reload = false;
    log_info(a->component, "state loaded: %zu open windows, %zu batches counted but maybe not "
             "acknowledged, %zu aggregates to publish", strmap_size(a->windows),
             a->applied.n_records, strmap_size(a->outbox));
    return 0;
}

/* ------------------------------------------------------------------------------------------ */
/* A batch */

static int merge_counter(const char *key, void *value, void *data)
{
    struct analytics *a = data;
    uint64_t *d = value, *total = strmap_get(a->late, key, strlen(key));

    if (!total) {
        if (!(total = calloc(1, sizeof(*total))) ||
            strmap_put(a->late, key, strlen(key), total) < 0) {
            free(total);
            return 0; /* only the in-memory figure is short; Redis has it */
        }
    }
    *total += *d;
    if (is_future_counter(key, strlen(key)))
        a->future_total += *d;
    else
        a->late_total += *d;
    return 0;
}

struct counter_cmds {
    struct analytics *a;
    struct pipeline *p;
};

static int queue_counter(const char *key, void *value, void *data)
{
    struct counter_cmds *cc = data;
    char n[24];
    const char *argv[] = {"HINCRBY", cc->a->late_key, key, n};

    snprintf(n, sizeof(n), "%" PRIu64, *(uint64_t *)value);
    pl_cmd(cc->p, 4, argv, NULL);
    return 0;
}

int state_persist_batch(struct analytics *a)
{
    struct pipeline p;
    msgpack_sbuffer buf;
    size_t *offsets = NULL, *lens = NULL, nargs = 2 + 2 * HSET_PAIRS_MAX;
    const char **argv = NULL;
    size_t *argl = NULL;
    struct counter_cmds cc = {a, &p};
    char *field = NULL, *text = NULL;
    int r = 0;

    if (a->n_touched == 0 && a->applied.n_cur == 0 && strmap_size(a->late_delta) == 0)
        return 0;
    pl_init(&p, worker_redis(a->w));
    if (p.err)
        return p.err;
    if ((r = applied_format(&a->applied, &field, &text)) < 0 && r != -ENOENT)
        return r;
    r = 0;
    msgpack_sbuffer_init(&buf);
    offsets = malloc((a->n_touched + 1) * sizeof(*offsets));
    lens = malloc((a->n_touched + 1) * sizeof(*lens));
    argv = malloc(nargs * sizeof(*argv));
    argl = malloc(nargs * sizeof(*argl));
    if (!offsets || !lens || !argv || !argl) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < a->n_touched && r == 0; i++) {
        offsets[i] = buf.size;
        r = acc_pack(a->touched[i], &buf);
        lens[i] = buf.size - offsets[i];
    }
    if (r < 0)
        goto out;

    {
        const char *multi[] = {"MULTI"};
        pl_cmd(&p, 1, multi, NULL);
    }
    for (size_t i = 0; i < a->n_touched;) {
        size_t n = 2;
        argv[0] = "HSET";
        argl[0] = 4;
        argv[1] = a->windows_key;
        argl[1] = strlen(a->windows_key);
        for (; i < a->n_touched && n < 2 + 2 * HSET_PAIRS_MAX; i++) {
            argv[n] = a->touched[i]->key;
            argl[n++] = strlen(a->touched[i]->key);
            argv[n] = buf.data + offsets[i];
            argl[n++] = lens[i];
        }
        pl_cmd(&p, (int)n, argv, argl);
    }
    if (field) {
        const char *hset[] = {"HSET", a->applied_key, field, text};
        pl_cmd(&p, 4, hset, NULL);
    }
    strmap_each(a->late_delta, queue_counter, &cc);
    {
        const char *exec[] = {"EXEC"};
        pl_cmd(&p, 1, exec, NULL);
    }
    if ((r = pl_finish(a, &p, true, "storing the batch")) < 0)
        goto out;

    /* Stored: the batch's records become the state. */
    for (size_t i = 0; i < a->n_touched; i++)
        a->touched[i]->dirty = false;
    a->n_touched = 0;
    if (field && applied_commit(&a->applied, field) < 0)
        a->reload = true; /* memory: Redis has it, take it from there */
    field = NULL;
    strmap_each(a->late_delta, merge_counter, a);
    state_counters_clear(a->late_delta);
out:
    free(field);
    free(text);
    msgpack_sbuffer_destroy(&buf);
    free(offsets);
    free(lens);
    free(argv);
    free(argl);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Pruning the applied records */

/* XPENDING <stream> <group>: the count and smallest id into *p. 0, or -EIO. */
static int pending_summary(struct analytics *a, const char *stream, struct applied_pending *p)
{
    const char *argv[] = {"XPENDING", stream, ANALYTICS_KIND};
    redisReply *reply = command(a, 3, argv, NULL);

    if (!reply)
        return -EIO;
    /* [count, smallest id, greatest id, [[consumer, count], ...]] */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 4 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER) {
        p->count = (uint64_t)reply->element[0]->integer;
        p->known = p->count == 0 ||
                   (reply->element[1]->type == REDIS_REPLY_STRING &&
                    applied_id_parse(reply->element[1]->str, &p->min_ms, &p->min_seq) == 0);
    }
    freeReplyObject(reply); /* an error (e.g. no group): unknown, the records stay */
    return 0;
}

/*
 * Whether any entry of record rec is still pending: XPENDING over the record's id
 * range, for each of its streams. 1, 0, or -EIO.
 */
static int record_pending(struct analytics *a, const struct applied_record *rec)
{
    for (size_t lo = 0, hi; lo < rec->n; lo = hi) {
        char from[48], to[48], count[24];
        const char *argv[6];
        redisReply *reply;
        int found = 0;

        for (hi = lo + 1; hi < rec->n && rec->ids[hi].stream == rec->ids[lo].stream; hi++)
            ;
        snprintf(from, sizeof(from), "%" PRIu64 "-%" PRIu64, rec->ids[lo].ms, rec->ids[lo].seq);
        snprintf(to, sizeof(to), "%" PRIu64 "-%" PRIu64, rec->ids[hi - 1].ms,
                 rec->ids[hi - 1].seq);
        snprintf(count, sizeof(count), "%zu", 4 * (hi - lo) + 16);
        argv[0] = "XPENDING";
        argv[1] = a->applied.streams[rec->ids[lo].stream];
        argv[2] = ANALYTICS_KIND;
        argv[3] = from;
        argv[4] = to;
        argv[5] = count;
        if (!(reply = command(a, 6, argv, NULL)))
            return -EIO;
        if (reply->type != REDIS_REPLY_ARRAY) {
            found = 1; /* cannot tell: keep it */
        } else {
            for (size_t k = 0; k < reply->elements && !found; k++) {
                const redisReply *e = reply->element[k];
                uint64_t ms, seq;
                if (e->type == REDIS_REPLY_ARRAY && e->elements >= 1 &&
                    e->element[0]->type == REDIS_REPLY_STRING &&
                    applied_id_parse(e->element[0]->str, &ms, &seq) == 0 &&
                    applied_record_has(rec, rec->ids[lo].stream, ms, seq))
                    found = 1;
            }
        }
        freeReplyObject(reply);
        if (found)
            return 1;
    }
    return 0;
}

int state_prune_applied(struct analytics *a)
{
    struct applied *ap = &a->applied;
    struct applied_pending *pending;
    bool *used, *done;
    const char **argv = NULL;
    size_t n_done = 0, checked = 0, before = ap->n_records;
    int r = 0;

    if (ap->n_records == 0 || !worker_redis(a->w))
        return 0;
    pending = calloc(ap->n_streams, sizeof(*pending));
    used = calloc(ap->n_streams, sizeof(*used));
    done = calloc(ap->n_records, sizeof(*done));
    argv = malloc((2 + ap->n_records) * sizeof(*argv));
    if (!pending || !used || !done || !argv) {
        r = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < ap->n_records; i++)
        for (size_t k = 0; k < ap->records[i].n; k++)
            used[ap->records[i].ids[k].stream] = true;
    for (size_t s = 0; s < ap->n_streams && r == 0; s++)
        if (used[s])
            r = pending_summary(a, ap->streams[s], &pending[s]);
    for (size_t i = 0; i < ap->n_records && r == 0; i++) {
        int still;
        if (applied_record_done(ap, i, pending)) {
            done[i] = true;
        } else if (checked < APPLIED_CHECK_MAX) {
            /* Something older is pending (a consumer that left entries behind): look closer. */
            checked++;
            if ((still = record_pending(a, &ap->records[i])) < 0)
                r = still;
            else
                done[i] = !still;
        }
    }
    if (r < 0)
        goto out;
    for (size_t i = 0; i < ap->n_records; i++)
        if (done[i])
            argv[2 + n_done++] = ap->records[i].field;
    if (n_done > 0) {
        struct pipeline p;
        argv[0] = "HDEL";
        argv[1] = a->applied_key;
        pl_init(&p, worker_redis(a->w));
        for (size_t i = 0; i < n_done; i += HDEL_FIELDS_MAX) {
            size_t k = n_done - i < HDEL_FIELDS_MAX ? n_done - i : HDEL_FIELDS_MAX;
            const char *chunk[2 + HDEL_FIELDS_MAX];
            chunk[0] = "HDEL";
            chunk[1] = a->applied_key;
            memcpy(chunk + 2, argv + 2 + i, k * sizeof(*chunk));
            pl_cmd(&p, (int)(2 + k), chunk, NULL);
        }
        /* A failed HDEL leaves records in Redis that the next load prunes again: harmless. */
        pl_finish(a, &p, false, "pruning the applied records");
        for (size_t i = ap->n_records; i-- > 0;)
            if (done[i])
                applied_drop(ap, i);
    }
    log_debug(a->component, "applied records: %zu -> %zu", before, ap->n_records);
out:
    free(pending);
    free(used);
    free(done);
    free(argv);
    return r == -ENOMEM ? r : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Status */

void state_write_status(struct analytics *a)
{
    char late[24], future[24], open[24], outbox[24], dropped[24], invalid[24], closed[24];
    char unretained[24];
    const char *argv[] = {"HSET",  a->status_key, "late",    late,    "future", future,
                          "open_windows", open,   "outbox",  outbox,  "dropped", dropped,
                          "invalid", invalid,     "closed",  closed,  "unretained", unretained};

    snprintf(late, sizeof(late), "%" PRIu64, a->late_total);
    snprintf(future, sizeof(future), "%" PRIu64, a->future_total);
    snprintf(open, sizeof(open), "%zu", strmap_size(a->windows));
    snprintf(outbox, sizeof(outbox), "%zu", strmap_size(a->outbox));
    snprintf(dropped, sizeof(dropped), "%" PRIu64, a->dropped_total);
    snprintf(invalid, sizeof(invalid), "%" PRIu64, a->invalid_total);
    snprintf(closed, sizeof(closed), "%" PRIu64, a->closed_total);
    snprintf(unretained, sizeof(unretained), "%" PRIu64, a->unretained_total);
    freeReplyObject(command(a, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL));
}
