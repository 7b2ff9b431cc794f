// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: event times, which devices choose and every worker computes with
 * (hub/core/rfc3339.c, workers/analytics/window.c, workers/alerting/times.c).
 *
 * The input as text: rfc3339_to_ns accepts exactly what rfc3339_date_time_valid
 * accepts; a time it converts comes back from rfc3339_civil_from_ns, written out with
 * nine digits of fraction, and from rfc3339_format_ns as the same ns; one out of range is saturated. The input's
 * first 8 bytes as an int64 ns: its civil date and time are in range and convert back,
 * the analytics window that holds it starts at a multiple of the window's length at or
 * before it and less than one length earlier (or at INT64_MIN for the first, partial
 * window), and alerting's millisecond text of it parses to it rounded down to the
 * millisecond (out of range in the first, partial millisecond). With the zone
 * Europe/Berlin (analytics.timezone), the windows of 1, 7 and 31 local days that hold it
 * start at or before it, end after it where the next one starts, and last N days give
 * or take the change of the zone's offset. A violation aborts; UBSan (no recovery)
 * aborts on any overflow.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "localday.h"
#include "rfc3339.h"
#include "times.h"
#include "window.h"

#define NS 1000000000LL

static void fail(const char *what, int64_t ns)
{
    fprintf(stderr, "fuzz_times: %s (ns %lld)\n", what, (long long)ns);
    abort();
}

/* ns written as "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ", parsed back. */
static void round_trip(int64_t ns)
{
    struct rfc3339_civil c;
    char text[48], formatted[RFC3339_UTC_MAX];
    int64_t back;
    int n;

    rfc3339_civil_from_ns(ns, &c);
    if (c.month < 1 || c.month > 12 || c.day < 1 || c.day > 31 || c.hour < 0 || c.hour > 23 ||
        c.minute < 0 || c.minute > 59 || c.second < 0 || c.second > 59 || c.frac_ns < 0 ||
        c.frac_ns >= NS || c.year < 1677 || c.year > 2262)
        fail("a civil field out of range", ns);
    n = snprintf(text, sizeof(text), "%04lld-%02d-%02dT%02d:%02d:%02d.%09dZ", (long long)c.year,
                 c.month, c.day, c.hour, c.minute, c.second, (int)c.frac_ns);
    if (rfc3339_to_ns(text, (size_t)n, &back) != 0 || back != ns)
        fail("the civil time does not parse back to the same ns", ns);
    rfc3339_format_ns(ns, formatted);
    if (rfc3339_to_ns(formatted, strlen(formatted), &back) != 0 || back != ns)
        fail("rfc3339_format_ns does not parse back to the same ns", ns);
}

static void windows(int64_t ns)
{
    static const int64_t lengths[] = {1, 60, 900, 3600, 86400, 7 * 86400, WINDOW_LENGTH_MAX_S};

    for (size_t i = 0; i < sizeof(lengths) / sizeof(lengths[0]); i++) {
        int64_t w = lengths[i] * NS, start = window_start(ns, lengths[i]);

        if (start > ns)
            fail("a window starts after its event", ns);
        if (start == INT64_MIN)
            continue;
        if (start % w != 0 || ns - start >= w)
            fail("a window start is not the floor", ns);
    }
}

/* Local-day windows; Europe/Berlin's offsets never changed by more than 2 hours. */
static void local_days(int64_t ns)
{
    static const int64_t days[] = {1, 7, 31};

    if (localday_zone_set("Europe/Berlin") != 0)
        fail("the zone Europe/Berlin cannot be set", ns);
    for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
        int64_t length_s = days[i] * 86400, start = window_start(ns, length_s), end;

        if (start == INT64_MIN)
            continue; /* the first, partial window */
        if (start > ns || window_start(start, length_s) != start)
            fail("a local-day window starts after its event, or not at its own start", ns);
        if ((end = window_end(start, length_s)) == INT64_MAX)
            continue; /* ends beyond what int64 ns hold */
        if (end <= ns || window_start(end, length_s) != end)
            fail("a local-day window ends at or before its event, or not at the next start", ns);
        if (end - start < (length_s - 3 * 3600) * NS || end - start > (length_s + 3 * 3600) * NS)
            fail("a local-day window is not N days long, give or take an offset change", ns);
    }
    if (localday_zone_set("UTC") != 0)
        fail("the zone UTC cannot be set", ns);
}

static void alert_time(int64_t ns)
{
    char text[TIMES_TEXT_MAX];
    int64_t back, ms = ns / 1000000 - (ns % 1000000 < 0), want;
    int r;

    times_format_ms(ns, text);
    r = times_parse(text, strlen(text), &back);
    if (__builtin_mul_overflow(ms, 1000000, &want)) { /* the first millisecond, partial */
        if (r != -ERANGE)
            fail("the first millisecond's alert time is not out of range", ns);
        return;
    }
    if (r != 0)
        fail("an alert time does not parse", ns);
    if (back != want)
        fail("an alert time is not the ns rounded down to the millisecond", ns);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    int64_t ns;
    int r = rfc3339_to_ns(s, size, &ns);

    if ((r != -EINVAL) != rfc3339_date_time_valid(s, size))
        fail("rfc3339_to_ns and rfc3339_date_time_valid disagree", 0);
    if (r == 0)
        round_trip(ns);
    else if (r == -ERANGE && ns != INT64_MIN && ns != INT64_MAX)
        fail("a time out of range is not saturated", ns);
    else if (r != -ERANGE && r != -EINVAL)
        fail("an unexpected result", r);
    if (size >= sizeof(ns)) {
        memcpy(&ns, data, sizeof(ns));
        round_trip(ns);
        windows(ns);
        local_days(ns);
        alert_time(ns);
    }
    return 0;
}
