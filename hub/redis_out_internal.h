// SPDX-License-Identifier: MIT
/*
 * The Redis writer's state, shared by its two halves: redis_out.c (the entries: queue,
 * replies, re-sends, WAIT, the journal and the spool) and redis_link.c (the link:
 * finding the master, connecting, the handshake, liveness, reconnecting). Nothing
 * outside these two files includes this header.
 */
#ifndef RHEINHUB_REDIS_OUT_INTERNAL_H
#define RHEINHUB_REDIS_OUT_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <hiredis/async.h>
#include <uv.h>

#include "fence.h"
#include "journal.h"
#include "out_item.h"
#include "redis_master.h"
#include "redis_out.h"

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
    struct redis_master master; /* where the link goes (or went) */
    bool find_failed;           /* the last search for the master failed (logged once) */
    int waits_in_flight;        /* WAIT commands sent, not answered */
    size_t unwaited;            /* writes sent since the last WAIT */
    bool wait_short;            /* the last WAIT counted too few replicas (logged once) */
    bool preloading, preloaded; /* recent ids of the streams read (once per process) */
    bool spool_waiting;         /* a stop could not write the spool (logged once) */
    char refusing[128];         /* the error Redis refuses writes with (OOM, MISCONF, ...);
                                   "" once a write succeeds */

    /* acked: written, awaiting WAIT's count of replicas (redis.min_replicas_ack) */
    struct out_list queue, retry, in_flight, in_doubt, acked;
    uv_timer_t tick, reconnect, retry_timer;
    uv_check_t pump_check; /* sends what a loop turn queued, gathered per stream */
    uv_timer_t linger;     /* or, under load, redis.entry_linger_ms later */
    uint64_t sent_ns;      /* when an entry last went out (uv_hrtime), 0: never */
    int open_handles;
    char deadletter_key[128];
};

/* redis_link.c */
void redis_link_set_state(struct redis_out *out, enum link_state state);
/* Finds the master and starts connecting (no-op while a link exists or after close). */
void redis_link_connect(struct redis_out *out);
/* Drops the link from outside hiredis's callbacks (timers, drain, abort). */
void redis_link_drop(struct redis_out *out, const char *why);
/* The liveness timer (data: out): a link that does not answer in time is dropped. */
void redis_link_tick(uv_timer_t *t);

/* redis_out.c */
/* A link is READY: re-send what is in doubt, send what is queued. */
void redis_out_link_ready(struct redis_out *out);
/* The link is gone: what waited for replicas is in doubt now. */
void redis_out_link_lost(struct redis_out *out);
/* When draining and nothing is left: close the link, then the handles. */
void redis_out_finish(struct redis_out *out);

#endif
