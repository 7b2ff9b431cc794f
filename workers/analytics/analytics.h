// SPDX-License-Identifier: MIT
/*
 * rheinhub-analytics (docs/analytics.md): tumbling windows per event type, by event
 * time, with an allowed lateness; per (type, subject) and per (municipality, type)
 * roll-up ("_all") statistics; on close a retained MQTT publish and an aggregate
 * envelope on <prefix>events:rheinhub.aggregate. Open windows, the entries already
 * counted and the unpublished aggregates live in Redis, so that a restart neither
 * loses nor double-counts anything.
 *
 * The worker's parts, one file each: analytics.c (life cycle, counting events),
 * state.c (the state in Redis), close.c (closing windows, publishing). This header is
 * what they share.
 */
#ifndef RHEINHUB_ANALYTICS_H
#define RHEINHUB_ANALYTICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "acc.h"
#include "applied.h"
#include "config.h"
#include "mqtt_out.h"
#include "strmap.h"
#include "windows_file.h"
#include "worker.h"

#define ANALYTICS_KIND "analytics"
/* Events further ahead of the clock than this are counted as "future" and left out. */
#define ANALYTICS_FUTURE_MAX_S 3600
/* Open windows held at most; events that would open more are counted as "dropped". */
#define ANALYTICS_WINDOWS_MAX 1000000
/* Aggregate ids: 32 lower-case hex digits. */
#define ANALYTICS_ID_HEX 32
#define ANALYTICS_KEY_MAX 192

/*
 * The open windows of one (municipality, type, subject) by window length, so that an
 * event finds its windows without building their keys. Emptied whenever windows close.
 */
struct series {
    struct acc *acc[WINDOWS_PER_TYPE_MAX];
};

/* A closed window waiting for its MQTT PUBACK. */
struct outbox_item {
    char id[ANALYTICS_ID_HEX + 1];
    char *topic;     /* owned */
    char *payload;   /* owned, payload_len bytes and a NUL */
    size_t payload_len;
    int64_t end_ns;  /* the window's end: items of one topic are published in this order */
    int mid;         /* MQTT message id of the last publish; 0: to be published */
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

    /* Redis keys */
    char windows_key[ANALYTICS_KEY_MAX];   /* hash: acc key -> packed acc */
    char applied_key[ANALYTICS_KEY_MAX];   /* hash: one record per stored batch (applied.h) */
    char late_key[ANALYTICS_KEY_MAX];      /* hash: late counter -> count */
    char outbox_key[ANALYTICS_KEY_MAX];    /* hash: aggregate id -> "<topic>\n<payload>" */
    char lock_key[ANALYTICS_KEY_MAX];      /* string: the consumer that runs */
    char status_key[ANALYTICS_KEY_MAX + 128]; /* the SDK's status hash, extra fields */
    char aggregate_stream[ANALYTICS_KEY_MAX];

    /* The clock */
    const char *clock_file;  /* test aid: read "now" from this file */
    int64_t now_ns;          /* the last reading; never goes back */
    int64_t next_close_ns;   /* earliest end + lateness of the open windows */
    int64_t next_check_ms, next_prune_ms, next_status_ms, next_lock_ms, next_log_ms;

    bool reload;             /* memory may differ from Redis: load the state again */
    bool rheinhub_logged;

    /* Totals since start (status hash, logs) */
    uint64_t late_total, future_total, dropped_total, invalid_total, closed_total;
    uint64_t late_logged, future_logged, dropped_logged;

    /* One batch's work, reused */
    struct acc **touched;
    size_t n_touched, cap_touched;
    struct strmap *late_delta; /* counter -> uint64_t * of this batch */

    /* Test aid: kill -9 ourselves at a chosen point (docs/analytics.md, "Testing"). */
    const char *crash_file;
};

/* The monotonic event-time clock: wall clock (or the test clock file), never going back. */
int64_t analytics_now(struct analytics *a);
/*
 * Test aid: SIGKILLs the process when the crash file (RHEINHUB_ANALYTICS_CRASH_FILE)
 * exists and names this point ("batch": after a batch was stored, before it is
 * acknowledged; "close": after closed windows were stored, before they are published),
 * optionally with a least n ("batch 5"). The file is removed first: one crash each.
 */
void analytics_crash_point(struct analytics *a, const char *point, size_t n);

/* state.c */
int state_lock(struct analytics *a);
int state_lock_refresh(struct analytics *a);
void state_unlock(struct analytics *a);
int state_load(struct analytics *a);
/* Empties the in-memory state (the maps stay). */
void state_clear(struct analytics *a);
/* Empties the series cache (before windows are freed). */
void state_series_clear(struct analytics *a);
/* Frees the counters of m and empties it. */
void state_counters_clear(struct strmap *m);
int state_persist_batch(struct analytics *a);
int state_prune_applied(struct analytics *a);
void state_write_status(struct analytics *a);

/* close.c */
/* The aggregate id of a window: XXH3-128 of its names and start, 32 hex digits. */
void close_aggregate_id(char out[ANALYTICS_ID_HEX + 1], const struct acc *acc);
/* Closes every window whose end + lateness has passed. 0, or a negative errno. */
int close_due(struct analytics *a);
/* MQTT: takes PUBACKs (and drops those items from the outbox), publishes what waits. */
void close_pump(struct analytics *a);
/* The window end in an aggregate payload, for items loaded from Redis. 0, -EINVAL. */
int close_payload_end(const char *payload, size_t len, int64_t *end_ns);
void outbox_item_free(struct outbox_item *it);

/* Runs the worker: worker_main with the analytics callbacks. */
int analytics_main(int argc, char **argv);

#endif
