// SPDX-License-Identifier: MIT
/*
 * The alerting worker's Redis keys (store.h): loading the state at start, committing a
 * batch's effects (and forgotten tracks) atomically, the outbox of unconfirmed
 * publications, the counters. Commands are pipelined: one round trip per commit.
 */
#include "store.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "state.h"

#define HSET_PAIRS 128 /* field/value pairs per HSET */
#define SCAN_COUNT "1000"

void store_keys_init(struct store_keys *k, const char *prefix)
{
    snprintf(k->tracks, sizeof(k->tracks), "%salerting:tracks", prefix);
    snprintf(k->outbox, sizeof(k->outbox), "%salerting:outbox", prefix);
    snprintf(k->stats, sizeof(k->stats), "%salerting:stats", prefix);
    snprintf(k->stream, sizeof(k->stream), "%sevents:" ALERT_EVENT_TYPE, prefix);
}

/* One command and its reply; NULL when the link failed (-ENOTCONN in *r). */
static redisReply *command(redisContext *c, int argc, const char **argv, const size_t *lens,
                           int *r)
{
    redisReply *reply = redisCommandArgv(c, argc, argv, lens);

    if (!reply || c->err) {
        freeReplyObject(reply);
        *r = -ENOTCONN;
        return NULL;
    }
    return reply;
}

