// SPDX-License-Identifier: MIT
/*
 * Unit tests of the PEGELONLINE gauges' state file (gauge_state.h): what is saved is
 * read back, and a line whose time no measurement can have (fraction outside
 * 0..999999999, before year 0, more than MEASUREMENT_FUTURE_MAX_S ahead of our clock,
 * or not a number) leaves its gauge without a newest measurement, so that a damaged or
 * hand-edited file hides no measurement.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gauge_state.h"
#include "measurement.h"

#define NOW_S 1796083200 /* 2026-12-01T00:00:00Z, our clock in these tests */

static const char *const names[] = {"ANDERNACH", "BONN", "KOBLENZ", "KAUB", "MAXAU", "WORMS",
                                    "SPEYER", "MAINZ"};
#define N_GAUGES ((int)(sizeof(names) / sizeof(names[0])))

static struct station stations[N_GAUGES];
static struct gauge gauges[N_GAUGES];
static char path[64];

static int setup(void **state)
{
    int fd;

    memset(gauges, 0, sizeof(gauges));
    for (int i = 0; i < N_GAUGES; i++) {
        snprintf(stations[i].station, sizeof(stations[i].station), "%s", names[i]);
        gauges[i].st = &stations[i];
    }
    strcpy(path, "/tmp/test_gauge_state.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    return 0;
}

static int teardown(void **state)
{
    unlink(path);
    return 0;
}

static void write_text(const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void gauge_state_saved_is_read_back(void **state)
{
    gauges[0].newest_s = 1795672800; /* 2026-11-26T06:00:00Z */
    gauges[0].newest_ns = 500000000;
    gauges[2].newest_s = 1795674600;
    assert_int_equal(gauge_state_save(path, gauges, N_GAUGES), 0);
    memset(gauges, 0, sizeof(gauges));
    for (int i = 0; i < N_GAUGES; i++)
        gauges[i].st = &stations[i];
    assert_int_equal(gauge_state_load(path, gauges, N_GAUGES, NOW_S), 0);
    assert_int_equal(gauges[0].newest_s, 1795672800);
    assert_int_equal(gauges[0].newest_ns, 500000000);
    assert_int_equal(gauges[1].newest_s, 0);
    assert_int_equal(gauges[2].newest_s, 1795674600);
}

static void gauge_state_times_no_measurement_has_are_left_out(void **state)
{
    char text[1024];

    snprintf(text, sizeof(text),
             "ANDERNACH\t1795672800\t0\n"              /* good */
             "BONN\t4099999999\t0\n"                   /* 2099: ahead of the clock */
             "KOBLENZ\t1795672800\t1000000000\n"       /* fraction of a second too large */
             "KAUB\t1795672800\t-5\n"                  /* negative fraction */
             "MAXAU\t-99999999999\t0\n"                /* before year 0 */
             "WORMS\t99999999999999999999999\t0\n"     /* beyond a 64-bit number */
             "SPEYER\t1795672800x\t0\n"                /* not a number */
             "MAINZ\t%lld\t0\n",                       /* just inside the bound */
             (long long)NOW_S + MEASUREMENT_FUTURE_MAX_S);
    write_text(text);
    assert_int_equal(gauge_state_load(path, gauges, N_GAUGES, NOW_S), 0);
    assert_int_equal(gauges[0].newest_s, 1795672800);
    for (int i = 1; i < N_GAUGES - 1; i++) {
        if (gauges[i].newest_s != 0 || gauges[i].newest_ns != 0)
            fail_msg("%s: %lld.%09lld taken from a damaged line", names[i],
                     (long long)gauges[i].newest_s, (long long)gauges[i].newest_ns);
    }
    assert_int_equal(gauges[N_GAUGES - 1].newest_s, NOW_S + MEASUREMENT_FUTURE_MAX_S);
}

static void gauge_state_missing_file_is_no_error(void **state)
{
    unlink(path);
    assert_int_equal(gauge_state_load(path, gauges, N_GAUGES, NOW_S), 0);
    assert_int_equal(gauges[0].newest_s, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(gauge_state_saved_is_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(gauge_state_times_no_measurement_has_are_left_out,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(gauge_state_missing_file_is_no_error, setup, teardown),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
