// SPDX-License-Identifier: MIT
/*
 * Unit tests of the analytics worker's window arithmetic and event time: window
 * lengths and their canonical names, RFC 3339 to ns (precision, offsets, range, what
 * is refused), formatting back, window starts and ends (floor, also before 1970; a
 * window holds its start and not its end), and with analytics.timezone Europe/Berlin,
 * whole-day windows on local days: around both DST changes, across a year end, N = 1
 * and 7, just before and at local midnight, and before 1970.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "localday.h"
#include "window.h"

#define NS WINDOW_NS_PER_S
/* 2026-11-26T00:00:00Z */
#define DAY_2026_11_26 1795651200LL

static int64_t parse(const char *s)
{
    int64_t ns = 0;
    int r = window_time_parse(s, strlen(s), &ns);

    if (r != 0)
        fail_msg("window_time_parse(\"%s\") = %d, expected 0", s, r);
    return ns;
}

static void analytics_window_length_parse(void **state)
{
    static const struct {
        const char *text;
        int64_t seconds;
    } good[] = {{"1s", 1}, {"90s", 90}, {"1m", 60}, {"15m", 900}, {"1h", 3600},
                {"1d", 86400}, {"31d", 31 * 86400}, {"744h", 744 * 3600}, {"99999s", 99999}};
    static const char *const bad[] = {"", "m", "0m", "01m", "1", "1w", "1M", "-1m", "1.5h",
                                      "1 m", "100000s", "15mm", NULL};
    int64_t s;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        s = -1;
        assert_int_equal(window_length_parse(good[i].text, &s), 0);
        assert_int_equal(s, good[i].seconds);
    }
    for (size_t i = 0; bad[i]; i++)
        if (window_length_parse(bad[i], &s) != -EINVAL)
            fail_msg("\"%s\" was not refused as -EINVAL", bad[i]);
    assert_int_equal(window_length_parse(NULL, &s), -EINVAL);
    assert_int_equal(window_length_parse("32d", &s), -ERANGE);
    assert_int_equal(window_length_parse("99999h", &s), -ERANGE);
}

static void analytics_window_length_canonical(void **state)
{
    static const struct {
        int64_t seconds;
        const char *text;
    } cases[] = {{1, "1s"}, {59, "59s"}, {60, "1m"}, {90, "90s"}, {3600, "1h"},
                 {5400, "90m"}, {86400, "1d"}, {90000, "25h"}, {7 * 86400, "7d"}};
    char out[WINDOW_TEXT_MAX];
    int64_t s;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        window_length_format(cases[i].seconds, out);
        assert_string_equal(out, cases[i].text);
    }
    /* 60m and 1h are one window, one topic */
    assert_int_equal(window_length_parse("60m", &s), 0);
    window_length_format(s, out);
    assert_string_equal(out, "1h");
}

static void analytics_window_time_precision(void **state)
{
    int64_t base = DAY_2026_11_26 * NS + 6 * 3600 * NS; /* 06:00:00Z */

    assert_int_equal(parse("2026-11-26T06:00:00Z"), base);
    assert_int_equal(parse("2026-11-26T06:00:00.5Z"), base + 500000000);
    assert_int_equal(parse("2026-11-26T06:00:00.123Z"), base + 123000000);
    assert_int_equal(parse("2026-11-26T06:00:00.000001Z"), base + 1000);
    assert_int_equal(parse("2026-11-26T06:00:00.123456789Z"), base + 123456789);
    /* digits beyond the ninth are dropped, not rounded */
    assert_int_equal(parse("2026-11-26T06:00:00.1234567899Z"), base + 123456789);
    assert_int_equal(parse("2026-11-26T06:00:00.999999999999Z"), base + 999999999);
    /* lower-case t and z are RFC 3339 too */
    assert_int_equal(parse("2026-11-26t06:00:00.25z"), base + 250000000);
}

