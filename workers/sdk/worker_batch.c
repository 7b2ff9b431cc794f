// SPDX-License-Identifier: MIT
/*
 * Reading a worker's entries and handing them to its callback: XREADGROUP (own
 * pending entries first, then new ones), XAUTOCLAIM (retries, and entries a dead
 * consumer left), delivery counts from XPENDING, each entry split into its events
 * (worker_entry.c), the route's patterns applied per event, dead letters written, and
 * XACK for the entries whose events are all done, one command per stream. The
 * entries of one read are one unit: the hiredis reply that holds them lives until
 * they are acknowledged or left pending.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "redis_master.h"
#include "worker_batch.h"
#include "worker_deadletter.h"
#include "worker_entry.h"
#include "worker_health.h"
#include "worker_internal.h"
#include "worker_link.h"
#include "worker_read_count.h"
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
    unsigned n_split;             /* events the entry holds */
    size_t first, n_events;       /* those handed to the callback: events[first..+n_events) */
};

/* ------------------------------------------------------------------------------------------ */

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
 * Writes a dead letter for the entry it, or for one of its events: payload is the
 * entry's env field (NULL) or that event's envelope. Returns 0; -EIO when Redis refused
 * it (the entry stays pending, to be claimed again); -ENOTCONN. The entry is marked
 * for acknowledgement by done() once all its dead letters are written.
 */
