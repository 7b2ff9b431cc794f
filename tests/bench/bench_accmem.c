// SPDX-License-Identifier: MIT
/*
 * rheinhub-bench-accmem: the memory of the analytics worker's open windows. Opens N
 * windows (argument 1, 100,000 by default) as the worker does for water level events:
 * the key from acc_key_build, the window from acc_new into a string map by its key,
 * then one event with its fields value and trend (numbers) and unit (counted per value,
 * "cm"). Device d = i / 4 has the windows 1m, 15m, 1h and 1d (subject gauge-<d>, keys
 * of 44 to 49 bytes). Prints the bytes per window that the C library's allocator holds
 * in use for them (mallinfo2: arena and mmapped bytes, after minus before) and the
 * process's RSS growth per window. Meaningful in a release or debugoptimized build only:
 * AddressSanitizer keeps its own allocator and red zones.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acc.h"
#include "bench_mem.h"
#include "strmap.h"
#include "window.h"

#define WINDOWS_DEFAULT 100000
/* 2026-11-26T00:00:00Z: aligned for every length below. */
#define START_S 1795651200LL

static const char *const lengths[] = {"1m", "15m", "1h", "1d"};

/* Opens window i of the run into m and counts one event in it; 0 or -1. */
static int open_window(struct strmap *m, size_t i)
{
    char key[ACC_KEY_MAX], subject[32];
    const char *length = lengths[i % 4];
    int n = snprintf(subject, sizeof(subject), "gauge-%zu", i / 4);
    struct acc *acc;

    if (acc_key_build(key, "linz", 4, "sensor.waterlevel", 17, subject, (size_t)n, length,
                      START_S * WINDOW_NS_PER_S) < 0)
        return -1;
    if (strmap_get(m, key, strlen(key)))
        return -1; /* every key is new */
    if (!(acc = acc_new(key)))
        return -1;
    if (strmap_put_borrowed(m, acc->key, strlen(acc->key), acc) < 0) {
        acc_free(acc);
        return -1;
    }
    acc_add_event(acc);
    if (acc_add_number(acc, "value", 5, 300.0 + (double)(i % 400), START_S) < 0 ||
        acc_add_number(acc, "trend", 5, 0, START_S) < 0 ||
        acc_add_category(acc, "unit", 4, "cm", 2) < 0)
        return -1;
    return 0;
}

static int free_window(const char *key, void *value, void *data)
{
    acc_free(strmap_remove(data, key, strlen(key)));
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = WINDOWS_DEFAULT, used0, used1;
    long rss0, rss1;
    struct strmap *m;

    if (argc > 1 && (n = strtoul(argv[1], NULL, 10)) == 0) {
        fprintf(stderr, "usage: rheinhub-bench-accmem [windows]\n");
        return 2;
    }
    if (!(m = strmap_new()))
        return 1;
    used0 = bench_mem_in_use();
    rss0 = bench_mem_rss_kib();
    for (size_t i = 0; i < n; i++) {
        if (open_window(m, i) < 0) {
            fprintf(stderr, "rheinhub-bench-accmem: window %zu could not be opened\n", i);
            return 1;
        }
    }
    used1 = bench_mem_in_use();
    rss1 = bench_mem_rss_kib();
    printf("open windows            %zu (sizeof(struct acc) %zu bytes)\n", strmap_size(m),
           sizeof(struct acc));
    if (used1 > used0)
        printf("allocator in use        %.1f MiB, %.0f bytes per window\n",
               (double)(used1 - used0) / 1048576, (double)(used1 - used0) / (double)n);
    else
        printf("allocator in use        not known (mallinfo2 tells nothing: a sanitizer?)\n");
    printf("RSS growth              %.1f MiB, %.0f bytes per window\n",
           (double)(rss1 - rss0) / 1024, (double)(rss1 - rss0) * 1024 / (double)n);
    strmap_each(m, free_window, m);
    strmap_free(m);
    return 0;
}
