// SPDX-License-Identifier: MIT
/*
 * Times the SQLite schema migration the storage worker runs on start: opens the
 * database given (made by tests/bench/bench_storage_migration in the layout of schema
 * version 1) as the worker does, which migrates it, and prints the seconds it took and
 * the peak RSS. The migration logs its progress to stderr as in the worker.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "config.h"
#include "store.h"

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* VmHWM of this process in KiB, or -1. */
static long peak_rss_kib(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kib = -1;

    if (!f)
        return -1;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmHWM: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

int main(int argc, char **argv)
{
    static struct hub_config cfg;
    char err[STORE_ERROR_MAX];
    struct store *s = NULL;
    double t0;
    int r;

    if (argc != 2) {
        fprintf(stderr, "usage: %s DATABASE\n", argv[0]);
        return 2;
    }
    config_defaults(&cfg);
    t0 = now_s();
    if ((r = store_open(&s, &cfg, argv[1], STORE_EXISTING, err, sizeof(err))) < 0) {
        fprintf(stderr, "%s: %s\n", argv[0], err);
        return 1;
    }
    printf("migrated and opened in %.1f s, peak RSS %.1f MiB\n", now_s() - t0,
           (double)peak_rss_kib() / 1024);
    store_close(s);
    return 0;
}
