// SPDX-License-Identifier: MIT
/* The alerting worker's counters (stats.h): their names, and the engine's as deltas. */
#include "stats.h"

#include <stddef.h>

const char *const stats_names[STAT_COUNT] = {
#define X(name, text) text,
    STAT_MAP(X)
#undef X
};

void stats_take_engine(uint64_t stats[STAT_COUNT], struct engine_stats *seen,
                       const struct engine_stats *now)
{
    static const struct {
        enum stat stat;
        enum engine_reason reason;
    } reasons[] = {
        {STAT_RAISED, ENGINE_RAISED},       {STAT_SEVERITY, ENGINE_SEVERITY},
        {STAT_ESCALATED, ENGINE_ESCALATED}, {STAT_RENOTIFIED, ENGINE_RENOTIFIED},
        {STAT_ACKNOWLEDGED, ENGINE_ACKNOWLEDGED}, {STAT_CLEARED, ENGINE_CLEARED},
    };

    stats[STAT_EVENTS] += now->events - seen->events;
    stats[STAT_STALE] += now->stale - seen->stale;
    stats[STAT_NO_VALUE] += now->no_value - seen->no_value;
    stats[STAT_TRACKS_FORGOTTEN] += now->forgotten - seen->forgotten;
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        stats[reasons[i].stat] +=
            now->changes[reasons[i].reason] - seen->changes[reasons[i].reason];
    *seen = *now;
}
