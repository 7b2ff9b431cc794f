// SPDX-License-Identifier: MIT
/*
 * The worker's state, which the SDK's files share. Not part of the SDK's interface.
 * The files are layered, each using only those below it:
 *   worker.c          the process and the loop
 *   worker_batch.c    reading, claiming, handing events to the callback, XACK
 *   worker_entry.c    an entry split into its events, their envelopes decoded
 *   worker_health.c   health, batch backoff, the status hash
 *   worker_streams.c  the route followed, the groups, the read cursors
 *   worker_link.c     the Redis link
 *   worker_reply.c    replies in an arena (the reads')
 *   worker_stop.c     signals, the supervisor's pipe, the clock, sleeps
 */
#ifndef RHEINHUB_WORKER_INTERNAL_H
#define RHEINHUB_WORKER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "redis_master.h"
#include "worker.h"
#include "worker_history.h"
#include "worker_reply.h"
#include "worker_route.h"

#define WORKER_HISTORY_ENTRIES 4096
#define WORKER_ID_MAX 48 /* "<ms>-<seq>" of two 64-bit numbers, with its NUL */
#define WORKER_DETAIL_MAX 256

/* One stream of the route, as this worker reads it. */
struct worker_stream {
    char key[WORKER_ROUTE_NAME_MAX];
    bool ready;                        /* the group exists there (XGROUP CREATE answered) */
    bool history;                      /* reading own pending entries after cursor, not ">" */
    char cursor[WORKER_ID_MAX];        /* last pending entry read in history mode */
    char claim_cursor[WORKER_ID_MAX];  /* where the next XAUTOCLAIM starts */
};

struct worker {
    const struct worker_def *def;
    struct hub_config cfg;
    const char *component;             /* log component: the kind */
    char kind[64];
    int instance;
    char consumer[320];
    char route_key[256];
    char status_key[640];
    char deadletter_key[256];
    redisContext *redis;               /* NULL while the link is down */
    struct redis_master master;        /* where the link goes (or went) */
    int unread_replies;                /* sent (XACKs) whose replies are not read yet */
    struct worker_reply_arena read_replies; /* the XREADGROUP reply being handled */

    struct worker_route route;         /* followed now, when have_route */
    struct worker_route scratch;       /* the next route while it is parsed */
    bool have_route;
    char *route_text;                  /* the route's JSON as last read, to notice changes */
    struct worker_stream streams[WORKER_ROUTE_STREAMS_MAX];
    size_t n_streams;

    struct worker_history *history;
    uint64_t processed;                /* events the callback handled (not failed) */
    uint64_t failed;                   /* events the callback marked failed, each time */
    uint64_t deadlettered;             /* dead letters: one per poison entry, per failed event */
    uint64_t skipped;                  /* events outside the route's patterns, unseen */

    bool user_unhealthy;               /* worker_set_health */
    char user_detail[WORKER_DETAIL_MAX];
    bool batch_error;                  /* the last batch (or read) failed as a whole */
    unsigned long long batch_failures; /* reads and batches failed as a whole, in all */
    char batch_detail[WORKER_DETAIL_MAX];
    bool tick_error;
    char tick_detail[WORKER_DETAIL_MAX];
    bool link_down;
    bool status_dirty;                 /* write the status key at the next turn */
    bool status_refused;               /* Redis refused it (logged once, until written) */

    /* Monotonic clock, ms: */
    int64_t next_route_ms, next_status_ms, next_claim_ms, next_read_ms, next_connect_ms;
    int64_t route_wait_logged_ms;
    int batch_backoff_ms, connect_backoff_ms;
    bool claim_more;                   /* the last XAUTOCLAIM round did not reach the end */
    int read_entries;                  /* COUNT of the next reads; 0: none returned yet */
    bool read_drained;                 /* the read in hand got less than COUNT from each stream */

    bool stdin_watched;                /* stdin is the supervisor's pipe: EOF stops */
    bool stop;
};

/* Backoff of reconnects and failed batches, ms: doubles from MIN up to MAX. */
#define WORKER_BACKOFF_MIN_MS 100
#define WORKER_BACKOFF_MAX_MS 5000

static inline int worker_backoff_next(int ms)
{
    return ms * 2 > WORKER_BACKOFF_MAX_MS ? WORKER_BACKOFF_MAX_MS : ms * 2;
}

#endif
