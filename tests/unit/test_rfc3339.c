// SPDX-License-Identifier: MIT
/* Unit tests for the RFC 3339 date-time checks (hub/core/rfc3339.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc3339_valid_forms),
        cmocka_unit_test(rfc3339_invalid_forms),
        cmocka_unit_test(rfc3339_date_and_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
