// SPDX-License-Identifier: MIT
/*
 * The Redis writer's entries (the link is redis_link.c). Entries move through lists:
 *
 *   queue ──pump──▶ in_flight ──reply──▶ confirmed (freed; done in the journal)
 *     ▲  ▲              │ │ │
 *     │  │              │ │ └─▶ acked ──WAIT counts min_replicas_ack──▶ confirmed
 *     │  └── retry ◀────┘ │ transient error reply (OOM, LOADING, ...): back off, re-send
 *     │                   ▼
 *     └─(dead letters)─ in_doubt   link lost before the reply (or before WAIT): maybe
 *                                  written, maybe not
 *
 * Replies arrive in the order commands were sent, so in_flight is a FIFO whose head
 * is always the entry the next reply answers.
 *
 * Events are not sent as they are added: a check handle sends what the loop turn
 * queued after its I/O callbacks, the events of one stream gathered into entries of up
 * to redis.entry_events_max (entry_pack.h). One reply then answers the whole pack: the
 * pack's first item carries its size in batch, as an EVAL re-send's does. Under load
 * (a turn queued two items or more, or one within a linger of the last entry sent;
 * fewer than a full entry) the queue waits up to redis.entry_linger_ms for the next
 * turns to add to it: fewer, larger entries, which cost Redis and every group's reader
 * less per event.
 *
 * In-doubt events are re-sent once a link is back, by a script that adds each one
 * only if no entry of the stream's recent tail carries its id (resend.h); a re-send
 * Redis refused with a transient error goes again when the back-off ends. For that
 * check to be final, the lost connection must not execute anything afterwards: the
 * link fences the lost ones before any data is sent (fence.h).
 */
#include "redis_out_internal.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "backoff.h"
#include "entry_pack.h"
#include "log.h"
#include "recent_ids.h"
#include "resend.h"
#include "spool.h"

#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 2000

/* Items looked at for one pack's stream before it is sent as it is. */
#define PACK_SCAN_MAX 1024

static void pump(struct redis_out *out);
static void pump_soon(struct redis_out *out);
static void settled(struct redis_out *out, const struct out_item *it);

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

int redis_out_add_event(struct redis_out *out, const char *key, const char *id, const char *env,
                        size_t env_len, const char *topic)
{
    struct out_item *it = out_item_event_new(key, id, env, env_len, topic);

    if (!it)
        return -ENOMEM;
    if (out->journal && journal_append(out->journal, it, out->last_confirmed_ms) < 0) {
        free(it);
        return -ENOMEM;
    }
    out_list_push(&out->queue, it);
    pump_soon(out);
    return 0;
}

int redis_out_add_deadletter(struct redis_out *out, const char *topic, enum reject_reason reason,
                             const char *detail, const void *payload, size_t payload_len)
{
    char maxlen[24];
    struct out_item *it;

    /* Read at each entry: ingest.deadletter_maxlen is an ingest limit a reload changes. */
    snprintf(maxlen, sizeof(maxlen), "%d", out->cfg->ingest.deadletter_maxlen);
    it = out_item_deadletter_new(out->deadletter_key, maxlen, topic, reject_reason_name(reason),
                                 detail, payload, payload_len);
    if (!it)
        return -ENOMEM;
    out_list_push(&out->queue, it);
    pump_soon(out);
    return 0;
}

int redis_out_command(struct redis_out *out, redisCallbackFn *cb, void *privdata, int argc,
                      const char **argv, const size_t *argvlen)
{
    if (out->state != LINK_READY || !out->ac)
        return -ENOTCONN;
    if (redisAsyncCommandArgv(out->ac, cb, privdata, argc, argv, argvlen) != REDIS_OK)
        return -ENOTCONN;
    return 0;
}

size_t redis_out_queued(const struct redis_out *out)
{
    return out->queue.len + out->retry.len;
}

size_t redis_out_pending(const struct redis_out *out)
{
    return out->queue.len + out->retry.len + out->in_flight.len + out->in_doubt.len +
           out->acked.len;
}

