// SPDX-License-Identifier: MIT
/*
 * What worker.c (the process, the Redis link, the route, the status key) and
 * worker_batch.c (reading, claiming and handing entries to the callback) share: the
 * worker's state. Not part of the SDK's interface.
 */
#ifndef RHEINHUB_WORKER_INTERNAL_H
#define RHEINHUB_WORKER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "worker.h"
#include "worker_history.h"
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

    struct worker_route route;         /* followed now, when have_route */
    struct worker_route scratch;       /* the next route while it is parsed */
    bool have_route;
    char *route_text;                  /* the route's JSON as last read, to notice changes */
    struct worker_stream streams[WORKER_ROUTE_STREAMS_MAX];
    size_t n_streams;

    struct worker_history *history;
    uint64_t processed;                /* entries the callback handled, acknowledged */
    uint64_t failed;                   /* entries the callback marked failed, each time */
    uint64_t deadlettered;
    uint64_t skipped;                  /* outside the route's patterns, acknowledged unseen */

    bool user_unhealthy;               /* worker_set_health */
    char user_detail[WORKER_DETAIL_MAX];
    bool batch_error;                  /* the last batch (or read) failed as a whole */
    char batch_detail[WORKER_DETAIL_MAX];
    bool tick_error;
    char tick_detail[WORKER_DETAIL_MAX];
    bool link_down;
    bool status_dirty;                 /* write the status key at the next turn */

    /* Monotonic clock, ms: */
    int64_t next_route_ms, next_status_ms, next_claim_ms, next_read_ms, next_connect_ms;
    int64_t route_wait_logged_ms;
    int batch_backoff_ms, connect_backoff_ms;
    bool claim_more;                   /* the last XAUTOCLAIM round did not reach the end */

    bool stdin_watched;                /* stdin is the supervisor's pipe: EOF stops */
    bool stop;
};

int64_t worker_now_ms(void);

/* Whether a stop was asked for (signal, end of stdin, worker_request_stop). */
bool worker_stopping(const struct worker *w);

/* Frees the Redis link after an error (what failed, for the log); reconnects later. */
void worker_link_failed(struct worker *w, const char *what);

/*
 * One command on the link; NULL when the link failed (it is then down). lens may be
 * NULL for NUL-terminated arguments. The caller frees the reply.
 */
redisReply *worker_command(struct worker *w, int argc, const char **argv, const size_t *lens);

/* Every stream reads its own pending entries again, from the start. */
void worker_streams_rewind(struct worker *w);

/* Marks a read or a batch failed as a whole: unhealthy, and back off before the next. */
void worker_batch_failed(struct worker *w, const char *detail);
/* A batch succeeded: the backoff and the batch error end. */
void worker_batch_succeeded(struct worker *w);

/*
 * One XREADGROUP over the ready streams (blocking at most block_ms when every stream
 * reads new entries), and the entries it returned handled.
 */
void worker_read(struct worker *w, int block_ms);

/* One XAUTOCLAIM round over the ready streams, and the entries it returned handled. */
void worker_claim(struct worker *w);

#endif
