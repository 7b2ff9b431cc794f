// SPDX-License-Identifier: MIT
/* Local-day windows: the C library's zone (TZ, tzset, localtime_r, mktime). */
#include "localday.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rfc3339.h"

#define NS_PER_S 1000000000LL
#define DAY_S 86400LL
/* Windows remembered: one per length in days the windows file names, at most a few. */
#define CACHE_SLOTS 4

static bool on;

/*
 * The last window found per length. Events come mostly in time order, so nearly every
 * one falls into the window found for an event before it: a look here instead of
 * localtime_r and mktime (tests/bench/bench_localday). The worker's thread only.
 */
static struct window {
    int64_t days, start_ns, end_ns;
} cache[CACHE_SLOTS];
static unsigned cache_next;

int localday_zone_set(const char *name)
{
    char tz[256];

    memset(cache, 0, sizeof(cache)); /* days 0: no window */
    if (strcmp(name, "UTC") == 0) {
        on = false;
        return 0;
    }
    if (snprintf(tz, sizeof(tz), ":%s", name) >= (int)sizeof(tz))
        return -ENAMETOOLONG;
    if (setenv("TZ", tz, 1) < 0)
        return -errno;
    tzset();
    on = true;
    return 0;
}

bool localday_on(void)
{
    return on;
}

static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* The local day (since 1970-01-01 local) that second s falls into. */
static int64_t day_of(int64_t s)
{
    time_t t = (time_t)s;
    struct tm tm;

    if (!localtime_r(&t, &tm)) /* not for 1677..2262 with a 64-bit time_t */
        return floor_div(s, DAY_S);
    return rfc3339_days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* The first second of local day d: its midnight, or the first second after it when a
 * DST change skips midnight. Assumes local days do not run backwards. */
static int64_t day_first_second(int64_t d)
{
    struct tm tm = {.tm_hour = 0, .tm_isdst = -1};
    int64_t y, lo, hi;
    time_t guess;
    int m, dd;

    rfc3339_civil_from_days(d, &y, &m, &dd);
    tm.tm_year = (int)(y - 1900);
    tm.tm_mon = m - 1;
    tm.tm_mday = dd;
    guess = mktime(&tm);
    if (guess != (time_t)-1 && day_of(guess) >= d && day_of((int64_t)guess - 1) < d)
        return guess;
    /* mktime took a skipped or repeated time otherwise: the first second of day d lies
     * within two days of its UTC midnight (zone offsets are below 26 hours). */
    lo = d * DAY_S - 2 * DAY_S; /* day_of(lo) < d */
    hi = d * DAY_S + 2 * DAY_S; /* day_of(hi) >= d */
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (day_of(mid) >= d)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

static int64_t start_of(int64_t t_ns, int64_t days)
{
    int64_t d = day_of(floor_div(t_ns, NS_PER_S)), start;

    if (__builtin_mul_overflow(day_first_second(floor_div(d, days) * days), NS_PER_S, &start))
        return INT64_MIN;
    return start;
}

static int64_t end_of(int64_t start_ns, int64_t days)
{
    int64_t d = day_of(floor_div(start_ns, NS_PER_S)), end;

    if (__builtin_mul_overflow(day_first_second(d + days), NS_PER_S, &end))
        return INT64_MAX;
    return end;
}

/* The remembered window of this length that holds t_ns, else NULL. */
static const struct window *cached(int64_t t_ns, int64_t days)
{
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i].days == days && cache[i].start_ns <= t_ns && t_ns < cache[i].end_ns)
            return &cache[i];
    }
    return NULL;
}

int64_t localday_start(int64_t t_ns, int64_t days)
{
    const struct window *w = cached(t_ns, days);
    int64_t start, end;

    if (w)
        return w->start_ns;
    start = start_of(t_ns, days);
    if (start == INT64_MIN || (end = end_of(start, days)) == INT64_MAX)
        return start;
    cache[cache_next++ % CACHE_SLOTS] = (struct window){days, start, end};
    return start;
}

int64_t localday_end(int64_t start_ns, int64_t days)
{
    const struct window *w = cached(start_ns, days);

    if (w && w->start_ns == start_ns)
        return w->end_ns;
    return end_of(start_ns, days);
}