bool redis_out_ready(const struct redis_out *out)
{
    return out->state == LINK_READY;
}

void redis_out_gauges(const struct redis_out *out, struct metrics_gauges *g)
{
    g->queued = redis_out_queued(out);
    g->in_flight = out->in_flight.len + out->acked.len;
    g->in_doubt = out->in_doubt.len;
    g->redis_connected = out->state == LINK_READY;
    g->journal_bytes = out->journal ? journal_bytes(out->journal) : 0;
    g->journal_blocked = out->journal && journal_blocked(out->journal);
    g->redis_refusing = out->refusing[0] != '\0';
}

const char *redis_out_refusing(const struct redis_out *out)
{
    return out->refusing[0] ? out->refusing : NULL;
}

/* Transient errors leave the entry queued; anything else is the entry's fault. */
static bool error_is_transient(const char *msg)
{
    return strncmp(msg, "ERR", 3) != 0 && strncmp(msg, "WRONGTYPE", 9) != 0;
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata);

/* Re-sends in-doubt entries: events through the add-if-absent script, per stream. */
static void resend_in_doubt(struct redis_out *out)
{
    struct out_list dead = {0}, rest = {0};
    struct out_item *it;

    while ((it = out_list_pop(&out->in_doubt)))
        out_list_push(it->is_event ? &rest : &dead, it);
    out_list_prepend(&out->queue, &dead); /* dead letters: a rare duplicate is harmless */

    while (rest.head) {
        struct out_list batch = {0};
        int r;

        resend_take_batch(&rest, &batch);
        if ((r = resend_send(out->ac, &batch, on_reply)) < 0) {
            out_list_prepend(&out->in_doubt, &batch);
            out_list_prepend(&out->in_doubt, &rest);
            if (r == -ENOMEM)
                log_error("redis", "out of memory re-sending events; will retry");
            return;
        }
        log_info("redis", "re-sending %zu in-doubt events to %s", batch.len, batch.head->key);
        out->unwaited++;
        while ((it = out_list_pop(&batch)))
            out_list_push(&out->in_flight, it);
    }
}

static void on_recent_event(void *data, const char *source, size_t source_len, const char *id,
                            size_t id_len)
{
    struct redis_out *out = data;

    out->cbs->recent_event(out->data, source, source_len, id, id_len);
}

static void on_preload_done(void *data, int status, size_t ids, size_t streams)
{
    struct redis_out *out = data;

    out->preloading = false;
    if (status < 0)
        return; /* the link went; the next one reads them again */
    out->preloaded = true;
    log_info("redis", "remembered %zu recent event ids from %zu streams", ids, streams);
    out->cbs->ready(out->data);
}

/* Once per process, before any input: learn which events the streams already hold. */
static void start_preload(struct redis_out *out)
{
    char pattern[160];

    if (out->preloaded || out->preloading)
        return;
    if (out->cfg->ingest.dedupe_preload == 0) {
        out->preloaded = true;
        out->cbs->ready(out->data);
        return;
    }
    snprintf(pattern, sizeof(pattern), "%sevents:*", out->cfg->redis.stream_prefix);
    out->preloading = true;
    if (recent_ids_load(out->ac, pattern, (unsigned)out->cfg->ingest.dedupe_preload,
                        on_recent_event, on_preload_done, out) < 0) {
        out->preloading = false;
        log_error("redis", "out of memory reading recent ids; retrying with the next link");
    }
}

void redis_out_link_ready(struct redis_out *out)
{
    out->cbs->link_up(out->data);
    resend_in_doubt(out);
    pump(out);
    start_preload(out);
    out->cbs->progress(out->data);
}

void redis_out_link_lost(struct redis_out *out)
{
    /* Written, but maybe not to a replica that survives a failover: re-sent if absent. */
    out_list_prepend(&out->in_doubt, &out->acked);
    out->waits_in_flight = 0;
    out->unwaited = 0;
    out->refusing[0] = '\0'; /* the next server says for itself */
}