static void analytics_window_time_offsets(void **state)
{
    int64_t base = DAY_2026_11_26 * NS + 6 * 3600 * NS;

    assert_int_equal(parse("2026-11-26T07:00:00+01:00"), base);
    assert_int_equal(parse("2026-11-26T06:00:00+00:00"), base);
    assert_int_equal(parse("2026-11-26T06:00:00-00:00"), base);
    assert_int_equal(parse("2026-11-26T00:30:00.5-05:30"), base + 500000000);
    /* across a day, month and year boundary */
    assert_int_equal(parse("2027-01-01T00:30:00+01:00"),
                     parse("2026-12-31T23:30:00Z"));
    assert_int_equal(parse("2026-11-25T23:59:59.999-06:00"),
                     parse("2026-11-26T05:59:59.999Z"));
    /* 2024 is a leap year */
    assert_int_equal(parse("2024-03-01T00:00:00Z") - parse("2024-02-28T00:00:00Z"),
                     2 * 86400 * NS);
    /* a leap second counts as the first second of the next minute */
    assert_int_equal(parse("2016-12-31T23:59:60Z"), parse("2017-01-01T00:00:00Z"));
}

static void analytics_window_time_refused(void **state)
{
    static const char *const bad[] = {
        "", "2026-11-26", "2026-11-26T06:00:00", "2026-11-26 06:00:00Z",
        "2026-11-26T06:00Z", "2026-11-26T24:00:00Z", "2026-02-29T06:00:00Z",
        "2026-11-26T06:00:00.Z", "2026-11-26T06:00:00+0100", "2026-11-26T06:00:00+01",
        "26-11-26T06:00:00Z", "2026-11-26T06:00:00ZZ", "2026-13-01T00:00:00Z",
        "1795651200", NULL};
    int64_t ns;

    for (size_t i = 0; bad[i]; i++)
        if (window_time_parse(bad[i], strlen(bad[i]), &ns) != -EINVAL)
            fail_msg("\"%s\" was not refused as -EINVAL", bad[i]);
    /* the length counts: a valid prefix is not enough */
    assert_int_equal(window_time_parse("2026-11-26T06:00:00Zjunk", 20, &ns), 0);
    assert_int_equal(window_time_parse("2026-11-26T06:00:00Zjunk", 24, &ns), -EINVAL);
    /* outside 64 bits of ns */
    assert_int_equal(window_time_parse("2263-01-01T00:00:00Z", 20, &ns), -ERANGE);
    assert_int_equal(window_time_parse("1600-01-01T00:00:00Z", 20, &ns), -ERANGE);
    assert_int_equal(window_time_parse("2262-04-11T23:47:16.854775807Z", 30, &ns), 0);
    assert_int_equal(ns, INT64_MAX);
    assert_int_equal(window_time_parse("2262-04-11T23:47:16.854775808Z", 30, &ns), -ERANGE);
    assert_int_equal(parse("1969-12-31T23:59:59.5Z"), -500000000);
}

static void analytics_window_time_format(void **state)
{
    static const char *const round_trip[] = {
        "2026-11-26T06:00:00Z", "2026-11-26T06:00:00.5Z", "2026-11-26T06:00:00.123456789Z",
        "2026-11-26T06:00:00.00000001Z", "1970-01-01T00:00:00Z", "1969-12-31T23:59:59.5Z",
        "2000-02-29T12:34:56.789Z", "1900-01-01T00:00:00Z", NULL};
    char out[WINDOW_TIME_MAX];

    for (size_t i = 0; round_trip[i]; i++) {
        window_time_format(parse(round_trip[i]), out);
        assert_string_equal(out, round_trip[i]);
    }
    window_time_format(parse("2026-11-26T07:00:00.250+01:00"), out);
    assert_string_equal(out, "2026-11-26T06:00:00.25Z");
    window_time_format(INT64_MAX, out);
    assert_string_equal(out, "2262-04-11T23:47:16.854775807Z");
    window_time_format(INT64_MIN, out);
    assert_string_equal(out, "1677-09-21T00:12:43.145224192Z");
}

