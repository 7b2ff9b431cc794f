// SPDX-License-Identifier: MIT
/*
 * RFC 3339 times and rule durations (times.h). The calendar arithmetic is core's
 * (rfc3339.h), shared with storage and analytics; durations are core's (duration.h),
 * shared with hub.yaml.
 */
#include "times.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "duration.h"
#include "rfc3339.h"

int times_parse(const char *s, size_t n, int64_t *ns)
{
    return rfc3339_to_ns(s, n, ns);
}

/* v (0 <= v < 10^n) in n decimal digits with leading zeros, as "%0nd" writes it. */
static void put_digits(char *out, int v, int n)
{
    for (int i = n - 1; i >= 0; i--) {
        out[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

void times_format_ms(int64_t ns, char out[TIMES_TEXT_MAX])
{
    struct rfc3339_civil c;

    rfc3339_civil_from_ns(ns, &c);
    /* "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" without snprintf, which cost 3,500
     * instructions a call (every alert change formats several). int64 nanoseconds reach
     * from 1677 to 2262: the year always has four digits. */
    put_digits(out, (int)c.year, 4);
    out[4] = '-';
    put_digits(out + 5, c.month, 2);
    out[7] = '-';
    put_digits(out + 8, c.day, 2);
    out[10] = 'T';
    put_digits(out + 11, c.hour, 2);
    out[13] = ':';
    put_digits(out + 14, c.minute, 2);
    out[16] = ':';
    put_digits(out + 17, c.second, 2);
    out[19] = '.';
    put_digits(out + 20, (int)(c.frac_ns / 1000000), 3);
    out[23] = 'Z';
    out[24] = '\0';
}

int64_t times_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

int times_duration_parse(const char *s, int64_t *ns)
{
    return duration_parse(s, ns);
}

void times_duration_format(int64_t ns, char *out, size_t size)
{
    duration_format(ns, out, size);
}