int store_load(redisContext *c, const struct store_keys *k, struct engine *e, size_t *dropped,
               const char *component)
{
    char cursor[32] = "0";
    struct track *const *tracks;
    size_t n, loaded = 0, bad = 0;
    redisReply *reply;
    int r = 0;

    *dropped = 0;
    do {
        const char *argv[] = {"HSCAN", k->tracks, cursor, "COUNT", SCAN_COUNT};
        const redisReply *items;

        if (!(reply = command(c, 5, argv, NULL, &r)))
            return r;
        if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2 ||
            reply->element[0]->type != REDIS_REPLY_STRING ||
            reply->element[1]->type != REDIS_REPLY_ARRAY) {
            log_error(component, "HSCAN %s: %s", k->tracks,
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
            freeReplyObject(reply);
            return -EIO;
        }
        snprintf(cursor, sizeof(cursor), "%s", reply->element[0]->str);
        items = reply->element[1];
        for (size_t i = 0; i + 1 < items->elements; i += 2) {
            const redisReply *field = items->element[i], *value = items->element[i + 1];
            char why[160];
            int lr;

            if (value->type != REDIS_REPLY_STRING)
                continue;
            lr = state_track_load(e, value->str, value->len, why, sizeof(why));
            if (lr == -ENOMEM) {
                freeReplyObject(reply);
                return -ENOMEM;
            }
            if (lr == -ENOENT) {
                (*dropped)++;
            } else if (lr < 0) {
                if (bad++ < 10)
                    log_warn(component, "%s %.*s: ignored: %s", k->tracks, (int)field->len,
                             field->str, why);
            } else {
                loaded++;
            }
        }
        freeReplyObject(reply);
    } while (strcmp(cursor, "0") != 0);

    tracks = engine_tracks(e, &n);
    for (size_t i = 0; i < n; i++)
        tracks[i]->published_seq = tracks[i]->seq;
    {
        const char *argv[] = {"HGETALL", k->outbox};
        if (!(reply = command(c, 2, argv, NULL, &r)))
            return r;
        if (reply->type != REDIS_REPLY_ARRAY) {
            log_error(component, "HGETALL %s: %s", k->outbox,
                      reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply");
            freeReplyObject(reply);
            return -EIO;
        }
        for (size_t i = 0; i + 1 < reply->elements; i += 2) {
            const redisReply *field = reply->element[i];
            struct track *t;
            if (field->type != REDIS_REPLY_STRING || !(t = engine_track(e, field->str)))
                continue;
            t->published_seq = 0; /* publish its alert again */
        }
        freeReplyObject(reply);
    }
    log_info(component, "state: %zu tracks loaded, %zu of rules no longer in the file, "
             "%zu unreadable", loaded, *dropped, bad);
    return 0;
}

/* The strings one commit made, freed after it. */
struct args {
    char **owned;      /* strings to free after the commit */
    size_t n_owned, cap_owned;
};

static int own(struct args *a, char *s)
{
    if (a->n_owned == a->cap_owned) {
        size_t cap = a->cap_owned ? a->cap_owned * 2 : 64;
        char **p = realloc(a->owned, cap * sizeof(*p));
        if (!p)
            return -ENOMEM;
        a->owned = p;
        a->cap_owned = cap;
    }
    a->owned[a->n_owned++] = s;
    return 0;
}

static void args_free(struct args *a)
{
    for (size_t i = 0; i < a->n_owned; i++)
        free(a->owned[i]);
    free(a->owned);
}

/* HSET <key> with up to HSET_PAIRS pairs per command. Returns the commands appended. */
static int append_hset(redisContext *c, const char *key, const char *const *fields,
                       const size_t *field_lens, const char *const *values,
                       const size_t *value_lens, size_t n, int *sent)
{
    const char *argv[2 + 2 * HSET_PAIRS];
    size_t lens[2 + 2 * HSET_PAIRS];

    for (size_t off = 0; off < n; off += HSET_PAIRS) {
        size_t m = n - off < HSET_PAIRS ? n - off : HSET_PAIRS;
        int argc = 2;

        argv[0] = "HSET";
        lens[0] = 4;
        argv[1] = key;
        lens[1] = strlen(key);
        for (size_t i = off; i < off + m; i++) {
            argv[argc] = fields[i];
            lens[argc++] = field_lens[i];
            argv[argc] = values[i];
            lens[argc++] = value_lens[i];
        }
        if (redisAppendCommandArgv(c, argc, argv, lens) != REDIS_OK)
            return -ENOTCONN;
        (*sent)++;
    }
    return 0;
}

/* HDEL <key> with the tracks' keys, when there are any. Returns 0, -ENOMEM or -ENOTCONN. */
static int append_hdel(redisContext *c, const char *key, struct track *const *tracks, size_t n,
                       int *sent)
{
    const char **argv;
    int r = 0;

    if (!n)
        return 0;
    if (!(argv = malloc((n + 2) * sizeof(*argv))))
        return -ENOMEM;
    argv[0] = "HDEL";
    argv[1] = key;
    for (size_t i = 0; i < n; i++)
        argv[i + 2] = tracks[i]->key;
    if (redisAppendCommandArgv(c, (int)n + 2, argv, NULL) != REDIS_OK)
        r = -ENOTCONN;
    else
        (*sent)++;
    free(argv);
    return r;
}

int store_commit(redisContext *c, const struct store_keys *k, struct track *const *tracks,
                 size_t n_tracks, const struct engine_change *changes, size_t n_changes,
                 struct track *const *done, size_t n_done, struct track *const *gone,
                 size_t n_gone, int64_t now_ns, const char *component)
{
    struct track *const *dirty = tracks;
    size_t n_dirty = n_tracks, n_out = 0;
    const char **fields = NULL, **values = NULL;
    size_t *field_lens = NULL, *value_lens = NULL;
    struct args a = {0};
    msgpack_sbuffer buf;
    int sent = 0, r = 0;
    bool exec_ok = false;
    const char *multi[] = {"MULTI"}, *exec[] = {"EXEC"};

    if (!n_dirty && !n_changes && !n_done && !n_gone)
        return 0;
    msgpack_sbuffer_init(&buf);
    fields = calloc(n_dirty + 1, sizeof(*fields));
    values = calloc(n_dirty + 1, sizeof(*values));
    field_lens = calloc(n_dirty + 1, sizeof(*field_lens));
    value_lens = calloc(n_dirty + 1, sizeof(*value_lens));
    if (!fields || !values || !field_lens || !value_lens) {
        r = -ENOMEM;
        goto out;
    }
    if (redisAppendCommandArgv(c, 1, multi, NULL) != REDIS_OK) {
        r = -ENOTCONN;
        goto out;
    }
    sent++;

    /* Confirmed publications first: an HSET below may put a track back. */
    if ((r = append_hdel(c, k->outbox, done, n_done, &sent)) < 0)
        goto drain;
    /* Forgotten tracks: their state and any outbox entry go together. */
    if ((r = append_hdel(c, k->tracks, gone, n_gone, &sent)) < 0 ||
        (r = append_hdel(c, k->outbox, gone, n_gone, &sent)) < 0)
        goto drain;

    /* The tracks. */
    for (size_t i = 0; i < n_dirty; i++) {
        char *json = state_track_dumps(dirty[i], &value_lens[i]);
        if (!json || own(&a, json) < 0) {
            free(json);
            r = -ENOMEM;
            goto drain;
        }
        fields[i] = dirty[i]->key;
        field_lens[i] = strlen(dirty[i]->key);
        values[i] = json;
    }
    if ((r = append_hset(c, k->tracks, fields, field_lens, values, value_lens, n_dirty, &sent)) <
        0)
        goto drain;

    /* One envelope per change, in order. */
    for (size_t i = 0; i < n_changes; i++) {
        char change_id[ALERT_CHANGE_ID_HEX + 1];
        const char *argv[] = {"XADD", k->stream, "*", "id", change_id, "env", NULL};
        size_t lens[7];

        buf.size = 0;
        if (alert_envelope(&changes[i].alert, changes[i].seq, now_ns, &buf, change_id) < 0) {
            r = -ENOMEM;
            goto drain;
        }
        argv[6] = buf.data;
        for (int j = 0; j < 6; j++)
            lens[j] = strlen(argv[j]);
        lens[6] = buf.size;
        if (redisAppendCommandArgv(c, 7, argv, lens) != REDIS_OK) {
            r = -ENOTCONN;
            goto out;
        }
        sent++;
    }

    /* The outbox: every dirty track with a change the broker has not confirmed. */
    for (size_t i = 0; i < n_dirty; i++) {
        char *seq;
        if (dirty[i]->seq <= dirty[i]->published_seq)
            continue;
        if (!(seq = malloc(24)) || own(&a, seq) < 0) {
            free(seq);
            r = -ENOMEM;
            goto drain;
        }
        snprintf(seq, 24, "%" PRIu64, dirty[i]->seq);
        fields[n_out] = dirty[i]->key;
        field_lens[n_out] = strlen(dirty[i]->key);
        values[n_out] = seq;
        value_lens[n_out] = strlen(seq);
        n_out++;
    }
    if ((r = append_hset(c, k->outbox, fields, field_lens, values, value_lens, n_out, &sent)) < 0)
        goto drain;
    if (redisAppendCommandArgv(c, 1, exec, NULL) != REDIS_OK) {
        r = -ENOTCONN;
        goto out;
    }
    sent++;

drain:
    /*
     * Read every reply. After a failure while appending, the MULTI still has to end:
     * without EXEC, Redis discards the transaction when the link closes; the caller
     * treats the commit as failed, and we DISCARD what was queued.
     */
    if (r < 0 && r != -ENOTCONN) {
        const char *discard[] = {"DISCARD"};
        if (redisAppendCommandArgv(c, 1, discard, NULL) == REDIS_OK)
            sent++;
    }
    while (sent > 0) {
        redisReply *reply;

        if (redisGetReply(c, (void **)&reply) != REDIS_OK) {
            r = -ENOTCONN;
            goto out;
        }
        sent--;
        if (sent == 0 && r == 0) {
            /* EXEC: one reply per queued command; nil or an error means not done. */
            exec_ok = reply->type == REDIS_REPLY_ARRAY;
            for (size_t i = 0; exec_ok && i < reply->elements; i++) {
                if (reply->element[i]->type == REDIS_REPLY_ERROR) {
                    log_error(component, "commit: %s", reply->element[i]->str);
                    exec_ok = false;
                }
            }
            if (reply->type == REDIS_REPLY_ERROR)
                log_error(component, "commit: EXEC: %s", reply->str);
            if (!exec_ok)
                r = -EIO;
        } else if (reply->type == REDIS_REPLY_ERROR && r == 0) {
            log_error(component, "commit: %s", reply->str);
            r = -EIO; /* EXEC then answers EXECABORT: nothing was written */
        }
        freeReplyObject(reply);
    }
    if (r == 0) {
        for (size_t i = 0; i < n_dirty; i++) {
            dirty[i]->stored = true;
            dirty[i]->dirty = false;
        }
    }
out:
    msgpack_sbuffer_destroy(&buf);
    args_free(&a);
    free(fields);
    free(values);
    free(field_lens);
    free(value_lens);
    return r;
}

int store_stats_set(redisContext *c, const struct store_keys *k, const char *name,
                    uint64_t value)
{
    char text[24];
    const char *argv[] = {"HSET", k->stats, name, text};
    redisReply *reply;
    int r = 0;

    snprintf(text, sizeof(text), "%" PRIu64, value);
    if (!(reply = command(c, 4, argv, NULL, &r)))
        return r;
    if (reply->type == REDIS_REPLY_ERROR)
        r = -EIO;
    freeReplyObject(reply);
    return r;
}

int store_stats_add(redisContext *c, const struct store_keys *k, const char *const *names,
                    const uint64_t *deltas, size_t n)
{
    size_t sent = 0;
    int r = 0;

    for (size_t i = 0; i < n; i++) {
        char delta[24];
        const char *argv[] = {"HINCRBY", k->stats, names[i], delta};

        if (!deltas[i])
            continue;
        snprintf(delta, sizeof(delta), "%" PRIu64, deltas[i]);
        if (redisAppendCommandArgv(c, 4, argv, NULL) != REDIS_OK)
            return -ENOTCONN;
        sent++;
    }
    while (sent--) {
        redisReply *reply;
        if (redisGetReply(c, (void **)&reply) != REDIS_OK)
            return -ENOTCONN;
        if (reply->type == REDIS_REPLY_ERROR)
            r = -EIO;
        freeReplyObject(reply);
    }
    return r;
}
