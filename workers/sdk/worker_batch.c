// SPDX-License-Identifier: MIT
/*
 * Reading a worker's entries and handing them to its callback: XREADGROUP (own
 * pending entries first, then new ones), XAUTOCLAIM (retries, and entries a dead
 * consumer left), delivery counts from XPENDING, the envelope decoded, the route's
 * patterns applied, dead letters written, and XACK for what is done, one command per
 * stream. The entries of one read are one unit: the hiredis reply that holds them
 * lives until they are acknowledged or left pending.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis_master.h"
#include "worker_batch.h"
#include "worker_deadletter.h"
#include "worker_health.h"
#include "worker_internal.h"
#include "worker_link.h"
#include "worker_stop.h"

/* Reads in a row while they return entries, before the loop takes its turn. */
#define READ_CHAIN_MAX 8
/* Bytes per chunk of a read's msgpack zone: the decoded envelopes of about a hundred
 * entries of a few hundred bytes each. */
#define BATCH_ZONE_CHUNK (64 * 1024)

enum source {
    FROM_NEW,     /* XREADGROUP ">": first delivery */
    FROM_HISTORY, /* XREADGROUP <id>: own pending entries, delivered before */
    FROM_CLAIM,   /* XAUTOCLAIM: idle pending entries, ours or a dead consumer's */
};

/* One stream entry of a read. */
struct item {
    struct worker_stream *stream;
    const char *id;               /* borrowed from the reply */
    const redisReply *fields;     /* flat [field, value, ...]; NULL: trimmed away */
    enum source source;
    unsigned deliveries;
    bool ack;                     /* done: acknowledge */
    struct worker_event *event;   /* handed to the callback; NULL otherwise */
};

/* ------------------------------------------------------------------------------------------ */

/* The env field of an entry, or NULL. */
static const redisReply *entry_env(const redisReply *fields)
{
    for (size_t i = 0; i + 1 < fields->elements; i += 2) {
        const redisReply *k = fields->element[i], *v = fields->element[i + 1];
        if (k->type == REDIS_REPLY_STRING && k->len == 3 && memcmp(k->str, "env", 3) == 0 &&
            v->type == REDIS_REPLY_STRING)
            return v;
    }
    return NULL;
}

/*
 * Appends the entries of one [[id, fields|nil], ...] reply array to items (room for
 * all of them is there). Returns how many, or -EPROTO on an unexpected shape.
 */
static int collect(struct worker_stream *s, const redisReply *entries, enum source source,
                   struct item *items)
{
    int n = 0;

    if (entries->type != REDIS_REPLY_ARRAY)
        return -EPROTO;
    for (size_t i = 0; i < entries->elements; i++) {
        const redisReply *e = entries->element[i];
        struct item *it = &items[n];

        if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
            e->element[0]->type != REDIS_REPLY_STRING ||
            e->element[0]->len >= WORKER_ID_MAX ||
            (e->element[1]->type != REDIS_REPLY_ARRAY && e->element[1]->type != REDIS_REPLY_NIL))
            return -EPROTO;
        memset(it, 0, sizeof(*it));
        it->stream = s;
        it->id = e->element[0]->str;
        it->fields = e->element[1]->type == REDIS_REPLY_ARRAY ? e->element[1] : NULL;
        it->source = source;
        it->deliveries = 1;
        n++;
    }
    return n;
}

/*
 * Delivery counts of entries delivered before, from XPENDING <stream> <group> <id>
 * <id> 1, pipelined. Returns 0, or -ENOTCONN (the link is down).
 */
