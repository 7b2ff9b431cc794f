// SPDX-License-Identifier: MIT
/*
 * What the memory benchmarks (bench_accmem.c, bench_trackmem.c, bench_boardmem.c) read
 * of their own process: the bytes the C library's allocator holds in use, and the RSS.
 */
#ifndef RHEINHUB_BENCH_MEM_H
#define RHEINHUB_BENCH_MEM_H

#include <stddef.h>

/* Bytes the allocator holds in use: the arena's chunks and the mmapped ones (mallinfo2).
 * Meaningless under a sanitizer, which keeps its own allocator. */
size_t bench_mem_in_use(void);

/* VmRSS of this process in KiB, or 0 when /proc cannot tell. */
long bench_mem_rss_kib(void);

#endif