/*
 * After a transient error reply (OOM, LOADING, ...): what it refused goes again. Plain
 * entries wait in retry; refused re-sends wait in in_doubt, and go again through the
 * add-if-absent script, since this link was fenced when it became READY.
 */
static void on_retry_timer(uv_timer_t *t)
{
    struct redis_out *out = t->data;

    out->retry_wait = false;
    out_list_prepend(&out->queue, &out->retry);
    if (out->state == LINK_READY)
        resend_in_doubt(out);
    pump(out);
}

static void on_wait(redisAsyncContext *ac, void *r, void *privdata);

/*
 * redis.min_replicas_ack: WAIT after what was sent, so that the replies before its
 * answer count only once enough replicas have them. WAIT holds this link for up to
 * redis.wait_timeout_ms while they are missing: that is the backpressure.
 */
static void send_wait(struct redis_out *out)
{
    char n[16], ms[16];

    /* One WAIT at a time: what is sent meanwhile is covered by the next one. */
    if (out->cfg->redis.min_replicas_ack == 0 || out->state != LINK_READY ||
        out->waits_in_flight > 0 || (out->unwaited == 0 && out->acked.len == 0))
        return;
    snprintf(n, sizeof(n), "%d", out->cfg->redis.min_replicas_ack);
    snprintf(ms, sizeof(ms), "%d", out->cfg->redis.wait_timeout_ms);
    if (redisAsyncCommand(out->ac, on_wait, NULL, "WAIT %s %s", n, ms) != REDIS_OK)
        return;
    out->waits_in_flight++;
    out->unwaited = 0;
}

/* Counts a confirmed entry and frees it. */
static void confirmed(struct redis_out *out, struct out_item *it)
{
    if (it->is_event)
        out->m->accepted++;
    else
        out->m->deadletters++;
    settled(out, it);
    free(it);
}

static void on_wait(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;
    redisReply *reply = r;
    struct out_item *it;

    if (!reply)
        return; /* the link went: redis_out_link_lost put what waited in doubt */
    out->waits_in_flight--;
    if (reply->type == REDIS_REPLY_INTEGER &&
        reply->integer >= out->cfg->redis.min_replicas_ack) {
        if (out->wait_short)
            log_info("redis", "replicas acknowledge writes again");
        out->wait_short = false;
        while ((it = out_list_pop(&out->acked)))
            confirmed(out, it);
        pump(out);
        out->cbs->progress(out->data);
        return;
    }
    if (!out->wait_short)
        log_warn("redis", "%s; %zu entries wait for %d replicas (redis.min_replicas_ack)",
                 reply->type == REDIS_REPLY_INTEGER ? "too few replicas acknowledged"
                                                    : reply->str,
                 out->acked.len, out->cfg->redis.min_replicas_ack);
    out->wait_short = true;
    send_wait(out);
}

/*
 * Sends one command for the items of pack: an entry of its own for one item (its
 * command as queued), one XADD of them all for an event pack. Returns 0, or -1 with
 * the items back at the front of the queue.
 */
static int send_pack(struct redis_out *out, struct out_list *pack)
{
    struct out_item *first = pack->head, *it;
    uint64_t now = now_ns();
    int r;

    for (it = first; it; it = it->next) {
        it->batch = 0;
        it->resend = false;
        it->sent_ns = now;
        it->after_ms = out->last_confirmed_ms;
    }
    first->batch = (uint32_t)pack->len;
    if (pack->len == 1) {
        r = redisAsyncFormattedCommand(out->ac, on_reply, first, first->cmd, first->cmd_len);
    } else {
        size_t len;
        char *cmd = entry_pack_command(pack, &len);
        if (!cmd) {
            log_error("redis", "out of memory packing %zu events; trying again", pack->len);
            r = REDIS_ERR;
        } else {
            r = redisAsyncFormattedCommand(out->ac, on_reply, first, cmd, len);
            free(cmd);
        }
    }
    if (r != REDIS_OK) {
        out_list_prepend(&out->queue, pack);
        return -1;
    }
    while ((it = out_list_pop(pack)))
        out_list_push(&out->in_flight, it);
    out->unwaited++;
    return 0;
}

