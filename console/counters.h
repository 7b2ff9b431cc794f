// SPDX-License-Identifier: MIT
/*
 * What the console counts for its /metrics page (counters.c): responses by status
 * class, logins and acknowledgements by result. Atomics: the HTTP thread and the API's
 * lanes count, a scrape reads, and none of them takes a lock for it. The gauges (broker
 * link, board, sessions) are read at the scrape from their owners (probe.c).
 */
#ifndef RHEINHUB_CONSOLE_COUNTERS_H
#define RHEINHUB_CONSOLE_COUNTERS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* A login's result: the value of the result label. */
#define COUNTERS_LOGIN_RESULTS(X)                                                                  \
    X(succeeded)    /* 200: a session opened */                                                    \
    X(failed)       /* 401: the broker refused the user name and password */                       \
    X(not_operator) /* 403: the broker took them, the account is not role operator */              \
    X(throttled)    /* 429: the address must wait after failed logins; not tried */                \
    X(unavailable)  /* 503: broker unreachable, no account registry, too many sessions */

/* An acknowledgement's result. */
#define COUNTERS_ACK_RESULTS(X)                                                                    \
    X(sent)        /* 202: the broker confirmed the publish */                                     \
    X(unconfirmed) /* 504: sent, not confirmed in time; may still arrive */                        \
    X(refused)     /* 403 or 401: the broker's ACL or the broker refused the session */            \
    X(stale)       /* 404 or 409: the board holds no such alert, or another one now */             \
    X(unreachable) /* 503: the session had no connection to the broker; not sent */                \
    X(failed)      /* 500: not sent (out of memory) */

enum counters_login {
#define X(name) COUNTERS_LOGIN_##name,
    COUNTERS_LOGIN_RESULTS(X)
#undef X
    COUNTERS_LOGIN_COUNT
};

enum counters_ack {
#define X(name) COUNTERS_ACK_##name,
    COUNTERS_ACK_RESULTS(X)
#undef X
    COUNTERS_ACK_COUNT
};

#define COUNTERS_CLASSES 5 /* 1xx .. 5xx */

struct counters {
    atomic_uint_least64_t responses[COUNTERS_CLASSES]; /* [0] 1xx .. [4] 5xx */
    atomic_uint_least64_t logins[COUNTERS_LOGIN_COUNT];
    atomic_uint_least64_t acks[COUNTERS_ACK_COUNT];
};

/* What a scrape reads from the rest of the console. */
struct counters_gauges {
    bool broker_up;          /* the console's own MQTT session (watch.h) */
    uint64_t alerts;         /* alerts on the board */
    uint64_t streams;        /* open event streams: pages that show the board live */
    uint64_t sessions;       /* logged-in sessions */
    uint64_t board_dropped;  /* alert or aggregate payloads the board did not hold */
};

/* Zeroes every counter. */
void counters_init(struct counters *c);

/* A response of this HTTP status was queued; statuses outside 100..599 are not counted. */
void counters_response(struct counters *c, unsigned status);

void counters_login(struct counters *c, enum counters_login result);
void counters_ack(struct counters *c, enum counters_ack result);

/* The /metrics page: the counters and g, in the Prometheus text format 0.0.4. */
void counters_render(struct counters *c, const struct counters_gauges *g, FILE *out);

#endif
