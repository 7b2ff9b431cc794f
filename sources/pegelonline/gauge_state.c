// SPDX-License-Identifier: MIT
/* The gauges' state file (gauge_state.h). */
#include "gauge_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "measurement.h"
#include "rfc3339.h"

/*
 * Reads the number at *p up to the character end (a tab or the line's end) into *out.
 * Returns false when there is none, it is followed by anything else, or it does not fit.
 */
static bool read_number(char **p, char end, long long *out)
{
    char *stop;

    errno = 0;
    *out = strtoll(*p, &stop, 10);
    if (stop == *p || errno != 0 || (*stop != end && !(end == '\n' && *stop == '\0')))
        return false;
    *p = stop + (*stop != '\0');
    return true;
}

int gauge_state_load(const char *path, struct gauge *g, int n, int64_t now_s)
{
    const long long first_s = (long long)rfc3339_days_from_civil(0, 1, 1) * 86400;
    char line[512];
    long long secs, ns;
    int number = 0;
    FILE *f = fopen(path, "r");

    if (!f)
        return errno == ENOENT ? 0 : -errno;
    while (fgets(line, sizeof(line), f)) {
        char *tab = strchr(line, '\t'), *p;

        number++;
        if (!tab)
            continue;
        *tab = '\0';
        p = tab + 1;
        /* A damaged or hand-edited line must not hide measurements: only a time that a
         * measurement can have (measurement_read's bounds) is taken. */
        if (!read_number(&p, '\t', &secs) || !read_number(&p, '\n', &ns) || ns < 0 ||
            ns > 999999999 || secs < first_s || secs > now_s + MEASUREMENT_FUTURE_MAX_S) {
            log_warn("pegelonline", "%s:%d: %s: not a time of a measurement; the gauge starts "
                     "without one", path, number, line);
            continue;
        }
        for (int i = 0; i < n; i++)
            if (strcmp(g[i].st->station, line) == 0) {
                g[i].newest_s = secs;
                g[i].newest_ns = ns;
            }
    }
    fclose(f);
    return 0;
}

int gauge_state_save(const char *path, struct gauge *g, int n)
{
    char tmp[1100];
    FILE *f;
    int r = 0;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (!(f = fopen(tmp, "w")))
        return -errno;
    for (int i = 0; i < n; i++)
        if (g[i].newest_s || g[i].newest_ns)
            fprintf(f, "%s\t%" PRId64 "\t%" PRId64 "\n", g[i].st->station, g[i].newest_s,
                    g[i].newest_ns);
    if (fflush(f) != 0 || fsync(fileno(f)) != 0)
        r = -errno;
    if (fclose(f) != 0 && r == 0)
        r = -errno;
    if (r == 0 && rename(tmp, path) != 0)
        r = -errno;
    if (r < 0) {
        unlink(tmp);
        return r;
    }
    for (int i = 0; i < n; i++)
        g[i].dirty = false;
    return 0;
}