/* Sends what the in-flight cap allows, in queue order per stream. */
static void pump(struct redis_out *out)
{
    size_t cap = (size_t)out->cfg->redis.max_in_flight;
    size_t pack_max = (size_t)out->cfg->redis.entry_events_max;

    uv_timer_stop(&out->linger); /* what it waited for goes now */
    while (out->state == LINK_READY && !out->retry_wait && out->in_flight.len < cap &&
           out->acked.len < (size_t)out->cfg->ingest.queue_max && out->queue.head) {
        struct out_list pack = {0};
        size_t room = cap - out->in_flight.len;

        if (out->queue.head->is_event && pack_max > 1 && room > 1)
            entry_pack_take(&out->queue, &pack, room < pack_max ? room : pack_max,
                            PACK_SCAN_MAX);
        else
            out_list_push(&pack, out_list_pop(&out->queue));
        if (send_pack(out, &pack) < 0)
            break;
        out->sent_ns = now_ns();
    }
    send_wait(out);
    redis_out_finish(out);
}

static void on_linger(uv_timer_t *t)
{
    pump(t->data);
}

/* Whether what is queued waits for more: under load, short of a full entry, not closing. */
static bool lingers(const struct redis_out *out)
{
    return !out->closing &&
           entry_pack_lingers(out->queue.len, (size_t)out->cfg->redis.entry_events_max,
                              now_ns() - out->sent_ns,
                              (uint64_t)out->cfg->redis.entry_linger_ms * 1000000u);
}

static void on_pump(uv_check_t *h)
{
    struct redis_out *out = h->data;

    uv_check_stop(h);
    if (!lingers(out)) {
        pump(out);
    } else if (!uv_is_active((uv_handle_t *)&out->linger)) {
        uv_timer_start(&out->linger, on_linger, (uint64_t)out->cfg->redis.entry_linger_ms, 0);
    }
}

/* Sends what is queued once the loop turn's I/O callbacks have added to it. */
static void pump_soon(struct redis_out *out)
{
    if (!out->closed_done && !uv_is_active((uv_handle_t *)&out->pump_check))
        uv_check_start(&out->pump_check, on_pump);
}

/* An entry is settled (confirmed, or refused for good): the spool may go. */
static void settled(struct redis_out *out, const struct out_item *it)
{
    if (it->jseq && out->journal)
        journal_done(out->journal, it->jseq);
    if (!it->from_spool || --out->spool_outstanding > 0)
        return;
    if (unlink(out->cfg->shutdown.spool_file) < 0 && errno != ENOENT)
        log_error("redis", "cannot remove the spool %s: %s", out->cfg->shutdown.spool_file,
                  strerror(errno));
    else
        log_info("redis", "every spooled entry is in Redis; spool %s removed",
                 out->cfg->shutdown.spool_file);
}

static void fail_for_good(struct redis_out *out, struct out_item *it, const char *error)
{
    settled(out, it);
    if (it->is_event) {
        char detail[256];
        snprintf(detail, sizeof(detail), "Redis refused the event: %s", error);
        out->m->rejected[REJECT_STORE_FAILED]++;
        log_error("redis", "event %s refused by Redis: %s", it->id, error);
        redis_out_add_deadletter(out, it->topic, REJECT_STORE_FAILED, detail, it->env,
                                 it->env_len);
    } else {
        log_error("redis", "dead-letter entry refused by Redis, dropped: %s", error);
    }
    free(it);
}

