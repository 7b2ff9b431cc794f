// SPDX-License-Identifier: MIT
/*
 * The alerting worker's counters, written to <prefix>alerting:stats with HINCRBY, so
 * that they add up over restarts, and how the engine's counters feed them. (The hash
 * also holds one gauge, "tracks", written with HSET.)
 */
#ifndef RHEINHUB_ALERTING_STATS_H
#define RHEINHUB_ALERTING_STATS_H

#include <stdint.h>

#include "engine.h"

#define STAT_MAP(X)                                                                                \
    X(EVENTS, "events")                                                                            \
    X(STALE, "stale")                                                                              \
    X(NO_VALUE, "no_value")                                                                        \
    X(SKIPPED, "skipped")                                                                          \
    X(RAISED, "raised")                                                                            \
    X(SEVERITY, "severity_raised")                                                                 \
    X(ESCALATED, "escalated")                                                                      \
    X(RENOTIFIED, "renotified")                                                                    \
    X(ACKNOWLEDGED, "acknowledged")                                                                \
    X(CLEARED, "cleared")                                                                          \
    X(ACKS_IGNORED, "acks_ignored")                                                                \
    X(ACKS_INVALID, "acks_invalid")                                                                \
    X(ACKS_DROPPED, "acks_dropped")                                                                \
    X(PUBLISHED, "published")                                                                      \
    X(CONFIRMED, "confirmed")                                                                      \
    X(PUBLISH_ERRORS, "publish_errors")                                                            \
    X(TRACKS_FORGOTTEN, "tracks_forgotten")                                                        \
    X(ALERTS_UNRETAINED, "alerts_unretained")

enum stat {
#define X(name, text) STAT_##name,
    STAT_MAP(X)
#undef X
        STAT_COUNT
};

/* The counters' names in the hash, by enum stat. */
extern const char *const stats_names[STAT_COUNT];

/*
 * Adds to stats what the engine counted (now) since seen, and makes seen now. The
 * caller zeroes seen when it replaces the engine.
 */
void stats_take_engine(uint64_t stats[STAT_COUNT], struct engine_stats *seen,
                       const struct engine_stats *now);

#endif
