// SPDX-License-Identifier: MIT
/* RFC 3339 date-times to ns since the epoch and back, without the C library's time zone. */
#include "timestamp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "rfc3339.h"

int timestamp_parse(const char *s, size_t n, int64_t *ns)
{
    /* a time out of range comes back saturated (-ERANGE), and storage keeps it so */
    return rfc3339_to_ns(s, n, ns) == -EINVAL ? -EINVAL : 0;
}

int timestamp_parse_bound(const char *s, int64_t *ns)
{
    size_t n = strlen(s);
    char midnight[21];

    if (n == 10 && rfc3339_date_valid(s, n)) {
        snprintf(midnight, sizeof(midnight), "%.10sT00:00:00Z", s);
        return timestamp_parse(midnight, 20, ns);
    }
    return timestamp_parse(s, n, ns);
}

void timestamp_format_pg(int64_t ns, char out[TIMESTAMP_PG_MAX])
{
    struct rfc3339_civil c;

    rfc3339_civil_from_ns(ns, &c);
    snprintf(out, TIMESTAMP_PG_MAX, "%04lld-%02d-%02d %02d:%02d:%02d.%06d+00", (long long)c.year,
             c.month, c.day, c.hour, c.minute, c.second, (int)(c.frac_ns / 1000));
}
