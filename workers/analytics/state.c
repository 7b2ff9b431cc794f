// SPDX-License-Identifier: MIT
/*
 * The analytics worker's state in Redis, all under <prefix>analytics:
 *
 *   windows  hash    acc key -> packed acc (acc.h): every open window
 *   applied  set     "<stream> <entry id>" of entries counted whose XACK may not have
 *                    happened yet: a redelivered entry found here is not counted again
 *   late     hash    "<type>/<window>" -> events too late for that window;
 *                    "<type>/future" -> events too far ahead of the clock
 *   outbox   hash    aggregate id -> "<topic>\n<payload>": closed, not yet PUBACKed
 *   lock     string  the consumer that runs (one analytics process per Redis)
 *
 * A batch's changes (windows, applied, late) go in one MULTI/EXEC, so Redis holds
 * either all or none of them; whatever went wrong, the worker loads the state again
 * and the SDK hands the batch over again. The applied set is pruned once a second:
 * an entry that is no longer pending in the group can never come back.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "analytics.h"
#include "log.h"

#define LOCK_TTL_MS "30000"
#define HSET_PAIRS_MAX 128
#define SET_MEMBERS_MAX 512
#define SCAN_COUNT "1000"
/* Applied entries of one stream still pending after the cheap check: then check each. */
#define APPLIED_CHECK_EACH 4096

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

