// SPDX-License-Identifier: MIT
/*
 * RFC 3339 times and rule durations (times.h). Date arithmetic is the proleptic
 * Gregorian calendar of RFC 3339, done on integers (days from the civil date).
 */
#include "times.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rfc3339.h"

#define DURATION_MAX_NS (365LL * 86400 * NS_PER_S)

static int digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

int times_parse(const char *s, size_t n, int64_t *ns)
{
    int64_t days, secs, frac = 0;
    size_t pos = 19;
    int sec;

    if (!rfc3339_date_time_valid(s, n))
        return -EINVAL;
    /* YYYY-MM-DDThh:mm:ss */
    days = days_from_civil(digits(s, 4), digits(s + 5, 2), digits(s + 8, 2));
    sec = digits(s + 17, 2);
    if (sec == 60)
        sec = 59;
    secs = days * 86400 + digits(s + 11, 2) * 3600 + digits(s + 14, 2) * 60 + sec;
    if (pos < n && s[pos] == '.') {
        int64_t scale = 100000000;
        for (pos++; pos < n && s[pos] >= '0' && s[pos] <= '9'; pos++) {
            frac += (s[pos] - '0') * scale;
            scale /= 10;
        }
    }
    if (pos < n && (s[pos] == '+' || s[pos] == '-')) {
        int off = digits(s + pos + 1, 2) * 3600 + digits(s + pos + 4, 2) * 60;
        secs -= s[pos] == '+' ? off : -off;
    }
    *ns = secs * NS_PER_S + frac;
    return 0;
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
    time_t secs = (time_t)(ns / NS_PER_S);
    int64_t ms = (ns % NS_PER_S) / NS_PER_MS;
    struct tm tm;

    if (ms < 0) {
        secs--;
        ms += 1000;
    }
    gmtime_r(&secs, &tm);
    /* "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ" without snprintf, which cost 3,500
     * instructions a call (every alert change formats several). int64 nanoseconds reach
     * from 1677 to 2262: the year always has four digits. */
    put_digits(out, tm.tm_year + 1900, 4);
    out[4] = '-';
    put_digits(out + 5, tm.tm_mon + 1, 2);
    out[7] = '-';
    put_digits(out + 8, tm.tm_mday, 2);
    out[10] = 'T';
    put_digits(out + 11, tm.tm_hour, 2);
    out[13] = ':';
    put_digits(out + 14, tm.tm_min, 2);
    out[16] = ':';
    put_digits(out + 17, tm.tm_sec, 2);
    out[19] = '.';
    put_digits(out + 20, (int)ms, 3);
    out[23] = 'Z';
    out[24] = '\0';
}

int64_t times_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

static const struct {
    const char *name;
    int64_t ns;
} units[] = {
    {"d", 86400 * NS_PER_S}, {"h", 3600 * NS_PER_S}, {"m", 60 * NS_PER_S},
    {"s", NS_PER_S},         {"ms", NS_PER_MS},
};

int times_duration_parse(const char *s, int64_t *ns)
{
    int64_t total = 0;
    bool any = false;

    while (*s) {
        int64_t n = 0;
        const char *start = s;
        size_t best = 0, best_len = 0;

        while (*s >= '0' && *s <= '9') {
            n = n * 10 + (*s++ - '0');
            if (n > DURATION_MAX_NS / NS_PER_MS)
                return -EINVAL;
        }
        if (s == start)
            return -EINVAL;
        for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
            size_t len = strlen(units[i].name);
            if (strncmp(s, units[i].name, len) == 0 && len > best_len &&
                !(s[len] >= 'a' && s[len] <= 'z')) {
                best = i;
                best_len = len;
            }
        }
        if (!best_len)
            return -EINVAL;
        if (n > DURATION_MAX_NS / units[best].ns)
            return -EINVAL;
        total += n * units[best].ns;
        if (total > DURATION_MAX_NS)
            return -EINVAL;
        s += best_len;
        any = true;
    }
    if (!any || total <= 0)
        return -EINVAL;
    *ns = total;
    return 0;
}

void times_duration_format(int64_t ns, char *out, size_t size)
{
    size_t pos = 0;

    if (size == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]) && ns > 0; i++) {
        int64_t n = ns / units[i].ns;
        if (n == 0)
            continue;
        ns -= n * units[i].ns;
        int w = snprintf(out + pos, size - pos, "%lld%s", (long long)n, units[i].name);
        if (w < 0 || (size_t)w >= size - pos)
            return;
        pos += (size_t)w;
    }
    if (pos == 0)
        snprintf(out, size, "0s");
}
