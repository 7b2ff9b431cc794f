// SPDX-License-Identifier: MIT
/* RFC 3339 date-times to ns since the epoch and back, without the C library's time zone. */
#include "timestamp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rfc3339.h"

#define NS_PER_S 1000000000LL

static int num(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* seconds * 1e9 + frac, saturated to the int64 range. */
static int64_t to_ns(int64_t seconds, int64_t frac)
{
    int64_t ns;

    if (seconds < 0 && frac > 0) { /* so that the product stays in range down to INT64_MIN */
        seconds++;
        frac -= NS_PER_S;
    }
    if (__builtin_mul_overflow(seconds, NS_PER_S, &ns) || __builtin_add_overflow(ns, frac, &ns))
        return seconds < 0 ? INT64_MIN : INT64_MAX;
    return ns;
}

int timestamp_parse(const char *s, size_t n, int64_t *ns)
{
    int64_t seconds, frac;

    if (rfc3339_split(s, n, &seconds, &frac) < 0)
        return -EINVAL;
    *ns = to_ns(seconds, frac);
    return 0;
}

int timestamp_parse_bound(const char *s, int64_t *ns)
{
    size_t n = strlen(s);

    if (n == 10 && rfc3339_date_valid(s, n)) {
        *ns = to_ns(rfc3339_days_from_civil(num(s, 4), num(s + 5, 2), num(s + 8, 2)) * 86400, 0);
        return 0;
    }
    return timestamp_parse(s, n, ns);
}

void timestamp_format_pg(int64_t ns, char out[TIMESTAMP_PG_MAX])
{
    int64_t seconds = ns / NS_PER_S, frac = ns % NS_PER_S, days, sod, year;
    int month, day;

    if (frac < 0) { /* floor, so that the fraction is never negative */
        frac += NS_PER_S;
        seconds--;
    }
    days = seconds / 86400;
    sod = seconds % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    rfc3339_civil_from_days(days, &year, &month, &day);
    snprintf(out, TIMESTAMP_PG_MAX, "%04lld-%02d-%02d %02d:%02d:%02d.%06lld+00", (long long)year,
             month, day, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
             (long long)(frac / 1000));
}