static int fetch_deliveries(struct worker *w, struct item *items, size_t n)
{
    size_t sent = 0;

    if (worker_link_drain(w) < 0)
        return -ENOTCONN;

    for (size_t i = 0; i < n; i++) {
        const char *argv[] = {"XPENDING", items[i].stream->key, w->kind, items[i].id,
                              items[i].id, "1"};
        if (!items[i].fields || items[i].source == FROM_NEW)
            continue;
        if (redisAppendCommandArgv(w->redis, 6, argv, NULL) != REDIS_OK) {
            worker_link_failed(w, "XPENDING");
            return -ENOTCONN;
        }
        sent++;
    }
    for (size_t i = 0; i < n && sent; i++) {
        redisReply *reply;

        if (!items[i].fields || items[i].source == FROM_NEW)
            continue;
        if (redisGetReply(w->redis, (void **)&reply) != REDIS_OK) {
            worker_link_failed(w, "XPENDING");
            return -ENOTCONN;
        }
        sent--;
        /* [[id, consumer, idle ms, deliveries]]; empty when acknowledged meanwhile */
        if (reply->type == REDIS_REPLY_ARRAY && reply->elements == 1 &&
            reply->element[0]->type == REDIS_REPLY_ARRAY &&
            reply->element[0]->elements == 4 &&
            reply->element[0]->element[3]->type == REDIS_REPLY_INTEGER &&
            reply->element[0]->element[3]->integer > 0) {
            long long d = reply->element[0]->element[3]->integer;
            items[i].deliveries = d > 1000000 ? 1000000u : (unsigned)d;
        }
        freeReplyObject(reply);
    }
    return 0;
}

/*
 * Writes a dead letter for it and marks it for acknowledgement. Returns 0; -EIO when
 * Redis refused it (the entry stays pending, to be claimed again); -ENOTCONN.
 */
static int dead_letter(struct worker *w, struct item *it, enum worker_deadletter_reason reason,
                       const char *topic, const char *detail)
{
    const redisReply *env = it->fields ? entry_env(it->fields) : NULL;
    char *history = worker_history_json(w->history, it->stream->key, it->id);
    struct worker_deadletter dl = {
        .reason = reason,
        .topic = topic,
        .detail = detail,
        .payload = env ? env->str : "",
        .payload_len = env ? env->len : 0,
        .stream = it->stream->key,
        .entry_id = it->id,
        .group = w->kind,
        .consumer = w->consumer,
        .deliveries = it->deliveries,
        .history = history ? history : "[]",
    };
    int r = worker_link_drain(w);

    if (r == 0)
        r = worker_deadletter_add(w->redis, w->deadletter_key, w->cfg.ingest.deadletter_maxlen,
                                  &dl);
    free(history);
    if (r == -ENOTCONN) {
        worker_link_failed(w, "XADD dead letter");
        return r;
    }
    if (r < 0) {
        log_warn(w->component, "dead letter for %s %s refused by redis; the entry stays pending",
                 it->stream->key, it->id);
        return r;
    }
    log_warn(w->component, "dead letter (%s) for %s %s after %u deliveries: %s",
             worker_deadletter_reason_name(reason), it->stream->key, it->id, it->deliveries,
             detail);
    worker_history_remove(w->history, it->stream->key, it->id);
    w->deadlettered++;
    it->ack = true;
    w->status_dirty = true;
    return 0;
}

/*
 * XACK <stream> <group> <ids...> for every stream with items marked ack, sent ahead:
 * their replies are read before the link's next use (worker_link_drain), normally
 * together with the next read's, so that acknowledging costs no round trip of its own.
 */
static void ack_items(struct worker *w, struct item *items, size_t n)
{
    const char **argv = malloc((n + 3) * sizeof(*argv));
    size_t sent = 0;

    if (!argv) {
        log_error(w->component, "out of memory acknowledging; the entries come back");
        return;
    }
    for (size_t s = 0; s < w->n_streams; s++) {
        int argc = 3;

        argv[0] = "XACK";
        argv[1] = w->streams[s].key;
        argv[2] = w->kind;
        for (size_t i = 0; i < n; i++)
            if (items[i].ack && items[i].stream == &w->streams[s])
                argv[argc++] = items[i].id;
        if (argc == 3)
            continue;
        if (redisAppendCommandArgv(w->redis, argc, argv, NULL) != REDIS_OK) {
            free(argv);
            worker_link_failed(w, "XACK");
            return;
        }
        sent++;
    }
    free(argv);
    w->unread_replies += (int)sent;
}

