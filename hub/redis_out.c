// SPDX-License-Identifier: MIT
/*
 * The Redis writer. Entries move through four lists:
 *
 *   queue ──pump──▶ in_flight ──reply──▶ confirmed (freed)
 *     ▲  ▲              │ │
 *     │  └── retry ◀────┘ │ transient error reply (OOM, LOADING, ...): back off, re-send
 *     │                   ▼
 *     └─(dead letters)─ in_doubt   link lost before the reply: maybe written, maybe not
 *
 * Replies arrive in the order commands were sent, so in_flight is a FIFO whose head
 * is always the entry the next reply answers.
 *
 * In-doubt events are re-sent once the link is back, by a script that adds each one
 * only if no entry of the stream's recent tail carries its id. For that check to be
 * final, the lost connection must not execute anything afterwards: Redis may still
 * hold its unread commands (a server paused by DEBUG SLEEP or SIGSTOP reads them when
 * it wakes). So every new connection first kills the lost ones by client id and
 * local address, before any data is sent, and data is only sent on a connection
 * whose CLIENT ID has been answered.
 */
#include "redis_out.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include "backoff.h"
#include "fence.h"
#include "journal.h"
#include "log.h"
#include "out_item.h"
#include "recent_ids.h"
#include "redis_uv.h"
#include "resend.h"
#include "spool.h"

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 2000

enum link_state { LINK_DOWN, LINK_CONNECTING, LINK_HANDSHAKE, LINK_READY };

struct redis_out {
    uv_loop_t *loop;
    const struct hub_config *cfg;
    struct metrics *m;
    const struct redis_out_cbs *cbs;
    redis_out_closed_cb closed;
    void *data, *closed_data;

    redisAsyncContext *ac;
    enum link_state state;
    uint64_t state_since_ns;
    long long client_id;
    char local_addr[64];
    bool ping_pending;
    uint64_t ping_sent_ns;
    unsigned reconnect_ms, retry_ms;
    bool ever_ready, retry_wait, closing, closed_done;
    uint64_t last_confirmed_ms;
    struct fence fence;
    size_t spool_outstanding; /* entries loaded from the spool, not yet confirmed */
    struct journal *journal;  /* NULL: journal.dir not set */
    bool preloading, preloaded; /* recent ids of the streams read (once per process) */

    struct out_list queue, retry, in_flight, in_doubt;
    uv_timer_t tick, reconnect, retry_timer;
    int open_handles;
    char deadletter_key[128];
    char deadletter_maxlen[24];
};

static void connect_now(struct redis_out *out);
static void pump(struct redis_out *out);
static void maybe_finish(struct redis_out *out);

static uint64_t now_ns(void)
{
    return uv_hrtime();
}

static void set_state(struct redis_out *out, enum link_state state)
{
    out->state = state;
    out->state_since_ns = now_ns();
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
    pump(out);
    return 0;
}

int redis_out_add_deadletter(struct redis_out *out, const char *topic, enum reject_reason reason,
                             const char *detail, const void *payload, size_t payload_len)
{
    struct out_item *it = out_item_deadletter_new(out->deadletter_key, out->deadletter_maxlen,
                                                  topic, reject_reason_name(reason), detail,
                                                  payload, payload_len);

    if (!it)
        return -ENOMEM;
    out_list_push(&out->queue, it);
    pump(out);
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
    return out->queue.len + out->retry.len + out->in_flight.len + out->in_doubt.len;
}

bool redis_out_ready(const struct redis_out *out)
{
    return out->state == LINK_READY;
}

void redis_out_gauges(const struct redis_out *out, struct metrics_gauges *g)
{
    g->queued = redis_out_queued(out);
    g->in_flight = out->in_flight.len;
    g->in_doubt = out->in_doubt.len;
    g->redis_connected = out->state == LINK_READY;
    g->journal_bytes = out->journal ? journal_bytes(out->journal) : 0;
    g->journal_blocked = out->journal && journal_blocked(out->journal);
}

