// SPDX-License-Identifier: MIT
/* The gauges' state file (gauge_state.h). */
#include "gauge_state.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

int gauge_state_load(const char *path, struct gauge *g, int n)
{
    char line[512], station[256];
    long long secs, ns;
    FILE *f = fopen(path, "r");

    if (!f)
        return errno == ENOENT ? 0 : -errno;
    while (fgets(line, sizeof(line), f)) {
        if (sscanf(line, "%255[^\t]\t%lld\t%lld", station, &secs, &ns) != 3)
            continue;
        for (int i = 0; i < n; i++)
            if (strcmp(g[i].st->station, station) == 0) {
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
        log_error("pegelonline", "cannot write %s: %s", path, strerror(-r));
        unlink(tmp);
        return r;
    }
    for (int i = 0; i < n; i++)
        g[i].dirty = false;
    return 0;
}
