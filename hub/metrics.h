// SPDX-License-Identifier: MIT
/*
 * The hub's counters and their Prometheus text rendering. Counters only grow; gauges
 * are read from their owners when /metrics is rendered.
 */
#ifndef RHEINHUB_METRICS_H
#define RHEINHUB_METRICS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "reject.h"

/* Upper bounds of the XADD latency histogram, in seconds. */
#define METRICS_LATENCY_BUCKETS                                                                    \
    X(0.0001) X(0.00025) X(0.0005) X(0.001) X(0.0025) X(0.005) X(0.01) X(0.025) X(0.05) X(0.1)     \
    X(0.25) X(0.5) X(1.0) X(2.5) X(10.0)

enum {
#define X(v) +1
    METRICS_N_BUCKETS = 0 METRICS_LATENCY_BUCKETS
#undef X
};

struct metrics {
    uint64_t received;    /* MQTT messages taken from the broker */
    uint64_t accepted;    /* events Redis confirmed */
    uint64_t duplicates;  /* events dropped as recently seen */
    uint64_t rejected[REJECT_REASON_COUNT];
    uint64_t deadletters; /* dead-letter entries Redis confirmed */
    uint64_t mqtt_reconnects, redis_reconnects;
    uint64_t mqtt_pauses;
    uint64_t mqtt_subscriptions_refused; /* topic filters a SUBACK refused, each time */
    uint64_t redis_errors;  /* error replies from Redis */
    uint64_t resent;        /* in-doubt events re-sent after a reconnect */
    uint64_t entries;       /* stream entries written for events (one or several each) */
    uint64_t xadd_latency_buckets[METRICS_N_BUCKETS];
    uint64_t xadd_latency_count;
    double xadd_latency_sum_s;
};

struct metrics_gauges {
    uint64_t queued, in_flight, in_doubt;
    bool mqtt_connected, redis_connected, mqtt_paused;
    bool redis_refusing;      /* Redis refuses writes (redis_out_refusing) */
    uint64_t mqtt_refused;    /* topic filters not subscribed now */
    uint64_t journal_bytes;   /* the crash journal's segments and buffer */
    uint64_t journal_blocked; /* 1 while the journal cannot be written */
};

/* Records one XADD round trip of ns nanoseconds. */
void metrics_observe_xadd(struct metrics *m, uint64_t ns);

/* Writes the Prometheus text exposition (format 0.0.4) to out. */
void metrics_render(const struct metrics *m, const struct metrics_gauges *g, FILE *out);

#endif
