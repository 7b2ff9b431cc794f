// SPDX-License-Identifier: MIT
/* Window lengths, RFC 3339 date-times as ns since the epoch, and window starts. */
#include "window.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "localday.h"
#include "rfc3339.h"

static const struct {
    char unit;
    int64_t seconds;
} units[] = {{'d', 86400}, {'h', 3600}, {'m', 60}, {'s', 1}}; /* largest first */

int window_length_parse(const char *text, int64_t *seconds)
{
    size_t n = text ? strlen(text) : 0;
    int64_t count = 0;

    if (n < 2 || n > 6 || text[0] < '1' || text[0] > '9')
        return -EINVAL;
    for (size_t i = 0; i + 1 < n; i++) {
        if (text[i] < '0' || text[i] > '9')
            return -EINVAL;
        count = count * 10 + (text[i] - '0');
    }
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        if (text[n - 1] == units[u].unit) {
            if (count * units[u].seconds > WINDOW_LENGTH_MAX_S)
                return -ERANGE;
            *seconds = count * units[u].seconds;
            return 0;
        }
    }
    return -EINVAL;
}

void window_length_format(int64_t seconds, char out[WINDOW_TEXT_MAX])
{
    for (size_t u = 0; u < sizeof(units) / sizeof(units[0]); u++) {
        if (seconds % units[u].seconds == 0) {
            snprintf(out, WINDOW_TEXT_MAX, "%lld%c", (long long)(seconds / units[u].seconds),
                     units[u].unit);
            return;
        }
    }
}

int window_time_parse(const char *s, size_t n, int64_t *ns)
{
    return rfc3339_to_ns(s, n, ns);
}

void window_time_format(int64_t ns, char out[WINDOW_TIME_MAX])
{
    rfc3339_format_ns(ns, out);
}

static bool local_days(int64_t length_s)
{
    return localday_on() && length_s % 86400 == 0;
}

int64_t window_start(int64_t t_ns, int64_t length_s)
{
    int64_t w = length_s * WINDOW_NS_PER_S, q = t_ns / w, start;

    if (local_days(length_s))
        return localday_start(t_ns, length_s / 86400);
    if (t_ns % w < 0)
        q--;
    if (__builtin_mul_overflow(q, w, &start))
        return INT64_MIN; /* t_ns lies in the first, partial window that int64 ns hold */
    return start;
}

int64_t window_end(int64_t start_ns, int64_t length_s)
{
    int64_t end;

    if (local_days(length_s))
        return localday_end(start_ns, length_s / 86400);
    if (__builtin_add_overflow(start_ns, length_s * WINDOW_NS_PER_S, &end))
        return INT64_MAX;
    return end;
}
