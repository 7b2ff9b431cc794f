// SPDX-License-Identifier: MIT
/*
 * RFC 3339 times and rule durations (times.h). The calendar arithmetic is core's
 * (rfc3339.h), shared with storage and analytics.
 */
#include "times.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rfc3339.h"

#define DURATION_MAX_NS (365LL * 86400 * NS_PER_S)

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
