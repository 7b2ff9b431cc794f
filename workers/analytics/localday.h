// SPDX-License-Identifier: MIT
/*
 * Local days of the zone analytics.timezone, for windows whose length is a whole number
 * of days: they start at local midnight and end at the local midnight N local days
 * later (23 or 25 hours around a DST change). Local days are counted from 1970-01-01
 * local, as UTC days are from 1970-01-01T00:00:00Z. The zone is the process's (TZ), so
 * it is set once, before any thread starts; the functions remember the last windows
 * they found, so they are called from one thread.
 */
#ifndef RHEINHUB_ANALYTICS_LOCALDAY_H
#define RHEINHUB_ANALYTICS_LOCALDAY_H

#include <stdbool.h>
#include <stdint.h>

/*
 * Sets the zone: an IANA name ("Europe/Berlin", checked by config_load) or "UTC",
 * which turns local days off (windows stay UTC-aligned). Returns 0 or -errno.
 */
int localday_zone_set(const char *name);

/* Whether a zone other than UTC is set. */
bool localday_on(void);

/*
 * Start (ns) of the window of days local days that holds t_ns; INT64_MIN when that
 * start lies before what int64 ns hold (1677-09-21).
 */
int64_t localday_start(int64_t t_ns, int64_t days);

/* End (ns) of the window of days local days that starts at start_ns; INT64_MAX beyond
 * what int64 ns hold. */
int64_t localday_end(int64_t start_ns, int64_t days);

#endif
