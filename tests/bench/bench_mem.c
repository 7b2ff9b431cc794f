// SPDX-License-Identifier: MIT
/* The memory benchmarks' readings of their own process (bench_mem.h). */
#include "bench_mem.h"

#include <malloc.h>
#include <stdio.h>

size_t bench_mem_in_use(void)
{
    struct mallinfo2 mi = mallinfo2();

    return mi.uordblks + mi.hblkhd;
}

long bench_mem_rss_kib(void)
{
    char line[256];
    long kib = 0;
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}