/* Transient errors leave the entry queued; anything else is the entry's fault. */
static bool error_is_transient(const char *msg)
{
    return strncmp(msg, "ERR", 3) != 0 && strncmp(msg, "WRONGTYPE", 9) != 0;
}

static void on_reconnect_timer(uv_timer_t *t)
{
    connect_now(t->data);
}

static void remember_stale(struct redis_out *out)
{
    fence_remember(&out->fence, out->client_id, out->local_addr);
    out->client_id = 0;
}

/* The link is gone (the context is freed or being freed): plan what comes next. */
static void link_down(struct redis_out *out)
{
    bool was_ready = out->state == LINK_READY;

    if (out->state == LINK_READY || out->state == LINK_HANDSHAKE)
        remember_stale(out);
    out->ac = NULL;
    out->ping_pending = false;
    set_state(out, LINK_DOWN);
    if (was_ready && out->closing && redis_out_pending(out) == 0)
        log_info("redis", "link to %s:%d closed", out->cfg->redis.host, out->cfg->redis.port);
    else if (was_ready)
        log_warn("redis", "link to %s:%d lost; %zu queued, %zu in doubt", out->cfg->redis.host,
                 out->cfg->redis.port, redis_out_queued(out), out->in_doubt.len);
    if (out->closed_done)
        return;
    if (out->closing && redis_out_pending(out) == 0) {
        maybe_finish(out);
        return;
    }
    uv_timer_start(&out->reconnect,
                   on_reconnect_timer,
                   backoff_next(&out->reconnect_ms, RECONNECT_MIN_MS, RECONNECT_MAX_MS), 0);
}

/* Drops the link from outside hiredis's callbacks (timers only). */
static void drop_link(struct redis_out *out, const char *why)
{
    redisAsyncContext *ac = out->ac;

    if (!ac)
        return;
    log_warn("redis", "dropping the link: %s", why);
    redisAsyncFree(ac); /* fails pending callbacks; calls on_disconnect if it was connected */
    if (out->ac == ac)
        link_down(out);
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
    struct redis_out *out = ac->data;

    if (status != REDIS_OK && ac->errstr[0])
        log_warn("redis", "disconnected: %s", ac->errstr);
    link_down(out);
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
        while ((it = out_list_pop(&batch)))
            out_list_push(&out->in_flight, it);
    }
}

static void on_recent_id(void *data, const char *id, size_t len)
{
    struct redis_out *out = data;

    out->cbs->recent_id(out->data, id, len);
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
                        on_recent_id, on_preload_done, out) < 0) {
        out->preloading = false;
        log_error("redis", "out of memory reading recent ids; retrying with the next link");
    }
}

static void on_client_id(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;
    redisReply *reply = r;

    if (!reply)
        return;
    if (reply->type != REDIS_REPLY_INTEGER) {
        log_error("redis", "handshake refused: %s",
                  reply->type == REDIS_REPLY_ERROR ? reply->str : "unexpected reply to CLIENT ID");
        return; /* the liveness deadline drops this link and tries again */
    }
    out->client_id = reply->integer;
    /* Fence the connections we lost before anything of ours runs on this one. */
    fence_kill_all(&out->fence, ac);
    if (out->ever_ready)
        out->m->redis_reconnects++;
    out->ever_ready = true;
    out->reconnect_ms = 0;
    set_state(out, LINK_READY);
    log_info("redis", "connected to %s:%d (client %lld)", out->cfg->redis.host,
             out->cfg->redis.port, out->client_id);
    out->cbs->link_up(out->data);
    resend_in_doubt(out);
    pump(out);
    start_preload(out);
    out->cbs->progress(out->data);
}

static void on_auth(redisAsyncContext *ac, void *r, void *privdata)
{
    redisReply *reply = r;

    if (reply && reply->type == REDIS_REPLY_ERROR)
        log_error("redis", "authentication failed: %s", reply->str);
}

