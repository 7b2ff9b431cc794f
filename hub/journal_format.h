// SPDX-License-Identifier: MIT
/*
 * The crash journal's segment format (journal.h has the layout): the magic lines, the
 * record sizes, big-endian integers and the two checksums. journal.c writes it,
 * journal_load.c reads it.
 */
#ifndef RHEINHUB_JOURNAL_FORMAT_H
#define RHEINHUB_JOURNAL_FORMAT_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <xxhash.h>

#define JOURNAL_MAGIC "RHJRNL2\n"    /* written: XXH3 checksums */
#define JOURNAL_MAGIC_V1 "RHJRNL1\n" /* read too: FNV-1a checksums, an older hub's */
#define JOURNAL_MAGIC_LEN 8
#define JOURNAL_RECORD_HEAD 5        /* tag u8 | body length u32 */
#define JOURNAL_RECORD_SUM 4         /* checksum u32 after the body */
#define JOURNAL_BODY_MAX (64u << 20)
#define JOURNAL_EVENT_FIXED (8 + 8 + 4 * 4)
#define JOURNAL_DONE_BODY (8 + 8)

/* Every seq in lo..hi is in Redis. */
struct seq_range {
    uint64_t lo, hi;
};

/* Appends lo..hi to the array *v of *n ranges (room for *cap), growing it by doubling.
 * Returns 0, or -ENOMEM with the array as it was. */
static inline int journal_ranges_push(struct seq_range **v, size_t *n, size_t *cap,
                                      uint64_t lo, uint64_t hi)
{
    if (*n == *cap) {
        size_t more = *cap ? *cap * 2 : 256;
        struct seq_range *d = realloc(*v, more * sizeof(*d));
        if (!d)
            return -ENOMEM;
        *v = d;
        *cap = more;
    }
    (*v)[*n].lo = lo;
    (*v)[*n].hi = hi;
    (*n)++;
    return 0;
}

static inline void journal_put_u32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24), p[1] = (char)(v >> 16), p[2] = (char)(v >> 8), p[3] = (char)v;
}

static inline void journal_put_u64(char *p, uint64_t v)
{
    journal_put_u32(p, (uint32_t)(v >> 32));
    journal_put_u32(p + 4, (uint32_t)v);
}

static inline uint32_t journal_get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t journal_get_u64(const unsigned char *p)
{
    return (uint64_t)journal_get_u32(p) << 32 | journal_get_u32(p + 4);
}

/* The checksum of a record's body: the low 32 bits of its XXH3 64-bit hash. */
static inline uint32_t journal_sum(const void *data, size_t len)
{
    return (uint32_t)XXH3_64bits(data, len);
}

/* The checksum of a version 1 segment's records: FNV-1a, a byte at a time, 7 times the
 * cost of journal_sum on an event's record. */
static inline uint32_t journal_sum_v1(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++)
        h = (h ^ p[i]) * 16777619u;
    return h;
}

#endif
