// SPDX-License-Identifier: MIT
/*
 * Unit tests of the storage worker's time conversion: RFC 3339 to ns since the epoch
 * (fractions, offsets, leap seconds, saturation), query bounds, and the timestamptz
 * text for PostgreSQL.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "timestamp.h"

static int64_t parse(const char *s)
{
    int64_t ns = 12345;

    assert_int_equal(timestamp_parse(s, strlen(s), &ns), 0);
    return ns;
}

static void timestamp_parses_utc_and_fractions(void **state)
{
    assert_int_equal(parse("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(parse("1970-01-01T00:00:01Z"), 1000000000LL);
    assert_int_equal(parse("2026-11-26T06:00:00Z"), 1795672800LL * 1000000000LL);
    assert_int_equal(parse("2026-11-26T06:00:00.5Z"), 1795672800LL * 1000000000LL + 500000000);
    assert_int_equal(parse("2026-11-26T06:00:00.000000123Z"),
                     1795672800LL * 1000000000LL + 123);
    /* digits past the ninth are dropped, not rounded */
    assert_int_equal(parse("2026-11-26T06:00:00.1234567899Z"),
                     1795672800LL * 1000000000LL + 123456789);
    assert_int_equal(parse("2026-11-26t06:00:00z"), 1795672800LL * 1000000000LL);
    assert_int_equal(parse("1969-12-31T23:59:59.999999999Z"), -1);
    assert_int_equal(parse("2000-02-29T12:00:00Z"), 951825600LL * 1000000000LL);
}

static void timestamp_applies_offsets(void **state)
{
    int64_t utc = parse("2026-11-26T05:00:00Z");

    assert_int_equal(parse("2026-11-26T06:00:00+01:00"), utc);
    assert_int_equal(parse("2026-11-26T00:30:00-04:30"), utc);
    assert_int_equal(parse("2026-11-26T05:00:00-00:00"), utc);
    /* across a day and a year */
    assert_int_equal(parse("2027-01-01T00:30:00+01:00"), parse("2026-12-31T23:30:00Z"));
}

static void timestamp_leap_second_is_next_minute(void **state)
{
    assert_int_equal(parse("2016-12-31T23:59:60Z"), parse("2017-01-01T00:00:00Z"));
}

static void timestamp_saturates_outside_64_bits(void **state)
{
    assert_int_equal(parse("0001-01-01T00:00:00Z"), INT64_MIN);
    assert_int_equal(parse("9999-12-31T23:59:59.999999999Z"), INT64_MAX);
    assert_int_equal(parse("1677-09-21T00:12:43.145224192Z"), INT64_MIN);
    assert_int_equal(parse("2262-04-11T23:47:16.854775807Z"), INT64_MAX);
    assert_int_equal(parse("2262-04-11T23:47:16.854775806Z"), INT64_MAX - 1);
    assert_int_equal(parse("1677-09-21T00:12:43.145224193Z"), INT64_MIN + 1);
}

static void timestamp_rejects_what_is_not_rfc3339(void **state)
{
    static const char *const bad[] = {
        "", "2026-11-26", "2026-11-26T06:00:00", "2026-11-26 06:00:00Z",
        "2026-02-30T06:00:00Z", "2026-11-26T24:00:00Z", "2026-11-26T06:00:00.Z",
        "2026-11-26T06:00:00+1:00", "x026-11-26T06:00:00Z",
    };
    int64_t ns = 7;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        print_message("%s\n", bad[i]);
        assert_int_equal(timestamp_parse(bad[i], strlen(bad[i]), &ns), -EINVAL);
    }
    assert_int_equal(ns, 7);
    /* the length counts: a valid prefix is not a valid time */
    assert_int_equal(timestamp_parse("2026-11-26T06:00:00Zjunk", 20, &ns), 0);
    assert_int_equal(timestamp_parse("2026-11-26T06:00:00Zjunk", 21, &ns), -EINVAL);
}

static void timestamp_bounds_take_dates(void **state)
{
    int64_t ns;

    assert_int_equal(timestamp_parse_bound("2026-11-26", &ns), 0);
    assert_int_equal(ns, parse("2026-11-26T00:00:00Z"));
    assert_int_equal(timestamp_parse_bound("2026-11-26T06:00:00+01:00", &ns), 0);
    assert_int_equal(ns, parse("2026-11-26T05:00:00Z"));
    assert_int_equal(timestamp_parse_bound("2026-13-01", &ns), -EINVAL);
    assert_int_equal(timestamp_parse_bound("yesterday", &ns), -EINVAL);
}

static void timestamp_formats_for_postgresql(void **state)
{
    char out[TIMESTAMP_PG_MAX];

    timestamp_format_pg(0, out);
    assert_string_equal(out, "1970-01-01 00:00:00.000000+00");
    timestamp_format_pg(parse("2026-11-26T06:00:00.123456789+01:00"), out);
    assert_string_equal(out, "2026-11-26 05:00:00.123456+00");
    /* before the epoch, microseconds round down */
    timestamp_format_pg(-1, out);
    assert_string_equal(out, "1969-12-31 23:59:59.999999+00");
    timestamp_format_pg(INT64_MIN, out);
    assert_string_equal(out, "1677-09-21 00:12:43.145224+00");
    timestamp_format_pg(INT64_MAX, out);
    assert_string_equal(out, "2262-04-11 23:47:16.854775+00");
    timestamp_format_pg(parse("2000-02-29T23:59:59Z"), out);
    assert_string_equal(out, "2000-02-29 23:59:59.000000+00");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timestamp_parses_utc_and_fractions),
        cmocka_unit_test(timestamp_applies_offsets),
        cmocka_unit_test(timestamp_leap_second_is_next_minute),
        cmocka_unit_test(timestamp_saturates_outside_64_bits),
        cmocka_unit_test(timestamp_rejects_what_is_not_rfc3339),
        cmocka_unit_test(timestamp_bounds_take_dates),
        cmocka_unit_test(timestamp_formats_for_postgresql),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
