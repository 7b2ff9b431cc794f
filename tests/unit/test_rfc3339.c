// SPDX-License-Identifier: MIT
/* Unit tests for the RFC 3339 date-time checks (hub/core/rfc3339.c). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rfc3339.h"

static void check(const char *s, bool expected)
{
    bool got = rfc3339_date_time_valid(s, strlen(s));

    if (got != expected)
        fail_msg("\"%s\": expected %s, got %s", s, expected ? "valid" : "invalid",
                 got ? "valid" : "invalid");
}

static void rfc3339_valid_forms(void **state)
{
    check("2026-11-26T06:00:00Z", true);
    check("2026-11-26t06:00:00z", true);
    check("2026-11-26T06:00:00.1Z", true);
    check("2026-11-26T06:00:00.123456789Z", true);
    check("2026-11-26T06:00:00+01:00", true);
    check("2026-11-26T06:00:00.5-08:30", true);
    check("2024-02-29T00:00:00Z", true);
    check("2000-02-29T00:00:00Z", true);
    check("1998-12-31T23:59:60Z", true);
    check("1998-12-31T15:59:60.123-08:00", true);
    check("1999-01-01T00:59:60+01:00", true);
}

static void rfc3339_invalid_forms(void **state)
{
    check("", false);
    check("2026-11-26", false);
    check("2026-11-26T06:00:00", false);
    check("2026-11-26 06:00:00Z", false);
    check("2026-11-26T06:00Z", false);
    check("2026-11-26T06:00:00.Z", false);
    check("2026-11-26T06:00:00+0100", false);
    check("2026-11-26T06:00:00+01:00Z", false);
    check("2026-11-26T06:00:00ZZ", false);
    check("26-11-26T06:00:00Z", false);
    check("2026-1-26T06:00:00Z", false);
    check("2026-13-01T00:00:00Z", false);
    check("2026-00-01T00:00:00Z", false);
    check("2026-11-00T00:00:00Z", false);
    check("2026-11-31T00:00:00Z", false);
    check("2023-02-29T00:00:00Z", false);
    check("1900-02-29T00:00:00Z", false);
    check("2026-11-26T24:00:00Z", false);
    check("2026-11-26T23:60:00Z", false);
    check("2026-11-26T23:59:61Z", false);
    check("2026-11-26T06:00:60Z", false);
    check("1998-12-31T23:59:60+01:00", false);
    check("2026-11-26T06:00:00+24:00", false);
    check("2026-11-26T06:00:00+01:60", false);
    check("２026-11-26T06:00:00Z", false);
}

static void rfc3339_date_and_time(void **state)
{
    assert_true(rfc3339_date_valid("2026-11-26", 10));
    assert_false(rfc3339_date_valid("2026-11-26T", 11));
    assert_false(rfc3339_date_valid("2026-02-29", 10));
    assert_true(rfc3339_time_valid("06:00:00Z", 9));
    assert_true(rfc3339_time_valid("06:00:00.25+02:00", 17));
    assert_false(rfc3339_time_valid("06:00:00", 8));
}

static void rfc3339_nanoseconds(void **state)
{
    const char *max = "2262-04-11T23:47:16.854775807Z", *min = "1677-09-21T00:12:43.145224192Z";
    struct rfc3339_civil c;
    char text[RFC3339_UTC_MAX];
    int64_t ns;

    (void)state;
    assert_int_equal(rfc3339_to_ns("1970-01-01T00:00:00Z", 20, &ns), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(rfc3339_to_ns("1970-01-01T01:00:00.000000001+01:00", 35, &ns), 0);
    assert_int_equal(ns, 1);
    assert_int_equal(rfc3339_to_ns("1969-12-31T23:59:59.999999999Z", 30, &ns), 0);
    assert_int_equal(ns, -1);
    assert_int_equal(rfc3339_to_ns("2016-12-31T23:59:60Z", 20, &ns), 0);
    assert_int_equal(ns, 1483228800LL * 1000000000LL);
    assert_int_equal(rfc3339_to_ns("2026-11-26T06:00:00", 19, &ns), -EINVAL);
    /* Both ends of int64 ns, and one ns beyond each: saturated and said so. */
    assert_int_equal(rfc3339_to_ns(max, strlen(max), &ns), 0);
    assert_int_equal(ns, INT64_MAX);
    assert_int_equal(rfc3339_to_ns(min, strlen(min), &ns), 0);
    assert_int_equal(ns, INT64_MIN);
    assert_int_equal(rfc3339_to_ns("2262-04-11T23:47:16.854775808Z", 30, &ns), -ERANGE);
    assert_int_equal(ns, INT64_MAX);
    assert_int_equal(rfc3339_to_ns("1677-09-21T00:12:43.145224191Z", 30, &ns), -ERANGE);
    assert_int_equal(ns, INT64_MIN);
    assert_int_equal(rfc3339_to_ns("9999-12-31T23:59:59Z", 20, &ns), -ERANGE);
    assert_int_equal(ns, INT64_MAX);

    /* And back: rounded down, before 1970 too. */
    rfc3339_civil_from_ns(-1, &c);
    assert_true(c.year == 1969 && c.month == 12 && c.day == 31 && c.hour == 23 &&
                c.minute == 59 && c.second == 59 && c.frac_ns == 999999999);
    rfc3339_civil_from_ns(INT64_MIN, &c);
    assert_true(c.year == 1677 && c.month == 9 && c.day == 21 && c.hour == 0 &&
                c.minute == 12 && c.second == 43 && c.frac_ns == 145224192);
    rfc3339_civil_from_ns(INT64_MAX, &c);
    assert_true(c.year == 2262 && c.month == 4 && c.day == 11 && c.hour == 23 &&
                c.minute == 47 && c.second == 16 && c.frac_ns == 854775807);
    /* As text: whole seconds without a fraction, trailing zeros dropped, four-digit years. */
    rfc3339_format_utc(0, 0, text);
    assert_string_equal(text, "1970-01-01T00:00:00Z");
    rfc3339_format_utc(-1, 500000000, text);
    assert_string_equal(text, "1969-12-31T23:59:59.5Z");
    rfc3339_format_utc(-30610224000LL, 1, text); /* the hub accepts years before 1000 */
    assert_string_equal(text, "1000-01-01T00:00:00.000000001Z");
    rfc3339_format_utc(-30610224001LL, 0, text);
    assert_string_equal(text, "0999-12-31T23:59:59Z");
    rfc3339_format_ns(INT64_MIN, text);
    assert_string_equal(text, "1677-09-21T00:12:43.145224192Z");
    rfc3339_format_ns(-1, text);
    assert_string_equal(text, "1969-12-31T23:59:59.999999999Z");
    rfc3339_civil_from_ns(1795672800LL * 1000000000LL, &c); /* 2026-11-26T06:00:00Z */
    assert_true(c.year == 2026 && c.month == 11 && c.day == 26 && c.hour == 6 &&
                c.minute == 0 && c.second == 0 && c.frac_ns == 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3339_valid_forms),
        cmocka_unit_test(rfc3339_invalid_forms),
        cmocka_unit_test(rfc3339_date_and_time),
        cmocka_unit_test(rfc3339_nanoseconds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