static void analytics_window_start(void **state)
{
    int64_t day = DAY_2026_11_26 * NS, t = parse("2026-11-26T06:07:59.999999999Z");

    assert_int_equal(window_start(t, 60), parse("2026-11-26T06:07:00Z"));
    assert_int_equal(window_start(t, 900), parse("2026-11-26T06:00:00Z"));
    assert_int_equal(window_start(t, 3600), parse("2026-11-26T06:00:00Z"));
    assert_int_equal(window_start(t, 86400), day);
    assert_int_equal(window_start(t, 7 * 86400), parse("2026-11-26T00:00:00Z"));
    /* [start, end): the end belongs to the next window */
    assert_int_equal(window_start(parse("2026-11-26T06:15:00Z"), 900),
                     parse("2026-11-26T06:15:00Z"));
    assert_int_equal(window_start(parse("2026-11-26T06:14:59.999999999Z"), 900),
                     parse("2026-11-26T06:00:00Z"));
    /* a UTC day: 23:30 at +01:00 is still the 25th in UTC */
    assert_int_equal(window_start(parse("2026-11-26T00:30:00+01:00"), 86400),
                     parse("2026-11-25T00:00:00Z"));
    /* at the ends of int64 ns: a window that would begin before the earliest time held
     * begins there */
    assert_int_equal(window_start(INT64_MIN + 1, 86400), INT64_MIN);
    assert_int_equal(window_start(INT64_MIN, 60), INT64_MIN);
    assert_int_equal(window_start(INT64_MAX, 60), INT64_MAX - INT64_MAX % (60 * NS));
    /* before 1970 the start is the floor, not the truncation toward zero */
    assert_int_equal(window_start(-1, 60), -60 * NS);
    assert_int_equal(window_start(-60 * NS, 60), -60 * NS);
    assert_int_equal(window_start(-60 * NS - 1, 60), -120 * NS);
    assert_int_equal(window_start(0, 86400), 0);
    assert_int_equal(window_start(parse("1969-12-31T23:59:59Z"), 86400),
                     parse("1969-12-31T00:00:00Z"));
    /* an odd length is aligned to the epoch too */
    assert_int_equal(window_start(7 * NS, 7), 7 * NS);
    assert_int_equal(window_start(13 * NS, 7), 7 * NS);
}

/* The window of length_s that holds t: its start and end, and the windows around it. */
static void check_window(const char *t, int64_t length_s, const char *start, const char *end)
{
    int64_t s = window_start(parse(t), length_s), e = window_end(s, length_s);

    if (s != parse(start) || e != parse(end)) {
        char got_s[WINDOW_TIME_MAX], got_e[WINDOW_TIME_MAX];
        window_time_format(s, got_s);
        window_time_format(e, got_e);
        fail_msg("%s, %llds: [%s, %s), expected [%s, %s)", t, (long long)length_s, got_s, got_e,
                 start, end);
    }
    assert_int_equal(window_start(s, length_s), s);
    assert_int_equal(window_start(e - 1, length_s), s);
    assert_int_equal(window_start(e, length_s), e);
    assert_true(window_start(s - 1, length_s) < s);
}

static void analytics_window_end_utc(void **state)
{
    assert_int_equal(localday_zone_set("UTC"), 0);
    assert_false(localday_on());
    check_window("2026-11-26T06:07:59Z", 900, "2026-11-26T06:00:00Z", "2026-11-26T06:15:00Z");
    check_window("2026-03-29T12:00:00Z", 86400, "2026-03-29T00:00:00Z", "2026-03-30T00:00:00Z");
    check_window("2026-11-26T00:30:00+01:00", 86400, "2026-11-25T00:00:00Z",
                 "2026-11-26T00:00:00Z");
    check_window("1969-12-31T23:59:59Z", 7 * 86400, "1969-12-25T00:00:00Z",
                 "1970-01-01T00:00:00Z");
    assert_int_equal(window_end(INT64_MAX - INT64_MAX % (60 * NS), 60), INT64_MAX);
}

static int berlin(void **state)
{
    return localday_zone_set("Europe/Berlin");
}

static int utc(void **state)
{
    return localday_zone_set("UTC");
}

