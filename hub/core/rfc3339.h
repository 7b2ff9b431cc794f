// SPDX-License-Identifier: MIT
/*
 * RFC 3339 date-time checking (section 5.6, "date-time"), as JSON Schema's
 * "date-time" format and the envelope's time require it, and the one conversion of such
 * times to nanoseconds since the epoch and back that the workers share.
 */
#ifndef RHEINHUB_RFC3339_H
#define RHEINHUB_RFC3339_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Whether s[0..n) is a full RFC 3339 date-time: YYYY-MM-DD, "T" (or "t"),
 * hh:mm:ss, an optional fraction of any length, and "Z" (or "z") or an offset
 * +hh:mm / -hh:mm. Days are checked against the month and leap years; a leap
 * second (:60) is accepted only where it falls at 23:59 UTC.
 */
bool rfc3339_date_time_valid(const char *s, size_t n);
bool rfc3339_date_valid(const char *s, size_t n);
bool rfc3339_time_valid(const char *s, size_t n);

/*
 * Splits a valid RFC 3339 date-time s[0..n) into seconds since 1970-01-01T00:00:00Z
 * (the offset applied; a leap second counts as the first second of the next minute)
 * and the fraction in ns (digits beyond the ninth dropped). Returns 0, or -EINVAL
 * when s is not a valid date-time.
 */
int rfc3339_split(const char *s, size_t n, int64_t *seconds, int64_t *frac_ns);

/*
 * The valid RFC 3339 date-time s[0..n) as ns since 1970-01-01T00:00:00Z (rfc3339_split's
 * rules). Returns 0; -EINVAL when s is not a valid date-time; -ERANGE when the time lies
 * outside what 64 bits of ns hold (before 1677-09-21, after 2262-04-11), with *ns
 * saturated to INT64_MIN or INT64_MAX, so that it still sorts first or last.
 */
int rfc3339_to_ns(const char *s, size_t n, int64_t *ns);

/* A UTC date and time of day, as rfc3339_civil_from_ns gives it. */
struct rfc3339_civil {
    int64_t year;
    int month, day, hour, minute, second; /* 1-12, 1-31, 0-23, 0-59, 0-59 */
    int32_t frac_ns;                      /* 0 to 999,999,999, before 1970 too */
};

/* The UTC date and time of ns since 1970-01-01T00:00:00Z (any int64, rounded down). */
void rfc3339_civil_from_ns(int64_t ns, struct rfc3339_civil *c);

/* The longest text rfc3339_format_utc writes, and its NUL. */
#define RFC3339_UTC_MAX 48

/*
 * Writes seconds since 1970-01-01T00:00:00Z and frac_ns more (0 to 999,999,999) as an
 * RFC 3339 UTC date-time: "YYYY-MM-DDTHH:MM:SSZ" for whole seconds, else with the
 * fraction's trailing zeros dropped (".5Z", ".123456789Z"). A year before 1 or after
 * 9999 has no RFC 3339 form; it is written with its sign and digits as they are.
 */
void rfc3339_format_utc(int64_t seconds, int32_t frac_ns, char out[RFC3339_UTC_MAX]);

/* The same for ns since 1970-01-01T00:00:00Z (any int64, rounded down). */
void rfc3339_format_ns(int64_t ns, char out[RFC3339_UTC_MAX]);

/* Days since 1970-01-01 of a proleptic Gregorian date, and back (H. Hinnant's algorithms). */
int64_t rfc3339_days_from_civil(int64_t y, int m, int d);
void rfc3339_civil_from_days(int64_t z, int64_t *y, int *m, int *d);

/* Writes the current UTC time as "YYYY-MM-DDTHH:MM:SS.mmmZ" (size >= 25). */
void rfc3339_now_ms(char *buf, size_t size);

#endif
