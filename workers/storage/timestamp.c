// SPDX-License-Identifier: MIT
/* RFC 3339 date-times to ns since the epoch and back, without the C library's time zone. */
#include "timestamp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "rfc3339.h"

#define NS_PER_S 1000000000LL

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of days_from_civil. */
static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

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
    int64_t seconds, frac = 0;
    int offset_min = 0;
    size_t i = 19;

    /* The checker has seen every digit and separator; what follows only converts. */
    if (!rfc3339_date_time_valid(s, n))
        return -EINVAL;
    seconds = days_from_civil(num(s, 4), num(s + 5, 2), num(s + 8, 2)) * 86400 +
              num(s + 11, 2) * 3600 + num(s + 14, 2) * 60 + num(s + 17, 2);
    if (s[i] == '.') {
        int digits = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (digits < 9) {
                frac = frac * 10 + (s[i] - '0');
                digits++;
            }
        }
        for (; digits < 9; digits++)
            frac *= 10;
    }
    if (s[i] == '+' || s[i] == '-') {
        offset_min = num(s + i + 1, 2) * 60 + num(s + i + 4, 2);
        if (s[i] == '-')
            offset_min = -offset_min;
    }
    *ns = to_ns(seconds - (int64_t)offset_min * 60, frac);
    return 0;
}

int timestamp_parse_bound(const char *s, int64_t *ns)
{
    size_t n = strlen(s);

    if (n == 10 && rfc3339_date_valid(s, n)) {
        *ns = to_ns(days_from_civil(num(s, 4), num(s + 5, 2), num(s + 8, 2)) * 86400, 0);
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
    civil_from_days(days, &year, &month, &day);
    snprintf(out, TIMESTAMP_PG_MAX, "%04lld-%02d-%02d %02d:%02d:%02d.%06lld+00", (long long)year,
             month, day, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60),
             (long long)(frac / 1000));
}
