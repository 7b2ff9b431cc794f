// SPDX-License-Identifier: MIT
/*
 * Window arithmetic and event time for the analytics worker: window lengths as in the
 * topic ("15m"), RFC 3339 date-times to nanoseconds since the epoch (UTC) and back,
 * and the tumbling window an instant falls into. Windows are aligned to multiples of
 * their length since 1970-01-01T00:00:00Z (so "1d" is a UTC day), except that with a
 * zone set (localday.h), whole-day windows are local days.
 */
#ifndef RHEINHUB_ANALYTICS_WINDOW_H
#define RHEINHUB_ANALYTICS_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "rfc3339.h"

#define WINDOW_NS_PER_S 1000000000LL
/* Longest window: 31 days, so that a month-long window per subject is the most held. */
#define WINDOW_LENGTH_MAX_S (31LL * 86400)
/* "99999d" and its NUL. */
#define WINDOW_TEXT_MAX 8
/* "YYYY-MM-DDTHH:MM:SS.fffffffffZ" and its NUL. */
#define WINDOW_TIME_MAX RFC3339_UTC_MAX

/*
 * Parses a window length: a count 1..99999 without leading zeros and a unit s, m, h
 * or d, e.g. "15m". Returns 0 with *seconds set, -EINVAL for bad text, -ERANGE for
 * a length above WINDOW_LENGTH_MAX_S.
 */
int window_length_parse(const char *text, int64_t *seconds);

/*
 * Writes a length (1..WINDOW_LENGTH_MAX_S seconds) in its canonical form: the
 * largest unit that divides it, so that "60m" and "1h" name one topic ("1h").
 */
void window_length_format(int64_t seconds, char out[WINDOW_TEXT_MAX]);

/*
 * Parses the RFC 3339 date-time s[0..n) (any fraction length, "Z" or an offset) into
 * ns since the epoch, UTC. Digits of the fraction beyond the ninth are dropped
 * (truncated); a leap second (:60) counts as the first second of the next minute.
 * Returns 0, -EINVAL when s is not a date-time, -ERANGE when it lies outside what 64
 * bits of ns hold (1677-09-21 to 2262-04-11).
 */
int window_time_parse(const char *s, size_t n, int64_t *ns);

/*
 * Writes ns as an RFC 3339 UTC date-time, "YYYY-MM-DDTHH:MM:SSZ" for whole seconds,
 * else with the fraction's trailing zeros dropped (".5Z", ".123456789Z").
 */
void window_time_format(int64_t ns, char out[WINDOW_TIME_MAX]);

/*
 * Start (ns) of the window of length_s seconds that holds t_ns: the floor, also before
 * 1970; INT64_MIN for the first, partial window, whose start int64 ns do not hold.
 * With a zone set, a length of whole days gives the local midnight (localday.h).
 */
int64_t window_start(int64_t t_ns, int64_t length_s);

/*
 * End (ns, not in the window) of the window of length_s seconds that starts at
 * start_ns (as window_start gives it): start_ns + length_s, or with a zone set and a
 * length of whole days the local midnight that many local days later. INT64_MAX when
 * the end lies beyond what int64 ns hold.
 */
int64_t window_end(int64_t start_ns, int64_t length_s);

#endif