/* Clears an event slot that is not handed on, for the next entry (what its decoding
 * took from the batch's zone stays there until the batch ends). */
static void release(struct worker_event *ev)
{
    memset(ev, 0, sizeof(*ev));
}

static void str_copy(char *dst, size_t size, const struct envelope_str *s)
{
    size_t n = s->len < size - 1 ? s->len : size - 1;

    memcpy(dst, s->ptr, n);
    dst[n] = '\0';
}

/*
 * Hands the events to the callback, batch_max at a time, and marks what is done.
 * Returns 0, or -1 when processing must end here (a failed batch, a lost link).
 */
static int run_batches(struct worker *w, struct item *items, size_t n_items,
                       struct worker_event *events, size_t n_events)
{
    size_t max = (size_t)w->cfg.worker.batch_max;

    for (size_t off = 0; off < n_events; off += max) {
        size_t n = n_events - off < max ? n_events - off : max;
        int r;

        if (off > 0 && (worker_stopping(w) || !w->redis))
            return -1; /* the rest stays pending: read again at the next start */
        for (size_t i = off; i < off + n; i++) {
            events[i].failed = false;
            events[i].error[0] = '\0';
        }
        r = w->def->batch(w, w->def->data, events + off, n);
        if (w->redis && w->redis->err)
            worker_link_failed(w, "batch");
        if (r < 0) {
            char detail[WORKER_DETAIL_MAX];
            snprintf(detail, sizeof(detail), "batch failed: %s", strerror(-r));
            worker_batch_failed(w, detail);
            return -1;
        }
        if (!w->redis)
            return -1;
        worker_batch_succeeded(w);
        for (size_t k = 0; k < n_items; k++) {
            struct item *it = &items[k];
            struct worker_event *ev = it->event;

            if (!ev || ev < events + off || ev >= events + off + n)
                continue;
            if (!ev->failed) {
                w->processed++;
                worker_history_remove(w->history, it->stream->key, it->id);
                it->ack = true;
                continue;
            }
            ev->error[sizeof(ev->error) - 1] = '\0';
            if (!ev->error[0])
                snprintf(ev->error, sizeof(ev->error), "failed");
            w->failed++;
            w->status_dirty = true;
            if (worker_history_add(w->history, it->stream->key, it->id, ev->error) < 0)
                log_warn(w->component, "out of memory keeping the history of %s %s",
                         it->stream->key, it->id);
            if (it->deliveries >= (unsigned)w->cfg.worker.max_deliveries) {
                char topic[512];
                str_copy(topic, sizeof(topic), &ev->env.source);
                if (dead_letter(w, it, WORKER_DEADLETTER_WORKER_FAILED, topic, ev->error) ==
                    -ENOTCONN)
                    return -1;
            } else {
                log_debug(w->component, "%s %s failed (delivery %u): %s", it->stream->key,
                          it->id, it->deliveries, ev->error);
            }
        }
    }
    return 0;
}

/*
 * Handles the entries of one read: delivery counts, poison and exhausted entries to
 * the dead-letter stream, the route's patterns, the callback, and one XACK per
 * stream. items borrow from replies the caller frees afterwards.
 */
