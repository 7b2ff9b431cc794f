// SPDX-License-Identifier: MIT
/*
 * The Redis writer's link (redis_out_internal.h): finding the master (directly or
 * through Sentinel, redis_master.h), connecting, the handshake, liveness, and
 * reconnecting with backoff. A link carries data only once it is READY:
 *
 *   DOWN ─connect─▶ CONNECTING ─▶ HANDSHAKE: AUTH, CLIENT ID, ROLE ─master─▶ READY
 *     ▲                                         │ not the master: disconnect,
 *     └──────────── lost, refused, late ────────┘ ask the Sentinels again
 *
 * On READY the lost connections are fenced first (fence.h), then the writer resumes.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include <hiredis/hiredis.h>

#include "backoff.h"
#include "log.h"
#include "redis_out_internal.h"
#include "redis_uv.h"

#define RECONNECT_MIN_MS 100
#define RECONNECT_MAX_MS 5000
#define RECONNECT_MAX_SENTINEL_MS 1000 /* a failover is worth noticing quickly */
#define SENTINEL_TIMEOUT_MS 300

void redis_link_set_state(struct redis_out *out, enum link_state state)
{
    out->state = state;
    out->state_since_ns = uv_hrtime();
}

static void on_reconnect_timer(uv_timer_t *t)
{
    redis_link_connect(t->data);
}

/* The link is gone (the context is freed or being freed): plan what comes next. */
static void link_down(struct redis_out *out)
{
    bool was_ready = out->state == LINK_READY;

    if (out->state == LINK_READY || out->state == LINK_HANDSHAKE)
        fence_remember(&out->fence, out->client_id, out->local_addr);
    out->client_id = 0;
    out->ac = NULL;
    out->ping_pending = false;
    redis_link_set_state(out, LINK_DOWN);
    redis_out_link_lost(out);
    if (was_ready && out->closing && redis_out_pending(out) == 0)
        log_info("redis", "link to %s:%d closed", out->master.host, out->master.port);
    else if (was_ready)
        log_warn("redis", "link to %s:%d lost; %zu queued, %zu in doubt", out->master.host,
                 out->master.port, redis_out_queued(out), out->in_doubt.len);
    if (out->closed_done)
        return;
    if (out->closing && redis_out_pending(out) == 0) {
        redis_out_finish(out);
        return;
    }
    uv_timer_start(&out->reconnect, on_reconnect_timer,
                   backoff_next(&out->reconnect_ms, RECONNECT_MIN_MS,
                                redis_master_via_sentinel(out->cfg) ? RECONNECT_MAX_SENTINEL_MS
                                                                    : RECONNECT_MAX_MS),
                   0);
}

void redis_link_drop(struct redis_out *out, const char *why)
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

/* The link is the master's: fence the lost links, then data may flow. */
static void on_role(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;
    char why[REDIS_MASTER_WHY_MAX];

    if (!r || out->client_id <= 0)
        return; /* gone, or CLIENT ID failed: the liveness deadline drops it */
    if (redis_master_check_reply(r, &out->master, why) < 0) {
        log_warn("redis", "%s; looking for the master again", why);
        redisAsyncDisconnect(ac); /* nothing of ours was sent on it */
        return;
    }
    /* Fence the connections we lost before anything of ours runs on this one. */
    fence_kill_all(&out->fence, ac);
    if (out->ever_ready)
        out->m->redis_reconnects++;
    out->ever_ready = true;
    out->reconnect_ms = 0;
    redis_link_set_state(out, LINK_READY);
    log_info("redis", "connected to %s:%d (client %lld)", out->master.host, out->master.port,
             out->client_id);
    redis_out_link_ready(out);
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
        log_warn("redis", "cannot connect to %s:%d: %s", out->master.host, out->master.port,
                 ac->errstr);
        redis_master_skip(&out->master);
        link_down(out); /* hiredis frees the context after this returns */
        return;
    }
    fence_local_addr(ac->c.fd, out->local_addr, sizeof(out->local_addr));
    redis_link_set_state(out, LINK_HANDSHAKE);
    if (out->cfg->redis.password[0])
        redisAsyncCommand(ac, on_auth, NULL, "AUTH %s", out->cfg->redis.password);
    redisAsyncCommand(ac, on_client_id, NULL, "CLIENT ID");
    redisAsyncCommand(ac, on_role, NULL, "ROLE");
}

/* Asks the Sentinels (when configured) where the master is; logs changes once. */
static int find_master(struct redis_out *out)
{
    char why[REDIS_MASTER_WHY_MAX];

    if (redis_master_find(out->cfg, &out->master, SENTINEL_TIMEOUT_MS, why) < 0) {
        if (!out->find_failed)
            log_warn("redis", "no Sentinel names the master %s: %s; asking again",
                     out->cfg->redis.master_name, why);
        out->find_failed = true;
        return -EHOSTUNREACH;
    }
    if (out->find_failed || (redis_master_via_sentinel(out->cfg) && !out->ever_ready))
        log_info("redis", "the Sentinels name %s:%d as master %s", out->master.host,
                 out->master.port, out->cfg->redis.master_name);
    out->find_failed = false;
    return 0;
}

void redis_link_connect(struct redis_out *out)
{
    redisAsyncContext *ac;
    int r;

    if (out->ac || out->closed_done)
        return;
    if (find_master(out) < 0) {
        link_down(out);
        return;
    }
    ac = redisAsyncConnect(out->master.host, out->master.port);
    if (!ac || ac->err) {
        log_warn("redis", "cannot connect to %s:%d: %s", out->master.host, out->master.port,
                 ac ? ac->errstr : "out of memory");
        if (ac)
            redisAsyncFree(ac);
        redis_master_skip(&out->master);
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
    redis_link_set_state(out, LINK_CONNECTING);
}

static void on_pong(redisAsyncContext *ac, void *r, void *privdata)
{
    struct redis_out *out = ac->data;

    if (r)
        out->ping_pending = false;
}

void redis_link_tick(uv_timer_t *t)
{
    struct redis_out *out = t->data;
    uint64_t now = uv_hrtime();
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
            redis_master_skip(&out->master);
            redis_link_drop(out, why);
        }
        return;
    case LINK_READY:
        if ((out->ping_pending && now - out->ping_sent_ns > limit) ||
            (out->in_flight.head && now - out->in_flight.head->sent_ns > limit)) {
            snprintf(why, sizeof(why), "no reply within %d ms",
                     out->cfg->redis.liveness_timeout_ms);
            redis_link_drop(out, why);
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