static void analytics_window_local_day(void **state)
{
    assert_true(localday_on());
    /* a winter day: 00:00 +01:00 to 00:00 +01:00 */
    check_window("2026-11-26T06:07:59Z", 86400, "2026-11-25T23:00:00Z", "2026-11-26T23:00:00Z");
    /* just before and at local midnight */
    check_window("2026-11-26T22:59:59.999999999Z", 86400, "2026-11-25T23:00:00Z",
                 "2026-11-26T23:00:00Z");
    check_window("2026-11-26T23:00:00Z", 86400, "2026-11-26T23:00:00Z", "2026-11-27T23:00:00Z");
    check_window("2026-11-27T00:00:00+01:00", 86400, "2026-11-26T23:00:00Z",
                 "2026-11-27T23:00:00Z");
    /* 2026-03-29: 02:00 +01:00 becomes 03:00 +02:00, a day of 23 hours */
    check_window("2026-03-28T22:59:59Z", 86400, "2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z");
    check_window("2026-03-28T23:00:00Z", 86400, "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z");
    check_window("2026-03-29T01:59:59+01:00", 86400, "2026-03-28T23:00:00Z",
                 "2026-03-29T22:00:00Z");
    check_window("2026-03-29T03:00:00+02:00", 86400, "2026-03-28T23:00:00Z",
                 "2026-03-29T22:00:00Z");
    check_window("2026-03-29T21:59:59.999999999Z", 86400, "2026-03-28T23:00:00Z",
                 "2026-03-29T22:00:00Z");
    check_window("2026-03-29T22:00:00Z", 86400, "2026-03-29T22:00:00Z", "2026-03-30T22:00:00Z");
    /* 2026-10-25: 03:00 +02:00 becomes 02:00 +01:00, a day of 25 hours */
    check_window("2026-10-24T21:59:59Z", 86400, "2026-10-23T22:00:00Z", "2026-10-24T22:00:00Z");
    check_window("2026-10-24T22:00:00Z", 86400, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z");
    check_window("2026-10-25T02:30:00+02:00", 86400, "2026-10-24T22:00:00Z",
                 "2026-10-25T23:00:00Z");
    check_window("2026-10-25T02:30:00+01:00", 86400, "2026-10-24T22:00:00Z",
                 "2026-10-25T23:00:00Z");
    check_window("2026-10-25T22:59:59Z", 86400, "2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z");
    check_window("2026-10-25T23:00:00Z", 86400, "2026-10-25T23:00:00Z", "2026-10-26T23:00:00Z");
    /* across a year end: 2027 begins at 23:00Z */
    check_window("2026-12-31T22:59:59Z", 86400, "2026-12-30T23:00:00Z", "2026-12-31T23:00:00Z");
    check_window("2026-12-31T23:00:00Z", 86400, "2026-12-31T23:00:00Z", "2027-01-01T23:00:00Z");
    /* before 1970: 1970-01-01 local began at 1969-12-31T23:00Z */
    check_window("1969-12-31T22:59:59Z", 86400, "1969-12-30T23:00:00Z", "1969-12-31T23:00:00Z");
    check_window("1969-12-31T23:30:00Z", 86400, "1969-12-31T23:00:00Z", "1970-01-01T23:00:00Z");
    /* windows shorter than a day, and lengths that are not whole days, stay UTC-aligned */
    check_window("2026-03-29T01:30:00Z", 3600, "2026-03-29T01:00:00Z", "2026-03-29T02:00:00Z");
    check_window("2026-03-29T01:30:00Z", 36 * 3600, "2026-03-29T00:00:00Z",
                 "2026-03-30T12:00:00Z");
}

static void analytics_window_local_week(void **state)
{
    /* 7 local days counted from 1970-01-01 local (a Thursday): Thursday to Thursday */
    check_window("2026-11-26T06:00:00Z", 7 * 86400, "2026-11-25T23:00:00Z",
                 "2026-12-02T23:00:00Z");
    check_window("2026-11-25T22:59:59Z", 7 * 86400, "2026-11-18T23:00:00Z",
                 "2026-11-25T23:00:00Z");
    /* holding 2026-03-29: 167 hours; holding 2026-10-25: 169 hours */
    check_window("2026-03-29T12:00:00Z", 7 * 86400, "2026-03-25T23:00:00Z",
                 "2026-04-01T22:00:00Z");
    check_window("2026-10-25T12:00:00Z", 7 * 86400, "2026-10-21T22:00:00Z",
                 "2026-10-28T23:00:00Z");
    /* across a year end */
    check_window("2027-01-02T12:00:00Z", 7 * 86400, "2026-12-30T23:00:00Z",
                 "2027-01-06T23:00:00Z");
    /* before 1970: the week before 1970-01-01 local */
    check_window("1969-12-31T22:59:59Z", 7 * 86400, "1969-12-24T23:00:00Z",
                 "1969-12-31T23:00:00Z");
    check_window("1969-12-31T23:00:00Z", 7 * 86400, "1969-12-31T23:00:00Z",
                 "1970-01-07T23:00:00Z");
}

/* America/Santiago skips its midnight on 2026-09-06 (00:00 -04:00 becomes 01:00
 * -03:00): that day starts at its first local instant, 01:00, and lasts 23 hours. */
static void analytics_window_local_day_without_midnight(void **state)
{
    assert_int_equal(localday_zone_set("America/Santiago"), 0);
    check_window("2026-09-05T12:00:00Z", 86400, "2026-09-05T04:00:00Z", "2026-09-06T04:00:00Z");
    check_window("2026-09-06T03:59:59Z", 86400, "2026-09-05T04:00:00Z", "2026-09-06T04:00:00Z");
    check_window("2026-09-06T04:00:00Z", 86400, "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z");
    check_window("2026-09-06T12:00:00Z", 86400, "2026-09-06T04:00:00Z", "2026-09-07T03:00:00Z");
    check_window("2026-09-07T03:00:00Z", 86400, "2026-09-07T03:00:00Z", "2026-09-08T03:00:00Z");
}

/* America/Havana has its midnight twice on 2026-11-01 (01:00 -04:00 becomes 00:00
 * -05:00): that day starts at the first, 04:00Z, and lasts 25 hours. */
static void analytics_window_local_day_with_two_midnights(void **state)
{
    assert_int_equal(localday_zone_set("America/Havana"), 0);
    check_window("2026-11-01T03:59:59Z", 86400, "2026-10-31T04:00:00Z", "2026-11-01T04:00:00Z");
    check_window("2026-11-01T04:00:00Z", 86400, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z");
    check_window("2026-11-01T05:30:00Z", 86400, "2026-11-01T04:00:00Z", "2026-11-02T05:00:00Z");
}

/* The windows the worker remembers per length: lengths interleaved and times back and
 * forth give what a first call (the zone set again, nothing remembered) gives. */
static void analytics_window_local_remembered(void **state)
{
    static const char *times[] = {"2026-11-26T06:00:00Z", "2026-03-29T12:00:00Z",
                                  "2026-11-26T23:30:00Z", "2026-11-25T22:59:59Z",
                                  "2026-10-25T02:30:00+01:00", "2026-11-26T07:00:00Z"};
    static const int64_t lengths[] = {86400, 7 * 86400, 31 * 86400, 2 * 86400, 3 * 86400};
    enum { N_TIMES = sizeof(times) / sizeof(times[0]), N_LENGTHS = 5 };
    int64_t start[N_TIMES][N_LENGTHS], end[N_TIMES][N_LENGTHS];

    for (int i = 0; i < N_TIMES; i++) {
        for (int j = 0; j < N_LENGTHS; j++) {
            assert_int_equal(localday_zone_set("Europe/Berlin"), 0);
            start[i][j] = window_start(parse(times[i]), lengths[j]);
            assert_int_equal(localday_zone_set("Europe/Berlin"), 0);
            end[i][j] = window_end(start[i][j], lengths[j]);
        }
    }
    assert_int_equal(localday_zone_set("Europe/Berlin"), 0);
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N_TIMES; i++) {
            for (int j = 0; j < N_LENGTHS; j++) {
                assert_int_equal(window_start(parse(times[i]), lengths[j]), start[i][j]);
                assert_int_equal(window_end(start[i][j], lengths[j]), end[i][j]);
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analytics_window_length_parse),
        cmocka_unit_test(analytics_window_length_canonical),
        cmocka_unit_test(analytics_window_time_precision),
        cmocka_unit_test(analytics_window_time_offsets),
        cmocka_unit_test(analytics_window_time_refused),
        cmocka_unit_test(analytics_window_time_format),
        cmocka_unit_test(analytics_window_start),
        cmocka_unit_test(analytics_window_end_utc),
        cmocka_unit_test_setup_teardown(analytics_window_local_day, berlin, utc),
        cmocka_unit_test_setup_teardown(analytics_window_local_week, berlin, utc),
        cmocka_unit_test_setup_teardown(analytics_window_local_remembered, berlin, utc),
        cmocka_unit_test_setup_teardown(analytics_window_local_day_without_midnight, berlin, utc),
        cmocka_unit_test_setup_teardown(analytics_window_local_day_with_two_midnights, berlin, utc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