static void on_reply(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;
    redisReply *reply = r;
    struct out_item *first = privdata, *it;
    struct out_list done = {0};
    uint32_t n = first->batch;
    uint64_t now = now_ns();

    for (uint32_t i = 0; i < n; i++) {
        it = out_list_pop(&out->in_flight);
        if (i == 0 && it != first)
            log_error("redis", "reply order broken; continuing"); /* cannot happen */
        out_list_push(&done, it);
    }
    if (!reply) {
        /* The link went down first: maybe written, maybe not. */
        while ((it = out_list_pop(&done)))
            out_list_push(&out->in_doubt, it);
        return;
    }
    if (reply->type == REDIS_REPLY_ERROR) {
        out->m->redis_errors++;
        if (error_is_transient(reply->str)) {
            /* Re-sent entries stay in doubt; plain ones go back in order. */
            struct out_list *to = first->resend ? &out->in_doubt : &out->retry;
            if (redis_master_lost(reply->str) && out->ac == ac) {
                /* Demoted by a failover: find the new master; nothing here was written. */
                log_warn("redis", "%s:%d: %s; looking for the master again", out->master.host,
                         out->master.port, reply->str);
                redisAsyncDisconnect(ac);
            }
            if (!out->retry_wait) {
                unsigned ms = backoff_next(&out->retry_ms, RETRY_MIN_MS, RETRY_MAX_MS);
                /* Said when it starts or its reason changes; the end says "again". */
                if (strncmp(out->refusing, reply->str, sizeof(out->refusing) - 1) != 0)
                    log_warn("redis", "Redis is refusing writes (%s); retrying in %u ms, then "
                             "up to every %d ms", reply->str, ms, RETRY_MAX_MS);
                out->retry_wait = true;
                uv_timer_start(&out->retry_timer, on_retry_timer, ms, 0);
            }
            snprintf(out->refusing, sizeof(out->refusing), "%s", reply->str);
            while ((it = out_list_pop(&done)))
                out_list_push(to, it);
            return;
        }
        while ((it = out_list_pop(&done)))
            fail_for_good(out, it, reply->str);
        pump(out);
        return;
    }
    out->retry_ms = 0;
    if (out->refusing[0]) {
        log_info("redis", "Redis takes writes again");
        out->refusing[0] = '\0';
    }
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) {
        uint64_t ms = strtoull(reply->str, NULL, 10);
        if (ms > out->last_confirmed_ms)
            out->last_confirmed_ms = ms;
    }
    metrics_observe_xadd(out->m, now - first->sent_ns);
    if (first->resend)
        out->m->resent += n;
    else if (first->is_event)
        out->m->entries++;
    while ((it = out_list_pop(&done))) {
        if (out->cfg->redis.min_replicas_ack > 0)
            out_list_push(&out->acked, it); /* confirmed by the WAIT after it */
        else
            confirmed(out, it);
    }
    pump_soon(out);
    out->cbs->progress(out->data);
}

struct redis_out *redis_out_new(uv_loop_t *loop, const struct hub_config *cfg, struct metrics *m,
                                const struct redis_out_cbs *cbs, void *data)
{
    struct redis_out *out = calloc(1, sizeof(*out));
    uv_timer_t *timers[4];

    if (!out)
        return NULL;
    out->loop = loop;
    out->cfg = cfg;
    out->m = m;
    out->cbs = cbs;
    out->data = data;
    snprintf(out->deadletter_key, sizeof(out->deadletter_key), "%sdeadletter",
             cfg->redis.stream_prefix);
    timers[0] = &out->tick;
    timers[1] = &out->reconnect;
    timers[2] = &out->retry_timer;
    timers[3] = &out->linger;
    for (int i = 0; i < 4; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = out;
        out->open_handles++;
    }
    uv_check_init(loop, &out->pump_check);
    out->pump_check.data = out;
    out->open_handles++;
    uv_timer_start(&out->tick, redis_link_tick, (uint64_t)cfg->redis.ping_interval_ms,
                   (uint64_t)cfg->redis.ping_interval_ms);
    redis_link_set_state(out, LINK_DOWN);
    if (cfg->journal.dir[0]) {
        struct journal_options opt = {
            .dir = cfg->journal.dir,
            .max_bytes = (size_t)cfg->journal.max_mb << 20,
            .segment_bytes = (size_t)cfg->journal.segment_mb << 20,
            .fsync = cfg->journal.fsync,
        };
        if (!(out->journal = journal_open(&opt, &out->in_doubt))) {
            int e = errno;
            log_error("journal", "cannot open the journal in %s: %s%s", cfg->journal.dir,
                      strerror(e), e == EWOULDBLOCK ? " (another hub uses this folder)" : "");
            redis_out_free(out);
            errno = e;
            return NULL;
        }
    }
    if (cfg->shutdown.spool_file[0])
        out->spool_outstanding = spool_take(cfg->shutdown.spool_file, &out->in_doubt,
                                            &out->queue);
    redis_link_connect(out);
    return out;
}