static int dead_letter(struct worker *w, struct item *it, enum worker_deadletter_reason reason,
                       const char *topic, const char *detail, const struct worker_event *ev)
{
    const redisReply *env = it->fields && !ev ? worker_entry_env(it->fields) : NULL;
    char *history = worker_history_json(w->history, it->stream->key, it->id);
    struct worker_deadletter dl = {
        .reason = reason,
        .topic = topic,
        .detail = detail,
        .payload = ev ? ev->raw : env ? env->str : "",
        .payload_len = ev ? ev->raw_len : env ? env->len : 0,
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
    log_warn(w->component, "dead letter (%s) for %s %s (event %u) after %u deliveries: %s",
             worker_deadletter_reason_name(reason), it->stream->key, it->id,
             ev ? ev->entry_index : 0, it->deliveries, detail);
    w->deadlettered++;
    w->status_dirty = true;
    return 0;
}

/* The entry is done: acknowledge it, and forget its history. */
static void done(struct worker *w, struct item *it)
{
    worker_history_remove(w->history, it->stream->key, it->id);
    it->ack = true;
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

static void str_copy(char *dst, size_t size, const struct envelope_str *s)
{
    size_t n = s->len < size - 1 ? s->len : size - 1;

    memcpy(dst, s->ptr, n);
    dst[n] = '\0';
}

/*
 * Writes a dead letter for each of the n events evs whose failed is set (all of them
 * when all is true), detail being the event's error, or fixed_detail when given; the
 * entry is done when every one was written. Returns 0, or -ENOTCONN.
 */
static int dead_letter_events(struct worker *w, struct item *it, struct worker_event *evs,
                              size_t n, bool all, const char *fixed_detail)
{
    bool refused = false;

    for (size_t e = 0; e < n; e++) {
        char topic[512];
        int r;

        if (!all && !evs[e].failed)
            continue;
        str_copy(topic, sizeof(topic), &evs[e].env.source);
        r = dead_letter(w, it, WORKER_DEADLETTER_WORKER_FAILED, topic,
                        fixed_detail ? fixed_detail : evs[e].error, &evs[e]);
        if (r == -ENOTCONN)
            return r;
        refused |= r < 0;
    }
    if (!refused)
        done(w, it);
    return 0;
}

/*
 * Counts the outcome of the events of entry it after the callback. The entry is done
 * when none failed. Each failed event's error is added to the entry's history; once
 * the entry reached max_deliveries, each failed event gets a dead letter and the entry
 * is done; before, it stays pending and comes back whole. Returns 0, or -ENOTCONN.
 */
static int settle(struct worker *w, struct item *it, struct worker_event *evs)
{
    const char *first_error = NULL;
    size_t n_failed = 0;

    for (size_t e = 0; e < it->n_events; e++) {
        struct worker_event *ev = &evs[e];
        char record[WORKER_ERROR_MAX + 32];

        if (!ev->failed) {
            w->processed++;
            continue;
        }
        ev->error[sizeof(ev->error) - 1] = '\0';
        if (!ev->error[0])
            snprintf(ev->error, sizeof(ev->error), "failed");
        w->failed++;
        if (n_failed++ == 0)
            first_error = ev->error;
        /* The history is the entry's: in an entry of several events, say whose error. */
        if (it->n_split > 1)
            snprintf(record, sizeof(record), "event %u: %s", ev->entry_index, ev->error);
        else
            snprintf(record, sizeof(record), "%s", ev->error);
        if (worker_history_add(w->history, it->stream->key, it->id, record) < 0)
            log_warn(w->component, "out of memory keeping the history of %s %s",
                     it->stream->key, it->id);
    }
    if (n_failed == 0) {
        done(w, it);
        return 0;
    }
    w->status_dirty = true;
    if (it->deliveries >= (unsigned)w->cfg.worker.max_deliveries)
        return dead_letter_events(w, it, evs, it->n_events, false, NULL);
    log_debug(w->component, "%s %s: %zu of %u events failed (delivery %u): %s", it->stream->key,
              it->id, n_failed, it->n_split, it->deliveries, first_error);
    return 0;
}

/*
 * Hands the events to the callback in batches of whole entries (at most batch_max
 * events, but an entry of more alone), and settles each entry. Returns 0, or -1 when
 * processing must end here (a failed batch, a lost link).
 */
static int run_batches(struct worker *w, struct item *items, size_t n_items,
                       struct worker_event *events)
{
    size_t max = (size_t)w->cfg.worker.batch_max, k = 0;
    bool first = true;

    for (;;) {
        size_t from, off, n = 0;
        int r;

        while (k < n_items && items[k].n_events == 0)
            k++;
        if (k == n_items)
            return 0;
        /* The events of consecutive items are consecutive in events. */
        from = k;
        off = items[k].first;
        while (k < n_items && (n == 0 || n + items[k].n_events <= max))
            n += items[k++].n_events;
        if (!first && (worker_stopping(w) || !w->redis))
            return -1; /* the rest stays pending: read again at the next start */
        first = false;
        for (size_t i = off; i < off + n; i++) {
            events[i].failed = false;
            events[i].error[0] = '\0';
        }
        r = w->def->batch(w, w->def->data, events + off, n);
        if (w->redis && w->redis->err)
            worker_link_failed(w, "batch");
        if (r < 0) {
            char detail[WORKER_DETAIL_MAX];
            /* The worker's own reason (which database, which file) says more than errno. */
            snprintf(detail, sizeof(detail), "batch failed: %s",
                     w->user_unhealthy && w->user_detail[0] ? w->user_detail : strerror(-r));
            worker_batch_failed(w, detail);
            return -1;
        }
        if (!w->redis)
            return -1;
        worker_batch_succeeded(w);
        for (size_t i = from; i < k; i++)
            if (items[i].n_events && settle(w, &items[i], events + items[i].first) < 0)
                return -1;
    }
}

/*
 * Handles the entries of one read: delivery counts, each entry split into its events,
 * poison and exhausted entries to the dead-letter stream, the route's patterns, the
 * callback, and one XACK per stream. items borrow from replies the caller frees
 * afterwards.
 */
static void handle(struct worker *w, struct item *items, size_t n)
{
    struct worker_event *events = NULL; /* handed to the callback, entry after entry */
    msgpack_zone zone; /* every envelope of the read: one allocation per chunk, not each */
    size_t n_events = 0, cap = 0, split_entries = 0, split_events = 0, split_bytes = 0;
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
    for (size_t i = 0; i < n && w->redis; i++) {
        struct item *it = &items[i];
        struct worker_event *evs;
        char why[WORKER_DETAIL_MAX];
        size_t kept = 0;
        int got;

        if (!it->fields) {
            log_debug(w->component, "%s %s was trimmed before it was acknowledged",
                      it->stream->key, it->id);
            it->ack = true;
            continue;
        }
        /* Room for the largest entry after the events kept so far. */
        if (cap - n_events < WORKER_ENTRY_EVENTS_MAX) {
            size_t want = cap ? 2 * cap : n + WORKER_ENTRY_EVENTS_MAX;
            struct worker_event *grown = realloc(events, want * sizeof(*events));
            if (!grown) {
                /* This entry and the rest stay pending, to be claimed again. */
                log_error(w->component, "out of memory for the events of %zu entries", n);
                break;
            }
            events = grown;
            cap = want;
        }
        evs = events + n_events;
        if ((got = worker_entry_split(it->fields, &zone, evs, why, sizeof(why))) < 0) {
            if (dead_letter(w, it, WORKER_DEADLETTER_POISON, "", why, NULL) == 0)
                done(w, it);
            continue;
        }
        it->n_split = (unsigned)got;
        if (got > 0) { /* what the next read's COUNT follows */
            split_entries++;
            split_events += (size_t)got;
            /* The envelopes fill the entry's env back to back: its length, per entry. */
            split_bytes += (size_t)(evs[got - 1].raw + evs[got - 1].raw_len - evs[0].raw);
        }
        if (it->source == FROM_CLAIM && it->deliveries > max) {
            /* Retried by a consumer that died, or its dead letters were refused. */
            char detail[WORKER_DETAIL_MAX];
            const char *last = NULL;
            size_t errors = worker_history_count(w->history, it->stream->key, it->id);

            if (errors)
                last = worker_history_error(w->history, it->stream->key, it->id, errors - 1);
            snprintf(detail, sizeof(detail), "%s", last ? last
                     : "delivered more than worker.max_deliveries times (no history here: "
                       "an earlier run or another consumer had it)");
            dead_letter_events(w, it, evs, (size_t)got, true, detail);
            continue;
        }
        for (int e = 0; e < got; e++) {
            if (!worker_route_match(&w->route, evs[e].env.municipality.ptr,
                                    evs[e].env.municipality.len, evs[e].env.subject.ptr,
                                    evs[e].env.subject.len)) {
                w->skipped++;
                continue;
            }
            if (kept != (size_t)e)
                evs[kept] = evs[e];
            evs[kept].stream = it->stream->key;
            evs[kept].entry_id = it->id;
            evs[kept].deliveries = it->deliveries;
            kept++;
        }
        it->first = n_events;
        it->n_events = kept;
        n_events += kept;
        if (kept == 0)
            it->ack = true; /* every event outside the route */
    }
    worker_read_count_learn(w, split_entries, split_events, split_bytes);
    if (w->redis && n_events)
        run_batches(w, items, n, events);
    if (w->redis)
        ack_items(w, items, n);
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
    bool any_history = false, drained = true;
    int asked = worker_read_count(w);
    unsigned long long failures = w->batch_failures;
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
    snprintf(count, sizeof(count), "%d", asked);
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
    /* The reply's objects in the arena: seven an entry, all freed at once below. */
    if (worker_reply_get(&w->read_replies, w->redis, &reply) < 0) {
        worker_reply_reset(&w->read_replies);
        worker_link_failed(w, "XREADGROUP");
        return -1;
    }
    if (reply->type == REDIS_REPLY_ERROR && redis_master_lost(reply->str)) {
        /* Demoted by a failover: the next link goes to the new master. */
        log_warn(w->component, "redis %s:%d: %s", w->master.host, w->master.port, reply->str);
        worker_reply_reset(&w->read_replies);
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
    if (reply->type == REDIS_REPLY_NIL) { /* nothing new within block_ms */
        worker_read_settled(w, failures);
        goto out;
    }
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
        if (got >= asked)
            drained = false; /* the stream may hold more */
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
    w->read_drained = drained;
    handle(w, items, (size_t)n);
    if (w->redis)
        worker_read_settled(w, failures);
    free(items);
    worker_reply_reset(&w->read_replies);
    return n;
bad:
    log_warn(w->component, "XREADGROUP: unexpected reply shape");
    worker_batch_failed(w, "XREADGROUP: unexpected reply");
out:
    free(items);
    worker_reply_reset(&w->read_replies);
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
    snprintf(count, sizeof(count), "%d", worker_read_count(w));
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
    w->read_drained = true; /* retries: no reason to read new entries sooner */
    handle(w, items, n);
out:
    free(items);
    for (size_t i = 0; i < WORKER_ROUTE_STREAMS_MAX; i++)
        freeReplyObject(replies[i]);
}
