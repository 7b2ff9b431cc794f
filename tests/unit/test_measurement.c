// SPDX-License-Identifier: MIT
/*
 * Unit tests of a PEGELONLINE answer's measurements (measurement.h): times converted to
 * UTC and sorted, the reasons of answers that cannot be read, times whose UTC form has
 * no RFC 3339 text (a year after 9999 or before 0), and a gap fill's bad measurements
 * left out one by one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mapping.h"
#include "measurement.h"
#include "source_reason.h"

/* measurement_bad_cb: appends "<reason>: <detail>;" to the buffer in data. */
static void note_bad(void *data, int reason, const char *detail)
{
    char *bad = data;
    size_t len = strlen(bad);

    snprintf(bad + len, 1024 - len, "%s: %s;", source_reason_name((enum source_reason)reason),
             detail);
}

/* Reads text as an answer; returns 0 with the UTC times joined by spaces in out, or the
 * reason with its detail in out. What the gap fill leaves out goes to bad[1024]. */
static int read_answer_bad(const char *text, bool backfill, char *out, size_t size, char *bad)
{
    json_error_t e;
    json_t *root = json_loads(text, 0, &e);
    struct measurement *m;
    char detail[MAPPING_DETAIL_MAX], t[RFC3339_UTC_MAX];
    size_t n, len = 0;
    int r;

    if (!root)
        fail_msg("%s: %s", text, e.text);
    bad[0] = '\0';
    r = measurements_read(root, backfill, &m, &n, note_bad, bad, detail, sizeof(detail));
    out[0] = '\0';
    if (r != 0) {
        snprintf(out, size, "%s", detail);
    } else {
        for (size_t i = 0; i < n; i++) {
            json_t *data = measurement_data(&m[i], t);
            assert_non_null(data);
            json_decref(data);
            len += (size_t)snprintf(out + len, size - len, "%s%s", i ? " " : "", t);
        }
        free(m);
    }
    json_decref(root);
    return r;
}

/* As read_answer_bad, for answers with nothing to leave out. */
static int read_answer(const char *text, bool backfill, char *out, size_t size)
{
    char bad[1024];
    int r = read_answer_bad(text, backfill, out, size, bad);

    assert_string_equal(bad, "");
    return r;
}

static void measurement_times_in_utc_oldest_first(void **state)
{
    char out[512];

    assert_int_equal(read_answer("{\"timestamp\":\"2026-11-26T07:00:00+01:00\",\"value\":702.0}",
                                 false, out, sizeof(out)), 0);
    assert_string_equal(out, "2026-11-26T06:00:00Z");
    assert_int_equal(read_answer("[{\"timestamp\":\"2026-07-01T08:15:00+02:00\",\"value\":1},"
                                 "{\"timestamp\":\"2026-07-01T08:00:00+02:00\",\"value\":2}]",
                                 true, out, sizeof(out)), 0);
    assert_string_equal(out, "2026-07-01T06:00:00Z 2026-07-01T06:15:00Z");
    /* the last and the first second that have an RFC 3339 text in UTC */
    assert_int_equal(read_answer("[{\"timestamp\":\"9999-12-31T23:59:59+00:00\",\"value\":1},"
                                 "{\"timestamp\":\"0000-01-01T01:00:00+01:00\",\"value\":2}]",
                                 true, out, sizeof(out)), 0);
    assert_string_equal(out, "0000-01-01T00:00:00Z 9999-12-31T23:59:59Z");
}

/* A time whose offset takes it past 9999 or before year 0 in UTC is a bad time, not an
 * event time "10000-01-01T00:30:00Z" that fails the schema (and, newest of all, would
 * hide every later measurement of the gauge). */
static void measurement_utc_beyond_rfc3339_is_bad_time(void **state)
{
    char out[512], bad[1024];

    assert_int_equal(read_answer("{\"timestamp\":\"9999-12-31T23:30:00-01:00\",\"value\":400}",
                                 false, out, sizeof(out)), SOURCE_REASON_BAD_TIME);
    assert_string_equal(out, "timestamp 9999-12-31T23:30:00-01:00 lies after 9999 in UTC");
    assert_int_equal(read_answer_bad("[{\"timestamp\":\"2026-11-26T07:00:00+01:00\",\"value\":1},"
                                     "{\"timestamp\":\"0000-01-01T00:30:00+01:00\",\"value\":2}]",
                                     true, out, sizeof(out), bad), 0);
    assert_string_equal(out, "2026-11-26T06:00:00Z");
    assert_string_equal(bad, "bad_time: timestamp 0000-01-01T00:30:00+01:00 lies before year 0 "
                             "in UTC;");
}

/* A gap fill with measurements that cannot be read: each is passed on with its reason,
 * the others are read, oldest first. */
static void measurement_gap_fill_leaves_out_only_the_bad_ones(void **state)
{
    char out[512], bad[1024];
    const char *answer = "[{\"timestamp\":\"2026-11-26T07:15:00+01:00\",\"value\":3},"
                         "{\"timestamp\":\"2026-11-26T07:00:00+01:00\",\"value\":\"x\"},"
                         "{\"timestamp\":\"2026-11-26T07:30:00+01:00\"},"
                         "[],"
                         "{\"timestamp\":\"2026-11-26T06:45:00+01:00\",\"value\":1}]";

    assert_int_equal(read_answer_bad(answer, true, out, sizeof(out), bad), 0);
    assert_string_equal(out, "2026-11-26T05:45:00Z 2026-11-26T06:15:00Z");
    assert_string_equal(bad, "bad_field_type: value of 2026-11-26T07:00:00+01:00 is a string, "
                             "not a number;missing_field: value of 2026-11-26T07:30:00+01:00 is "
                             "missing, not a number;bad_format: a measurement is not a JSON "
                             "object;");
    /* none good: nothing to publish, and no error for the answer */
    assert_int_equal(read_answer_bad("[{\"timestamp\":\"x\",\"value\":1}]", true, out,
                                     sizeof(out), bad), 0);
    assert_string_equal(out, "");
    assert_string_equal(bad, "bad_time: timestamp is x, not an RFC 3339 time with offset;");
}

static void measurement_answers_that_cannot_be_read(void **state)
{
    char out[512];

    assert_int_equal(read_answer("{\"timestamp\":\"2026-11-26T07:00:00\",\"value\":1}", false,
                                 out, sizeof(out)), SOURCE_REASON_BAD_TIME);
    assert_int_equal(read_answer("{\"timestamp\":\"2026-11-26T07:00:00+01:00\",\"value\":\"1\"}",
                                 false, out, sizeof(out)), SOURCE_REASON_BAD_FIELD_TYPE);
    assert_int_equal(read_answer("{\"timestamp\":\"2026-11-26T07:00:00+01:00\"}", false, out,
                                 sizeof(out)), SOURCE_REASON_MISSING_FIELD);
    assert_int_equal(read_answer("{\"timestamp\":\"2026-11-26T07:00:00+01:00\",\"value\":1}",
                                 true, out, sizeof(out)), SOURCE_REASON_BAD_FORMAT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(measurement_times_in_utc_oldest_first),
        cmocka_unit_test(measurement_utc_beyond_rfc3339_is_bad_time),
        cmocka_unit_test(measurement_gap_fill_leaves_out_only_the_bad_ones),
        cmocka_unit_test(measurement_answers_that_cannot_be_read),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
