// SPDX-License-Identifier: MIT
/* Window lengths, RFC 3339 date-times as ns since the epoch, and window starts. */
#include "window.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

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

static int digits(const char *s, size_t n)
{
    int v = 0;

    for (size_t i = 0; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

int window_time_parse(const char *s, size_t n, int64_t *ns)
{
    int64_t seconds, frac = 0, out;
    int offset_min = 0;
    size_t i = 19;

    /* The checker has seen every digit and separator; what follows only converts. */
    if (!rfc3339_date_time_valid(s, n))
        return -EINVAL;
    seconds = days_from_civil(digits(s, 4), digits(s + 5, 2), digits(s + 8, 2)) * 86400 +
              digits(s + 11, 2) * 3600 + digits(s + 14, 2) * 60 + digits(s + 17, 2);
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
        offset_min = digits(s + i + 1, 2) * 60 + digits(s + i + 4, 2);
        if (s[i] == '-')
            offset_min = -offset_min;
    }
    seconds -= (int64_t)offset_min * 60;
    if (__builtin_mul_overflow(seconds, WINDOW_NS_PER_S, &out) ||
        __builtin_add_overflow(out, frac, &out))
        return -ERANGE;
    *ns = out;
    return 0;
}

void window_time_format(int64_t ns, char out[WINDOW_TIME_MAX])
{
    int64_t seconds = ns / WINDOW_NS_PER_S, frac = ns % WINDOW_NS_PER_S, days, sod, year;
    int month, day, len;

    if (frac < 0) { /* floor, so that the fraction is never negative */
        frac += WINDOW_NS_PER_S;
        seconds--;
    }
    days = seconds / 86400;
    sod = seconds % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    civil_from_days(days, &year, &month, &day);
    len = snprintf(out, WINDOW_TIME_MAX, "%04lld-%02d-%02dT%02d:%02d:%02d", (long long)year, month,
                   day, (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (frac) {
        char f[11];
        int k = 9;

        snprintf(f, sizeof(f), ".%09lld", (long long)frac);
        while (f[k] == '0')
            k--;
        f[k + 1] = '\0';
        len += snprintf(out + len, (size_t)(WINDOW_TIME_MAX - len), "%s", f);
    }
    snprintf(out + len, (size_t)(WINDOW_TIME_MAX - len), "Z");
}

int64_t window_start(int64_t t_ns, int64_t length_s)
{
    int64_t w = length_s * WINDOW_NS_PER_S, q = t_ns / w;

    if (t_ns % w < 0)
        q--;
    return q * w;
}
