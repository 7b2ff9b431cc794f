// SPDX-License-Identifier: MIT
/*
 * One analytics worker's state (struct analytics), shared by its parts: analytics.c
 * (life cycle, counting events), close.c (closing windows, publishing), state.c (the
 * state in Redis), forget.c (removing quiet topics' retained aggregates), clock.c and
 * crash.c (the event-time clock, the test crash points).
 * It sits below all of them and names none of their functions.
 */
#ifndef RHEINHUB_ANALYTICS_INSTANCE_H
#define RHEINHUB_ANALYTICS_INSTANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acc.h"
#include "applied.h"
#include "config.h"
#include "mqtt_out.h"
#include "outbox.h"
#include "strmap.h"
#include "windows_file.h"
#include "worker.h"

#define ANALYTICS_KIND "analytics"
/* Events further ahead of the clock than this are counted as "future" and left out. */
#define ANALYTICS_FUTURE_MAX_S 3600
/* Open windows held at most; events that would open more are counted as "dropped". */
#define ANALYTICS_WINDOWS_MAX 1000000
#define ANALYTICS_KEY_MAX 192

struct forget;

/*
 * The open windows of one (municipality, type, subject) by window length, so that an
 * event finds its windows without building their keys. Emptied whenever windows close.
 */
struct series {
    struct acc *acc[WINDOWS_PER_TYPE_MAX];
};

struct analytics {
    struct worker *w;
    const struct hub_config *cfg;
    const char *component;
    struct windows_file wf;
    int64_t lateness_ns;

    struct strmap *types;    /* event type -> struct windows_type * */
    struct strmap *windows;  /* acc key -> struct acc * (open windows) */
    struct strmap *series;   /* "<m>/<type>/<subject>" -> struct series *: a lookup cache */
    struct applied applied;  /* entries counted that may not be acknowledged yet */
    struct strmap *late;     /* "<type>/<window>" or "<type>/future" -> uint64_t * (totals) */
    struct strmap *outbox;   /* aggregate id -> struct outbox_item * */
    struct strmap *by_mid;   /* decimal MQTT message id -> struct outbox_item * */
    struct mqtt_out *mqtt;
    struct forget *forget;   /* quiet topics' retained aggregates (forget.h) */

    /* Redis keys */
    char windows_key[ANALYTICS_KEY_MAX];   /* hash: acc key -> packed acc */
    char applied_key[ANALYTICS_KEY_MAX];   /* hash: one record per stored batch (applied.h) */
    char late_key[ANALYTICS_KEY_MAX];      /* hash: late counter -> count */
    char outbox_key[ANALYTICS_KEY_MAX];    /* hash: aggregate id -> "<topic>\n<payload>" */
    char lock_key[ANALYTICS_KEY_MAX];      /* string: the consumer that runs */
    char clock_key[ANALYTICS_KEY_MAX];     /* string: the clock (ns) at the last close */
    char status_key[ANALYTICS_KEY_MAX + 128]; /* the SDK's status hash, extra fields */
    char aggregate_stream[ANALYTICS_KEY_MAX];

    /* The clock */
    const char *clock_file;  /* test aid: read "now" from this file */
    int64_t now_ns;          /* the last reading; never goes back, also over a restart */
    int64_t next_close_ns;   /* earliest end + lateness of the open windows */
    int64_t next_check_ms, next_prune_ms, next_status_ms, next_lock_ms, next_log_ms;

    bool reload;             /* memory may differ from Redis: load the state again */
    bool state_failing;      /* the last batch could not be written to Redis */
    bool rheinhub_logged;

    /* Totals since start (status hash, logs) */
    uint64_t late_total, future_total, dropped_total, invalid_total, closed_total;
    uint64_t unretained_total; /* retained aggregates of quiet topics removed */
    uint64_t late_logged, future_logged, dropped_logged;

    /* One batch's work, reused */
    struct acc **touched;
    size_t n_touched, cap_touched;
    struct strmap *late_delta; /* counter -> uint64_t * of this batch */

    /* Test aid: kill -9 ourselves at a chosen point (docs/analytics.md, "Testing"). */
    const char *crash_file;
};

/* Runs the worker: worker_main with the analytics callbacks. */
#endif
