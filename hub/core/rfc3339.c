// SPDX-License-Identifier: MIT
/* RFC 3339 full-date, full-time and date-time checks and conversions, without allocation. */
#include "rfc3339.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

static bool digits(const char *s, size_t n, int *out)
{
    int v = 0;

    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int days_in_month(int year, int month)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

    return month == 2 && leap ? 29 : days[month - 1];
}

bool rfc3339_date_valid(const char *s, size_t n)
{
    int y, m, d;

    return n == 10 && s[4] == '-' && s[7] == '-' && digits(s, 4, &y) && digits(s + 5, 2, &m) &&
           digits(s + 8, 2, &d) && m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

bool rfc3339_time_valid(const char *s, size_t n)
{
    int h, mi, sec, oh = 0, om = 0, utc_minutes;
    size_t i = 8;

    if (n < 9 || s[2] != ':' || s[5] != ':' || !digits(s, 2, &h) || !digits(s + 3, 2, &mi) ||
        !digits(s + 6, 2, &sec) || h > 23 || mi > 59 || sec > 60)
        return false;
    if (s[i] == '.') {
        size_t start = ++i;
        while (i < n && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == start)
            return false;
    }
    if (i == n)
        return false;
    if (s[i] == 'Z' || s[i] == 'z') {
        if (i + 1 != n)
            return false;
    } else if (s[i] == '+' || s[i] == '-') {
        if (n - i != 6 || s[i + 3] != ':' || !digits(s + i + 1, 2, &oh) ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        if (s[i] == '-') {
            oh = -oh;
            om = -om;
        }
    } else {
        return false;
    }
    if (sec == 60) {
        /* A leap second is inserted at 23:59:60 UTC only. */
        utc_minutes = ((h * 60 + mi - (oh * 60 + om)) % 1440 + 1440) % 1440;
        if (utc_minutes != 23 * 60 + 59)
            return false;
    }
    return true;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
int64_t rfc3339_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

/* The inverse of rfc3339_days_from_civil. */
void rfc3339_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
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

static int number(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int rfc3339_split(const char *s, size_t n, int64_t *seconds, int64_t *frac_ns)
{
    int64_t frac = 0;
    int offset_min = 0;
    size_t i = 19;

    /* The checker has seen every digit and separator; what follows only converts. */
    if (!rfc3339_date_time_valid(s, n))
        return -EINVAL;
    *seconds = rfc3339_days_from_civil(number(s, 4), number(s + 5, 2), number(s + 8, 2)) * 86400 +
               number(s + 11, 2) * 3600 + number(s + 14, 2) * 60 + number(s + 17, 2);
    if (s[i] == '.') {
        int kept = 0;
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
            if (kept < 9) {
                frac = frac * 10 + (s[i] - '0');
                kept++;
            }
        }
        for (; kept < 9; kept++)
            frac *= 10;
    }
    if (s[i] == '+' || s[i] == '-') {
        offset_min = number(s + i + 1, 2) * 60 + number(s + i + 4, 2);
        if (s[i] == '-')
            offset_min = -offset_min;
    }
    *seconds -= (int64_t)offset_min * 60;
    *frac_ns = frac;
    return 0;
}

#define NS_PER_S 1000000000LL

int rfc3339_to_ns(const char *s, size_t n, int64_t *ns)
{
    int64_t seconds, frac;

    if (rfc3339_split(s, n, &seconds, &frac) < 0)
        return -EINVAL;
    if (seconds < 0 && frac > 0) { /* so that the product stays in range down to INT64_MIN */
        seconds++;
        frac -= NS_PER_S;
    }
    if (__builtin_mul_overflow(seconds, NS_PER_S, ns) || __builtin_add_overflow(*ns, frac, ns)) {
        *ns = seconds < 0 ? INT64_MIN : INT64_MAX;
        return -ERANGE;
    }
    return 0;
}

/* The civil fields of seconds since the epoch and frac_ns (0 to 999,999,999) more. */
static void civil_from_seconds(int64_t seconds, int32_t frac_ns, struct rfc3339_civil *c)
{
    int64_t days = seconds / 86400, sod = seconds % 86400;

    if (sod < 0) { /* floor, also before 1970 */
        sod += 86400;
        days--;
    }
    rfc3339_civil_from_days(days, &c->year, &c->month, &c->day);
    c->hour = (int)(sod / 3600);
    c->minute = (int)(sod / 60 % 60);
    c->second = (int)(sod % 60);
    c->frac_ns = frac_ns;
}

/* ns as whole seconds and a fraction of 0 to 999,999,999 ns: the floor, also before 1970. */
static int64_t split_ns(int64_t ns, int32_t *frac_ns)
{
    int64_t seconds = ns / NS_PER_S, frac = ns % NS_PER_S;

    if (frac < 0) {
        frac += NS_PER_S;
        seconds--;
    }
    *frac_ns = (int32_t)frac;
    return seconds;
}

void rfc3339_civil_from_ns(int64_t ns, struct rfc3339_civil *c)
{
    int32_t frac;
    int64_t seconds = split_ns(ns, &frac);

    civil_from_seconds(seconds, frac, c);
}

void rfc3339_format_utc(int64_t seconds, int32_t frac_ns, char out[RFC3339_UTC_MAX])
{
    struct rfc3339_civil c;
    int len;

    civil_from_seconds(seconds, frac_ns, &c);
    len = snprintf(out, RFC3339_UTC_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)c.year,
                   c.month, c.day, c.hour, c.minute, c.second);
    if (frac_ns > 0) {
        char f[11];
        int k = 9;

        snprintf(f, sizeof(f), ".%09d", (int)frac_ns);
        while (f[k] == '0')
            k--;
        f[k + 1] = '\0';
        len += snprintf(out + len, (size_t)(RFC3339_UTC_MAX - len), "%s", f);
    }
    snprintf(out + len, (size_t)(RFC3339_UTC_MAX - len), "Z");
}

void rfc3339_format_ns(int64_t ns, char out[RFC3339_UTC_MAX])
{
    int32_t frac;
    int64_t seconds = split_ns(ns, &frac);

    rfc3339_format_utc(seconds, frac, out);
}

void rfc3339_now_ms(char *buf, size_t size)
{
    struct timespec ts;
    struct tm tm;
    size_t n;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000L);
}

bool rfc3339_date_time_valid(const char *s, size_t n)
{
    return n > 11 && rfc3339_date_valid(s, 10) && (s[10] == 'T' || s[10] == 't') &&
           rfc3339_time_valid(s + 11, n - 11);
}
