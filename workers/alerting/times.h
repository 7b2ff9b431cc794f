// SPDX-License-Identifier: MIT
/*
 * Time for the alerting worker: RFC 3339 event times to nanoseconds since the epoch
 * (to order a subject's events and to measure rates), alert times (raised_at,
 * updated_at, cleared_at) as RFC 3339 UTC text with milliseconds, and durations as
 * written in the rules file ("30m", "1h30m", "500ms").
 */
#ifndef RHEINHUB_ALERTING_TIMES_H
#define RHEINHUB_ALERTING_TIMES_H

#include <stddef.h>
#include <stdint.h>

#define TIMES_TEXT_MAX 32 /* "2026-11-26T06:00:00.412Z" and its NUL, with room */
#define NS_PER_MS 1000000LL
#define NS_PER_S 1000000000LL

/*
 * Parses an RFC 3339 date-time (any fraction, "Z" or an offset) in s[0..n) to ns since
 * the epoch, UTC; fractions beyond nanoseconds are cut, and a leap second counts as the
 * first second of the next minute (rfc3339_to_ns). Returns 0; -EINVAL, or -ERANGE for a
 * time before 1677-09-21 or after 2262-04-11, which 64 bits of ns do not hold.
 */
int times_parse(const char *s, size_t n, int64_t *ns);

/* Writes ns since the epoch as "YYYY-MM-DDThh:mm:ss.mmmZ". */
void times_format_ms(int64_t ns, char out[TIMES_TEXT_MAX]);

/* The wall clock (CLOCK_REALTIME), ns since the epoch. */
int64_t times_now_ns(void);

/*
 * Parses a duration: one or more <number><unit> with units ms, s, m, h, d ("90s",
 * "1h30m"); the total must be positive and at most 365 days. Returns 0, or -EINVAL.
 */
int times_duration_parse(const char *s, int64_t *ns);

/* Writes a duration in the largest units that are exact: "30m", "1h30m", "500ms". */
void times_duration_format(int64_t ns, char *out, size_t size);

#endif