void state_clear(struct analytics *a)
{
    strmap_each(a->windows, clear_acc, a->windows);
    strmap_each(a->applied, clear_plain, a->applied);
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

static int load_window(struct analytics *a, const char *k, size_t kn, const char *v, size_t vn)
{
    struct acc *acc = acc_new(k);
    int r = 0;

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
    if (strmap_put(a->windows, k, kn, acc) < 0) {
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
    uint64_t *n = calloc(1, sizeof(*n));

    if (!n)
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
    if (close_payload_end(it->payload, it->payload_len, &it->end_ns) < 0) {
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

static int load_applied(struct analytics *a)
{
    char cursor[32] = "0";

    do {
        const char *argv[] = {"SSCAN", a->applied_key, cursor, "COUNT", SCAN_COUNT};
        redisReply *reply = command(a, 5, argv, NULL), *items;

        if (!reply)
            return -EIO;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
            reply->element[0]->type != REDIS_REPLY_STRING ||
            reply->element[1]->type != REDIS_REPLY_ARRAY) {
            freeReplyObject(reply);
            return -EIO;
        }
        snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
        items = reply->element[1];
        for (size_t i = 0; i < items->elements; i++) {
            if (items->element[i]->type == REDIS_REPLY_STRING &&
                strmap_put(a->applied, items->element[i]->str, items->element[i]->len,
                           (void *)1) < 0) {
                freeReplyObject(reply);
                return -ENOMEM;
            }
        }
        freeReplyObject(reply);
    } while (strcmp(cursor, "0") != 0);
    return 0;
}

int state_load(struct analytics *a)
{
    static bool loaded_once;
    int r;

    if (!worker_redis(a->w))
        return -ENOTCONN;
    state_clear(a);
    a->late_total = a->future_total = 0;
    if ((r = scan_hash(a, a->windows_key, load_window)) < 0 || (r = load_applied(a)) < 0 ||
        (r = scan_hash(a, a->late_key, load_late)) < 0 ||
        (r = scan_hash(a, a->outbox_key, load_outbox)) < 0) {
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
    log_info(a->component, "state loaded: %zu open windows, %zu entries counted but maybe not "
             "acknowledged, %zu aggregates to publish", strmap_size(a->windows),
             strmap_size(a->applied), strmap_size(a->outbox));
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
    int r = 0;

    if (a->n_touched == 0 && a->n_applied_new == 0 && strmap_size(a->late_delta) == 0)
        return 0;
    pl_init(&p, worker_redis(a->w));
    if (p.err)
        return p.err;
    if (nargs < 2 + SET_MEMBERS_MAX)
        nargs = 2 + SET_MEMBERS_MAX;
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
    for (size_t i = 0; i < a->n_applied_new;) {
        size_t n = 2;
        argv[0] = "SADD";
        argl[0] = 4;
        argv[1] = a->applied_key;
        argl[1] = strlen(a->applied_key);
        for (; i < a->n_applied_new && n < 2 + SET_MEMBERS_MAX; i++) {
            argv[n] = a->applied_new[i];
            argl[n++] = strlen(a->applied_new[i]);
        }
        pl_cmd(&p, (int)n, argv, argl);
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
    for (size_t i = 0; i < a->n_applied_new; i++) {
        if (strmap_put(a->applied, a->applied_new[i], strlen(a->applied_new[i]), (void *)1) < 0)
            a->reload = true; /* memory: Redis has it, take it from there */
        free(a->applied_new[i]);
    }
    a->n_applied_new = 0;
    strmap_each(a->late_delta, merge_counter, a);
    state_counters_clear(a->late_delta);
out:
    msgpack_sbuffer_destroy(&buf);
    free(offsets);
    free(lens);
    free(argv);
    free(argl);
    return r;
}

/* ------------------------------------------------------------------------------------------ */
/* Pruning the applied set */

struct id {
    uint64_t ms, seq;
};

static bool id_parse(const char *s, struct id *out)
{
    char *end;

    out->ms = strtoull(s, &end, 10);
    if (*end != '-')
        return false;
    out->seq = strtoull(end + 1, &end, 10);
    return *end == '\0' || *end == ' ';
}

static int id_cmp(const struct id *x, const struct id *y)
{
    if (x->ms != y->ms)
        return x->ms < y->ms ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct collect {
    char **keys;
    size_t n, cap;
    int err;
};

static int collect_key(const char *key, void *value, void *data)
{
    struct collect *c = data;

    if (c->n == c->cap) {
        size_t cap = c->cap ? c->cap * 2 : 256;
        char **p = realloc(c->keys, cap * sizeof(*p));
        if (!p) {
            c->err = -ENOMEM;
            return 1;
        }
        c->keys = p;
        c->cap = cap;
    }
    if (!(c->keys[c->n] = strdup(key))) {
        c->err = -ENOMEM;
        return 1;
    }
    c->n++;
    return 0;
}

static int cmp_str(const void *x, const void *y)
{
    return strcmp(*(char *const *)x, *(char *const *)y);
}

/* Forgets keys[i] in memory; the key moves to the end of the array's kept part. */
struct pruning {
    char **keys;   /* sorted copies of the applied set's members */
    size_t n;
    char **gone;   /* moved here: to SREM */
    size_t n_gone;
};

static void forget(struct analytics *a, struct pruning *pr, size_t i)
{
    strmap_remove(a->applied, pr->keys[i], strlen(pr->keys[i]));
    pr->gone[pr->n_gone++] = pr->keys[i];
    pr->keys[i] = NULL;
}

/* Whether entry id is pending in the group (XPENDING <stream> <kind> id id 1). */
static int still_pending(struct analytics *a, const char *stream, const char *id)
{
    const char *argv[] = {"XPENDING", stream, ANALYTICS_KIND, id, id, "1"};
    redisReply *reply = command(a, 6, argv, NULL);
    int r;

    if (!reply)
        return -EIO;
    r = reply->type == REDIS_REPLY_ARRAY ? reply->elements > 0 : 1; /* an error: keep it */
    freeReplyObject(reply);
    return r;
}

/* Prunes the applied keys[lo, hi) of one stream. */
static int prune_stream(struct analytics *a, struct pruning *pr, size_t lo, size_t hi)
{
    char **keys = pr->keys;
    char stream[ANALYTICS_KEY_MAX + 64];
    const char *space = strchr(keys[lo], ' ');
    const char *argv[3];
    redisReply *reply;
    struct id min;
    bool none = false, have_min = false;
    size_t left = 0;

    snprintf(stream, sizeof(stream), "%.*s", (int)(space - keys[lo]), keys[lo]);
    argv[0] = "XPENDING";
    argv[1] = stream;
    argv[2] = ANALYTICS_KIND;
    if (!(reply = command(a, 3, argv, NULL)))
        return -EIO;
    /* [count, smallest id, greatest id, [[consumer, count], ...]] */
    if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 4 &&
        reply->element[0]->type == REDIS_REPLY_INTEGER) {
        none = reply->element[0]->integer == 0;
        have_min = !none && reply->element[1]->type == REDIS_REPLY_STRING &&
                   id_parse(reply->element[1]->str, &min);
    }
    freeReplyObject(reply);
    for (size_t i = lo; i < hi; i++) {
        struct id id;
        if (none || (have_min && id_parse(strchr(keys[i], ' ') + 1, &id) && id_cmp(&id, &min) < 0))
            forget(a, pr, i);
        else
            left++;
    }
    if (left < APPLIED_CHECK_EACH)
        return 0;
    /* Many entries stay pending (a consumer that left some behind): check each one. */
    for (size_t i = lo; i < hi; i++) {
        int pending;
        if (!keys[i])
            continue;
        if ((pending = still_pending(a, stream, strchr(keys[i], ' ') + 1)) < 0)
            return pending;
        if (!pending)
            forget(a, pr, i);
    }
    return 0;
}

int state_prune_applied(struct analytics *a)
{
    struct collect c = {0};
    struct pruning pr = {0};
    struct pipeline p;
    const char **argv = NULL;
    size_t before = strmap_size(a->applied);
    int r = 0;

    if (before == 0 || !worker_redis(a->w))
        return 0;
    strmap_each(a->applied, collect_key, &c);
    if ((r = c.err) < 0 || !(pr.gone = malloc(c.n * sizeof(*pr.gone))) ||
        !(argv = malloc((2 + SET_MEMBERS_MAX) * sizeof(*argv)))) {
        r = -ENOMEM;
        goto out;
    }
    qsort(c.keys, c.n, sizeof(*c.keys), cmp_str);
    pr.keys = c.keys;
    pr.n = c.n;
    for (size_t lo = 0, hi; lo < c.n && r == 0; lo = hi) {
        const char *space = strchr(c.keys[lo], ' ');
        size_t len = space ? (size_t)(space - c.keys[lo]) + 1 : 0;

        for (hi = lo + 1; hi < c.n && len && strncmp(c.keys[hi], c.keys[lo], len) == 0; hi++)
            ;
        if (!space) /* not a member this worker writes: drop it */
            forget(a, &pr, lo);
        else
            r = prune_stream(a, &pr, lo, hi);
    }
    pl_init(&p, worker_redis(a->w));
    for (size_t i = 0; i < pr.n_gone;) {
        size_t n = 2;
        argv[0] = "SREM";
        argv[1] = a->applied_key;
        for (; i < pr.n_gone && n < 2 + SET_MEMBERS_MAX; i++)
            argv[n++] = pr.gone[i];
        pl_cmd(&p, (int)n, argv, NULL);
    }
    /* A failed SREM leaves members in Redis that the next load prunes again: harmless. */
    pl_finish(a, &p, false, "pruning the applied set");
    log_debug(a->component, "applied set: %zu -> %zu", before, strmap_size(a->applied));
out:
    for (size_t i = 0; i < c.n; i++)
        free(c.keys[i]);
    for (size_t i = 0; i < pr.n_gone; i++)
        free(pr.gone[i]);
    free(c.keys);
    free(pr.gone);
    free(argv);
    return r == -ENOMEM ? r : 0;
}

/* ------------------------------------------------------------------------------------------ */
/* Status */

void state_write_status(struct analytics *a)
{
    char late[24], future[24], open[24], outbox[24], dropped[24], invalid[24], closed[24];
    const char *argv[] = {"HSET",  a->status_key, "late",    late,    "future", future,
                          "open_windows", open,   "outbox",  outbox,  "dropped", dropped,
                          "invalid", invalid,     "closed",  closed};

    snprintf(late, sizeof(late), "%" PRIu64, a->late_total);
    snprintf(future, sizeof(future), "%" PRIu64, a->future_total);
    snprintf(open, sizeof(open), "%zu", strmap_size(a->windows));
    snprintf(outbox, sizeof(outbox), "%zu", strmap_size(a->outbox));
    snprintf(dropped, sizeof(dropped), "%" PRIu64, a->dropped_total);
    snprintf(invalid, sizeof(invalid), "%" PRIu64, a->invalid_total);
    snprintf(closed, sizeof(closed), "%" PRIu64, a->closed_total);
    freeReplyObject(command(a, (int)(sizeof(argv) / sizeof(argv[0])), argv, NULL));
}
