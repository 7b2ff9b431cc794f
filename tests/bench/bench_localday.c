// SPDX-License-Identifier: MIT
/*
 * rheinhub-bench-localday: what finding an event's whole-day window (its start and end,
 * as the analytics worker counts it) costs per event, UTC days against the local days of Europe/Berlin (analytics.timezone).
 * Events in time order (one a second, as a stream brings them) and in random order over
 * 60 days (every one in another window than the last: the C library's localtime_r and
 * mktime each time). Prints ns per call and the ratios to UTC, measured in this run.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "localday.h"
#include "window.h"

#define CALLS 200000
#define DAY_S 86400LL
/* 2026-03-28T00:00:00Z: the stream crosses the change to summer time. */
#define T0_S 1774656000LL

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* ns per event for the start and end of its 1d window; *sum keeps the calls alive. */
static double per_call(const int64_t *times, int64_t *sum)
{
    int64_t t0 = now_ns();

    for (int i = 0; i < CALLS; i++) {
        int64_t start = window_start(times[i], DAY_S);

        *sum += start + window_end(start, DAY_S);
    }
    return (double)(now_ns() - t0) / CALLS;
}

int main(void)
{
    static int64_t ordered[CALLS], random_days[CALLS];
    double utc_o, utc_r, loc_o, loc_r;
    int64_t sum = 0;

    srand(1);
    for (int i = 0; i < CALLS; i++) {
        ordered[i] = (T0_S + i) * 1000000000LL;
        random_days[i] = (T0_S + (int64_t)rand() % (60 * DAY_S)) * 1000000000LL;
    }
    if (localday_zone_set("UTC") < 0)
        return 1;
    utc_o = per_call(ordered, &sum);
    utc_r = per_call(random_days, &sum);
    if (localday_zone_set("Europe/Berlin") < 0) {
        fprintf(stderr, "rheinhub-bench-localday: cannot set the zone Europe/Berlin\n");
        return 1;
    }
    loc_o = per_call(ordered, &sum);
    loc_r = per_call(random_days, &sum);
    printf("1d window start and end, ns per event (%d events; checksum %" PRId64 ")\n", CALLS,
           sum & 0xffff);
    printf("%-28s %10s %14s %8s\n", "events", "UTC", "Europe/Berlin", "ratio");
    printf("%-28s %10.1f %14.1f %8.1f\n", "in time order (1 per s)", utc_o, loc_o, loc_o / utc_o);
    printf("%-28s %10.1f %14.1f %8.1f\n", "random order over 60 days", utc_r, loc_r, loc_r / utc_r);
    return 0;
}