static void on_connect(const redisAsyncContext *cac, int status)
{
    redisAsyncContext *ac = (redisAsyncContext *)cac;
    struct redis_out *out = ac->data;

    if (status != REDIS_OK) {
        log_warn("redis", "cannot connect to %s:%d: %s", out->cfg->redis.host,
                 out->cfg->redis.port, ac->errstr);
        link_down(out); /* hiredis frees the context after this returns */
        return;
    }
    fence_local_addr(ac->c.fd, out->local_addr, sizeof(out->local_addr));
    set_state(out, LINK_HANDSHAKE);
    if (out->cfg->redis.password[0])
        redisAsyncCommand(ac, on_auth, NULL, "AUTH %s", out->cfg->redis.password);
    redisAsyncCommand(ac, on_client_id, NULL, "CLIENT ID");
}

static void connect_now(struct redis_out *out)
{
    redisAsyncContext *ac;
    int r;

    if (out->ac || out->closed_done)
        return;
    ac = redisAsyncConnect(out->cfg->redis.host, out->cfg->redis.port);
    if (!ac || ac->err) {
        log_warn("redis", "cannot connect to %s:%d: %s", out->cfg->redis.host,
                 out->cfg->redis.port, ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        link_down(out);
        return;
    }
    /* Workers spawned later must not inherit the link. */
    (void)fcntl(ac->c.fd, F_SETFD, FD_CLOEXEC);
    if ((r = redis_uv_attach(ac, out->loop)) < 0) {
        log_error("redis", "cannot watch the Redis socket: %s", uv_strerror(r));
        redisAsyncFree(ac);
        link_down(out);
        return;
    }
    ac->data = out;
    redisAsyncSetConnectCallback(ac, on_connect);
    redisAsyncSetDisconnectCallback(ac, on_disconnect);
    out->ac = ac;
    set_state(out, LINK_CONNECTING);
}

static void on_retry_timer(uv_timer_t *t)
{
    struct redis_out *out = t->data;

    out->retry_wait = false;
    out_list_prepend(&out->queue, &out->retry);
    pump(out);
}

/* Sends what the in-flight cap allows, in queue order. */
static void pump(struct redis_out *out)
{
    struct out_item *it;

    while (out->state == LINK_READY && !out->retry_wait &&
           out->in_flight.len < (size_t)out->cfg->redis.max_in_flight &&
           (it = out_list_pop(&out->queue))) {
        it->batch = 1;
        it->resend = false;
        it->sent_ns = now_ns();
        it->after_ms = out->last_confirmed_ms;
        if (redisAsyncFormattedCommand(out->ac, on_reply, it, it->cmd, it->cmd_len) != REDIS_OK) {
            struct out_list one = {0};
            out_list_push(&one, it);
            out_list_prepend(&out->queue, &one);
            break;
        }
        out_list_push(&out->in_flight, it);
    }
    maybe_finish(out);
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
            if (!out->retry_wait) {
                unsigned ms = backoff_next(&out->retry_ms, RETRY_MIN_MS, RETRY_MAX_MS);
                log_warn("redis", "Redis is refusing writes (%s); retrying in %u ms", reply->str,
                         ms);
                out->retry_wait = true;
                uv_timer_start(&out->retry_timer, on_retry_timer, ms, 0);
            }
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
    if (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS) {
        uint64_t ms = strtoull(reply->str, NULL, 10);
        if (ms > out->last_confirmed_ms)
            out->last_confirmed_ms = ms;
    }
    metrics_observe_xadd(out->m, now - first->sent_ns);
    if (first->resend)
        out->m->resent += n;
    while ((it = out_list_pop(&done))) {
        if (it->is_event)
            out->m->accepted++;
        else
            out->m->deadletters++;
        settled(out, it);
        free(it);
    }
    pump(out);
    out->cbs->progress(out->data);
}

static void on_pong(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;

    if (r)
        out->ping_pending = false;
}

/* Liveness: a link that does not answer within the deadline is dropped. */
static void on_tick(uv_timer_t *t)
{
    struct redis_out *out = t->data;
    uint64_t now = now_ns();
    uint64_t limit = (uint64_t)out->cfg->redis.liveness_timeout_ms * 1000000u;
    char why[128];

    switch (out->state) {
    case LINK_DOWN:
        return;
    case LINK_CONNECTING:
    case LINK_HANDSHAKE:
        if (now - out->state_since_ns > limit) {
            snprintf(why, sizeof(why), "no answer within %d ms of connecting",
                     out->cfg->redis.liveness_timeout_ms);
            drop_link(out, why);
        }
        return;
    case LINK_READY:
        if ((out->ping_pending && now - out->ping_sent_ns > limit) ||
            (out->in_flight.head && now - out->in_flight.head->sent_ns > limit)) {
            snprintf(why, sizeof(why), "no reply within %d ms",
                     out->cfg->redis.liveness_timeout_ms);
            drop_link(out, why);
            return;
        }
        if (!out->ping_pending &&
            redisAsyncCommand(out->ac, on_pong, NULL, "PING") == REDIS_OK) {
            out->ping_pending = true;
            out->ping_sent_ns = now;
        }
        return;
    }
}

struct redis_out *redis_out_new(uv_loop_t *loop, const struct hub_config *cfg, struct metrics *m,
                                const struct redis_out_cbs *cbs, void *data)
{
    struct redis_out *out = calloc(1, sizeof(*out));
    uv_timer_t *timers[3];

    if (!out)
        return NULL;
    out->loop = loop;
    out->cfg = cfg;
    out->m = m;
    out->cbs = cbs;
    out->data = data;
    snprintf(out->deadletter_key, sizeof(out->deadletter_key), "%sdeadletter",
             cfg->redis.stream_prefix);
    snprintf(out->deadletter_maxlen, sizeof(out->deadletter_maxlen), "%d",
             cfg->ingest.deadletter_maxlen);
    timers[0] = &out->tick;
    timers[1] = &out->reconnect;
    timers[2] = &out->retry_timer;
    for (int i = 0; i < 3; i++) {
        uv_timer_init(loop, timers[i]);
        timers[i]->data = out;
        out->open_handles++;
    }
    uv_timer_start(&out->tick, on_tick, (uint64_t)cfg->redis.ping_interval_ms,
                   (uint64_t)cfg->redis.ping_interval_ms);
    set_state(out, LINK_DOWN);
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
    connect_now(out);
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
}

/* When draining and nothing is left: close the link, then the handles. */
static void maybe_finish(struct redis_out *out)
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
        drop_link(out, "shutting down");
        return;
    }
    close_handles(out);
}

void redis_out_drain(struct redis_out *out, redis_out_closed_cb closed, void *data)
{
    out->closing = true;
    out->closed = closed;
    out->closed_data = data;
    maybe_finish(out);
}

void redis_out_abort(struct redis_out *out)
{
    struct out_list *lists[] = {&out->in_doubt, &out->in_flight, &out->retry, &out->queue};
    const char *path = out->cfg->shutdown.spool_file;

    out->closing = true;
    close_handles(out); /* first, so that losing the link plans no reconnect */
    if (out->ac) {
        redisAsyncContext *ac = out->ac;
        redisAsyncFree(ac); /* in-flight entries move to in_doubt */
        out->ac = NULL;
    }
    if (redis_out_pending(out) > 0)
        spool_keep(path, lists, 4, out->journal != NULL);
    out_list_free(&out->queue);
    out_list_free(&out->retry);
    out_list_free(&out->in_flight);
    out_list_free(&out->in_doubt);
    close_handles(out);
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
    out_list_free(&out->queue);
    out_list_free(&out->retry);
    out_list_free(&out->in_flight);
    out_list_free(&out->in_doubt);
    free(out);
}
