// SPDX-License-Identifier: MIT
/* A PEGELONLINE answer's measurements and the event data of each (measurement.h). */
#include "measurement.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "source_reason.h"

/* Reads time and value of one measurement object. Returns 0 or a reason with detail. */
static int read_one(const json_t *obj, struct measurement *out, char *detail, size_t size)
{
    const json_t *ts = json_object_get(obj, "timestamp"), *value = json_object_get(obj, "value");

    if (!json_is_object(obj)) {
        snprintf(detail, size, "a measurement is not a JSON object");
        return SOURCE_REASON_BAD_FORMAT;
    }
    if (!json_is_string(ts) ||
        rfc3339_split(json_string_value(ts), json_string_length(ts), &out->s, &out->ns) < 0) {
        snprintf(detail, size, "timestamp is %s, not an RFC 3339 time with offset",
                 json_is_string(ts) ? json_string_value(ts) : "missing or not a string");
        return SOURCE_REASON_BAD_TIME;
    }
    /* The event's time is the UTC text: an offset can take it out of RFC 3339's years. */
    if (out->s < rfc3339_days_from_civil(0, 1, 1) * 86400 ||
        out->s >= rfc3339_days_from_civil(10000, 1, 1) * 86400) {
        snprintf(detail, size, "timestamp %s lies %s in UTC", json_string_value(ts),
                 out->s < 0 ? "before year 0" : "after 9999");
        return SOURCE_REASON_BAD_TIME;
    }
    if (!json_is_number(value)) {
        snprintf(detail, size, "value of %s is %s, not a number", json_string_value(ts),
                 !value ? "missing" : json_is_string(value) ? "a string" : "not a number");
        return value ? SOURCE_REASON_BAD_FIELD_TYPE : SOURCE_REASON_MISSING_FIELD;
    }
    out->obj = obj;
    return 0;
}

static int by_time(const void *a, const void *b)
{
    const struct measurement *x = a, *y = b;

    if (x->s != y->s)
        return x->s < y->s ? -1 : 1;
    return x->ns < y->ns ? -1 : x->ns > y->ns;
}

int measurements_read(const json_t *root, bool backfill, struct measurement **out, size_t *n,
                      measurement_bad_cb *bad, void *data, char *detail, size_t size)
{
    size_t count = backfill ? json_array_size(root) : 1, good = 0;
    struct measurement *m;
    int r;

    *out = NULL;
    *n = 0;
    if (backfill && !json_is_array(root)) {
        snprintf(detail, size, "the measurements are not a JSON array");
        return SOURCE_REASON_BAD_FORMAT;
    }
    if (count == 0)
        return 0;
    if (!(m = calloc(count, sizeof(*m)))) {
        snprintf(detail, size, "out of memory");
        return SOURCE_REASON_BAD_FORMAT;
    }
    if (!backfill) {
        if ((r = read_one(root, &m[0], detail, size)) != 0) {
            free(m);
            return r;
        }
        good = 1;
    }
    for (size_t i = 0; backfill && i < count; i++) {
        if ((r = read_one(json_array_get(root, i), &m[good], detail, size)) != 0)
            bad(data, r, detail);
        else
            good++;
    }
    if (good == 0) {
        free(m);
        return 0;
    }
    qsort(m, good, sizeof(*m), by_time);
    *out = m;
    *n = good;
    return 0;
}

json_t *measurement_data(const struct measurement *m, char time_text[RFC3339_UTC_MAX])
{
    const json_t *v = json_object_get(m->obj, "value");
    double x = json_number_value(v);
    json_t *data;

    rfc3339_format_utc(m->s, (int32_t)m->ns, time_text);
    data = json_pack("{s:s, s:o, s:s}", "time", time_text, "value",
                     x == floor(x) && fabs(x) < 1e15 ? json_integer((json_int_t)x) : json_real(x),
                     "unit", "cm");
    if (!data)
        return NULL;
    v = json_object_get(m->obj, "trend");
    if (json_is_integer(v) && json_integer_value(v) >= -1 && json_integer_value(v) <= 1)
        json_object_set(data, "trend", (json_t *)v);
    v = json_object_get(m->obj, "stateMnwMhw");
    if (json_is_string(v))
        json_object_set(data, "state_mnw_mhw", (json_t *)v);
    v = json_object_get(m->obj, "stateNswHsw");
    if (json_is_string(v))
        json_object_set(data, "state_nsw_hsw", (json_t *)v);
    return data;
}
