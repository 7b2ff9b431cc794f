// SPDX-License-Identifier: MIT
/*
 * What a PEGELONLINE answer says, without I/O: its water level measurements (the
 * current one, or with the gap fill a list), each with its time in UTC, and the data of
 * the sensor.waterlevel event one of them becomes.
 */
#ifndef RHEINHUB_MEASUREMENT_H
#define RHEINHUB_MEASUREMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "rfc3339.h"

/*
 * A measurement more than this ahead of our clock is not published: a dead letter
 * future_time that does not become the gauge's newest (a gauge's clock gone wrong would
 * otherwise hide every later measurement). An hour, as the analytics worker's
 * ANALYTICS_FUTURE_MAX_S: an event further ahead would not be aggregated either.
 */
#define MEASUREMENT_FUTURE_MAX_S 3600

/* One measurement as read: its UTC time and the JSON object it came from (borrowed). */
struct measurement {
    int64_t s, ns;
    const json_t *obj;
};

/* Called for a measurement of the gap fill that cannot be read, with its reason and detail. */
typedef void measurement_bad_cb(void *data, int reason, const char *detail);

/*
 * The measurements of a 200 answer, root: one object, or with backfill an array of
 * them. Returns 0 with *out (malloc'd, the caller frees; NULL when *n is 0) oldest
 * first, or a source_reason with detail[size] filled (nothing to free): an answer that
 * is not an array (backfill) or whose one measurement cannot be read (current). With
 * backfill, a measurement that cannot be read is left out and passed to bad (with
 * data), so that one bad value holds up none of the day's others.
 */
int measurements_read(const json_t *root, bool backfill, struct measurement **out, size_t *n,
                      measurement_bad_cb *bad, void *data, char *detail, size_t size);

/*
 * The event data of m: time (also written to time_text, UTC), value (an integer when
 * whole: PEGELONLINE gives whole centimetres as reals), unit cm, and trend and the two
 * states when the answer has them. A new object, or NULL without memory.
 */
json_t *measurement_data(const struct measurement *m, char time_text[RFC3339_UTC_MAX]);

#endif