static void handle(struct worker *w, struct item *items, size_t n)
{
    struct worker_event *events = NULL;
    msgpack_zone zone; /* every envelope of the read: one allocation per chunk, not each */
    size_t n_events = 0;
    unsigned max = (unsigned)w->cfg.worker.max_deliveries;

    if (n == 0)
        return;
    if (fetch_deliveries(w, items, n) < 0)
        return;
    if (!msgpack_zone_init(&zone, BATCH_ZONE_CHUNK)) {
        log_error(w->component, "out of memory for a batch of %zu; trying again later", n);
        worker_batch_failed(w, "out of memory");
        return;
    }
    if (!(events = calloc(n, sizeof(*events)))) {
        log_error(w->component, "out of memory for a batch of %zu; trying again later", n);
        worker_batch_failed(w, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n && w->redis; i++) {
        struct item *it = &items[i];
        const redisReply *env;
        struct worker_event *ev = &events[n_events];
        const char *why = NULL;

        if (!it->fields) {
            log_debug(w->component, "%s %s was trimmed before it was acknowledged",
                      it->stream->key, it->id);
            it->ack = true;
            continue;
        }
        if (!(env = entry_env(it->fields))) {
            dead_letter(w, it, WORKER_DEADLETTER_POISON, "", "entry has no env field");
            continue;
        }
        if (envelope_decode_zone(env->str, env->len, &zone, &ev->env, &why) < 0) {
            char detail[200];
            snprintf(detail, sizeof(detail), "envelope: %s", why);
            release(ev);
            dead_letter(w, it, WORKER_DEADLETTER_POISON, "", detail);
            continue;
        }
        if (it->source == FROM_CLAIM && it->deliveries > max) {
            char topic[512], detail[WORKER_DETAIL_MAX];
            const char *last = NULL;
            size_t kept = worker_history_count(w->history, it->stream->key, it->id);

            if (kept)
                last = worker_history_error(w->history, it->stream->key, it->id, kept - 1);
            snprintf(detail, sizeof(detail), "%s", last ? last
                     : "delivered more than worker.max_deliveries times (no history here: "
                       "an earlier run or another consumer had it)");
            str_copy(topic, sizeof(topic), &ev->env.source);
            release(ev);
            dead_letter(w, it, WORKER_DEADLETTER_WORKER_FAILED, topic, detail);
            continue;
        }
        if (!worker_route_match(&w->route, ev->env.municipality.ptr, ev->env.municipality.len,
                                ev->env.subject.ptr, ev->env.subject.len)) {
            release(ev);
            w->skipped++;
            it->ack = true;
            continue;
        }
        ev->stream = it->stream->key;
        ev->entry_id = it->id;
        ev->raw = env->str;
        ev->raw_len = env->len;
        ev->deliveries = it->deliveries;
        it->event = ev;
        n_events++;
    }
    if (w->redis && n_events)
        run_batches(w, items, n, events, n_events);
    if (w->redis)
        ack_items(w, items, n);
out:
    msgpack_zone_destroy(&zone);
    free(events);
}

/* ------------------------------------------------------------------------------------------ */

/*
 * One XREADGROUP, blocking up to block_ms when every stream reads new entries (no
 * BLOCK when block_ms < 0), sent together with the XACKs still unread, and the
 * entries it returned handled. Returns how many entries it returned, or -1.
 */
static int read_once(struct worker *w, int block_ms)
{
    size_t n_ready = 0, cap = 0;
    bool any_history = false;
    const char **argv;
    char count[16], block[16];
    int argc = 0, n = 0;
    redisReply *reply = NULL;
    struct item *items = NULL;

    for (size_t i = 0; i < w->n_streams; i++) {
        n_ready += w->streams[i].ready;
        any_history |= w->streams[i].ready && w->streams[i].history;
    }
    if (n_ready == 0)
        return -1;
    if (!(argv = malloc((9 + 2 * n_ready) * sizeof(*argv))))
        return -1;
    snprintf(count, sizeof(count), "%d", w->cfg.worker.batch_max);
    snprintf(block, sizeof(block), "%d", block_ms);
    argv[argc++] = "XREADGROUP";
    argv[argc++] = "GROUP";
    argv[argc++] = w->kind;
    argv[argc++] = w->consumer;
    argv[argc++] = "COUNT";
    argv[argc++] = count;
    if (!any_history && block_ms >= 0) { /* a read of pending entries answers at once */
        argv[argc++] = "BLOCK";
        argv[argc++] = block;
    }
    argv[argc++] = "STREAMS";
    for (size_t i = 0; i < w->n_streams; i++)
        if (w->streams[i].ready)
            argv[argc++] = w->streams[i].key;
    for (size_t i = 0; i < w->n_streams; i++)
        if (w->streams[i].ready)
            argv[argc++] = w->streams[i].history ? w->streams[i].cursor : ">";
    if (redisAppendCommandArgv(w->redis, argc, argv, NULL) != REDIS_OK) {
        free(argv);
        worker_link_failed(w, "XREADGROUP");
        return -1;
    }
    free(argv);
    /* The XACKs sent ahead answer first. */
    if (worker_link_drain(w) < 0)
        return -1;
    if (redisGetReply(w->redis, (void **)&reply) != REDIS_OK || !reply) {
        worker_link_failed(w, "XREADGROUP");
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR && redis_master_lost(reply->str)) {
        /* Demoted by a failover: the next link goes to the new master. */
        log_warn(w->component, "redis %s:%d: %s", w->master.host, w->master.port, reply->str);
        freeReplyObject(reply);
        worker_link_failed(w, "XREADGROUP");
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        char detail[WORKER_DETAIL_MAX];
        if (strncmp(reply->str, "NOGROUP", 7) == 0)
            for (size_t i = 0; i < w->n_streams; i++)
                w->streams[i].ready = false; /* a stream was deleted: make the groups again */
        snprintf(detail, sizeof(detail), "XREADGROUP: %s", reply->str);
        worker_batch_failed(w, detail);
        w->next_route_ms = 0;
        goto out;
    }
    if (reply->type == REDIS_REPLY_NIL) /* nothing new within block_ms */
        goto out;
    if (reply->type != REDIS_REPLY_ARRAY)
        goto bad;
    for (size_t i = 0; i < reply->elements; i++) {
        const redisReply *s = reply->element[i];
        if (s->type != REDIS_REPLY_ARRAY || s->elements != 2 ||
            s->element[1]->type != REDIS_REPLY_ARRAY)
            goto bad;
        cap += s->element[1]->elements;
    }
    if (cap && !(items = calloc(cap, sizeof(*items)))) {
        log_error(w->component, "out of memory for %zu entries", cap);
        goto out;
    }
    /* A stream read in history mode that returned nothing has no more pending entries. */
    for (size_t i = 0; i < w->n_streams; i++) {
        struct worker_stream *ws = &w->streams[i];
        const redisReply *entries = NULL;
        int got;

        if (!ws->ready)
            continue;
        for (size_t k = 0; k < reply->elements && !entries; k++) {
            const redisReply *name = reply->element[k]->element[0];
            if (name->type == REDIS_REPLY_STRING && strlen(ws->key) == name->len &&
                memcmp(ws->key, name->str, name->len) == 0)
                entries = reply->element[k]->element[1];
        }
        if (!entries) {
            if (ws->history)
                ws->history = false;
            continue;
        }
        if ((got = collect(ws, entries, ws->history ? FROM_HISTORY : FROM_NEW, items + n)) < 0)
            goto bad;
        if (ws->history) {
            if (got == 0) {
                ws->history = false;
                log_debug(w->component, "%s: own pending entries done; reading new ones",
                          ws->key);
            } else {
                snprintf(ws->cursor, sizeof(ws->cursor), "%s", items[n + got - 1].id);
            }
        }
        n += got;
    }
    handle(w, items, (size_t)n);
    free(items);
    freeReplyObject(reply);
    return n;
bad:
    log_warn(w->component, "XREADGROUP: unexpected reply shape");
    worker_batch_failed(w, "XREADGROUP: unexpected reply");
out:
    free(items);
    freeReplyObject(reply);
    return -1;
}

void worker_read(struct worker *w, int block_ms)
{
    /*
     * While reads return entries, the next read goes out at once, without BLOCK and
     * with the last batch's XACKs, so that a busy worker spends one round trip per
     * batch. A few in a row at most, and none once the loop has something due
     * (heartbeat, route check, claims, a status change), or while a batch has asked for
     * a pause (worker_delay_read).
     */
    for (int i = 0; i < READ_CHAIN_MAX; i++) {
        int64_t now;

        if (read_once(w, i == 0 ? block_ms : -1) <= 0 || !w->redis || worker_stopping(w) ||
            w->batch_error || w->status_dirty)
            return;
        now = worker_now_ms();
        if (now < w->next_read_ms || now >= w->next_status_ms || now >= w->next_route_ms ||
            now >= w->next_claim_ms)
            return;
    }
}

void worker_claim(struct worker *w)
{
    char min_idle[16], count[16];
    redisReply *replies[WORKER_ROUTE_STREAMS_MAX] = {0};
    struct item *items = NULL;
    size_t cap = 0, n = 0;
    int64_t now = worker_now_ms();
    int interval = w->cfg.worker.retry_ms / 2;

    /* An entry is retried between retry_ms and 1.5 retry_ms after it failed. */
    w->next_claim_ms = now + (interval < 50 ? 50 : interval);
    w->claim_more = false;
    snprintf(min_idle, sizeof(min_idle), "%d", w->cfg.worker.retry_ms);
    snprintf(count, sizeof(count), "%d", w->cfg.worker.batch_max);
    for (size_t i = 0; i < w->n_streams && w->redis; i++) {
        struct worker_stream *ws = &w->streams[i];
        const char *argv[] = {"XAUTOCLAIM", ws->key, w->kind, w->consumer, min_idle,
                              ws->claim_cursor, "COUNT", count};
        redisReply *r;

        if (!ws->ready)
            continue;
        if (!(r = worker_command(w, 8, argv, NULL)))
            break;
        replies[i] = r;
        if (r->type == REDIS_REPLY_ERROR) {
            log_warn(w->component, "XAUTOCLAIM %s: %s", ws->key, r->str);
            if (strncmp(r->str, "NOGROUP", 7) == 0) {
                ws->ready = false;
                w->next_route_ms = 0;
            }
            continue;
        }
        /* [next cursor, [[id, fields], ...], [deleted ids]] (Redis 7) */
        if (r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
            r->element[0]->type != REDIS_REPLY_STRING ||
            r->element[0]->len >= sizeof(ws->claim_cursor) ||
            r->element[1]->type != REDIS_REPLY_ARRAY) {
            log_warn(w->component, "XAUTOCLAIM %s: unexpected reply", ws->key);
            continue;
        }
        snprintf(ws->claim_cursor, sizeof(ws->claim_cursor), "%s", r->element[0]->str);
        if (strcmp(ws->claim_cursor, "0-0") != 0)
            w->claim_more = true;
        cap += r->element[1]->elements;
    }
    if (!w->redis)
        goto out;
    if (cap && !(items = calloc(cap, sizeof(*items)))) {
        log_error(w->component, "out of memory for %zu claimed entries", cap);
        goto out;
    }
    for (size_t i = 0; i < w->n_streams && cap; i++) {
        redisReply *r = replies[i];
        int got;

        if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 2 ||
            r->element[1]->type != REDIS_REPLY_ARRAY)
            continue;
        if ((got = collect(&w->streams[i], r->element[1], FROM_CLAIM, items + n)) < 0) {
            log_warn(w->component, "XAUTOCLAIM %s: unexpected entry", w->streams[i].key);
            continue;
        }
        n += (size_t)got;
    }
    if (n)
        log_debug(w->component, "claimed %zu idle pending entries", n);
    handle(w, items, n);
out:
    free(items);
    for (size_t i = 0; i < WORKER_ROUTE_STREAMS_MAX; i++)
        freeReplyObject(replies[i]);
}