static void on_handle_closed(uv_handle_t *h)
{
    struct redis_out *out = h->data;

    if (--out->open_handles == 0 && out->closed)
        out->closed(out->closed_data);
}

static void close_handles(struct redis_out *out)
{
    if (out->closed_done)
        return;
    out->closed_done = true;
    uv_close((uv_handle_t *)&out->tick, on_handle_closed);
    uv_close((uv_handle_t *)&out->reconnect, on_handle_closed);
    uv_close((uv_handle_t *)&out->retry_timer, on_handle_closed);
    uv_close((uv_handle_t *)&out->pump_check, on_handle_closed);
    uv_close((uv_handle_t *)&out->linger, on_handle_closed);
}

void redis_out_finish(struct redis_out *out)
{
    if (!out->closing || out->closed_done || redis_out_pending(out) > 0)
        return;
    if (out->ac) {
        if (out->state == LINK_READY) {
            /* Graceful: hiredis waits for outstanding replies (PING), then calls
             * on_disconnect, which comes back here with out->ac cleared. */
            redisAsyncDisconnect(out->ac);
            return;
        }
        redis_link_drop(out, "shutting down");
        return;
    }
    close_handles(out);
}

void redis_out_drain(struct redis_out *out, redis_out_closed_cb closed, void *data)
{
    out->closing = true;
    out->closed = closed;
    out->closed_data = data;
    redis_out_finish(out);
}

int redis_out_abort(struct redis_out *out, bool final)
{
    struct out_list *lists[] = {&out->in_doubt, &out->acked, &out->in_flight, &out->retry,
                                &out->queue};
    const char *path = out->cfg->shutdown.spool_file;
    int r;

    out->closing = true;
    /* Saved while the link may still be up: in-flight entries go to the file as they are
     * (every entry of a spool is sent again as in doubt). With the crash journal, its
     * events are safe without the spool: the stop need not wait for room. */
    final = final || out->journal != NULL;
    if (redis_out_pending(out) > 0 &&
        (r = spool_keep(path, lists, 5, out->journal != NULL, final)) < 0 && !final) {
        if (!out->spool_waiting)
            log_error("redis", "cannot write the spool %s: %s; the stop waits until Redis "
                      "takes the %zu entries or the spool can be written (a second signal "
                      "gives up on them)", path, strerror(-r), redis_out_pending(out));
        out->spool_waiting = true;
        return r;
    }
    close_handles(out); /* first, so that losing the link plans no reconnect */
    if (out->ac) {
        redisAsyncContext *ac = out->ac;
        redisAsyncFree(ac);
        out->ac = NULL;
    }
    out_list_free(&out->queue);
    out_list_free(&out->retry);
    out_list_free(&out->in_flight);
    out_list_free(&out->in_doubt);
    out_list_free(&out->acked);
    close_handles(out);
    return 0;
}

int redis_out_journal_flush(struct redis_out *out)
{
    return out->journal ? journal_flush(out->journal) : 0;
}

bool redis_out_journal_full(const struct redis_out *out)
{
    return out->journal && (journal_full(out->journal) || journal_blocked(out->journal));
}

void redis_out_free(struct redis_out *out)
{
    if (!out)
        return;
    journal_close(out->journal);
    out_list_free(&out->acked);
    out_list_free(&out->queue);
    out_list_free(&out->retry);
    out_list_free(&out->in_flight);
    out_list_free(&out->in_doubt);
    free(out);
}
