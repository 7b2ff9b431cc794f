// SPDX-License-Identifier: MIT
/* Durations (duration.h): parsing and formatting in ms, s, m, h and d. */
#include "duration.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

static const struct {
    const char *name;
    int64_t ns;
} units[] = {
    {"d", 86400 * NS_PER_S}, {"h", 3600 * NS_PER_S}, {"m", 60 * NS_PER_S},
    {"s", NS_PER_S},         {"ms", NS_PER_MS},
};

int duration_parse(const char *s, int64_t *ns)
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

void duration_format(int64_t ns, char *out, size_t size)
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
