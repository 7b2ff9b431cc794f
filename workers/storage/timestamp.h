// SPDX-License-Identifier: MIT
/*
 * RFC 3339 date-times as nanoseconds since 1970-01-01T00:00:00Z: what storage sorts
 * and filters on (events.time_ns, the query's --since and --until), and the text
 * PostgreSQL takes for a timestamptz.
 */
#ifndef RHEINHUB_STORAGE_TIMESTAMP_H
#define RHEINHUB_STORAGE_TIMESTAMP_H

#include <stddef.h>
#include <stdint.h>

/* "YYYY-MM-DD HH:MM:SS.ffffff+00" and its NUL. */
#define TIMESTAMP_PG_MAX 32

/*
 * Parses the RFC 3339 date-time s[0..n) (any fraction length, "Z" or an offset) into
 * ns since the epoch, UTC. Digits beyond the ninth of the fraction are dropped; a
 * leap second counts as the first second of the next minute. Times outside what 64
 * bits of ns hold (before 1677-09-21, after 2262-04-11) saturate to INT64_MIN or
 * INT64_MAX, so that they still sort first or last. Returns 0, or -EINVAL.
 */
int timestamp_parse(const char *s, size_t n, int64_t *ns);

/*
 * Parses a query bound: an RFC 3339 date-time, or a full-date "YYYY-MM-DD" meaning
 * midnight UTC of that day. Returns 0, or -EINVAL.
 */
int timestamp_parse_bound(const char *s, int64_t *ns);

/*
 * Writes ns as "YYYY-MM-DD HH:MM:SS.ffffff+00" (microseconds, rounded down), which
 * PostgreSQL reads as a timestamptz for every value of ns.
 */
void timestamp_format_pg(int64_t ns, char out[TIMESTAMP_PG_MAX]);

#endif
