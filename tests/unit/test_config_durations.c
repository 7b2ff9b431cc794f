// SPDX-License-Identifier: MIT
/*
 * Unit tests of hub.yaml's duration keys (alerting.forget_after, analytics.forget_after):
 * the default, the units the rules file accepts, 0 for never, and the "FILE:LINE:
 * message" refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>

#include "config_fixture.h"
#include "duration.h"

#define S 1000000000LL

static void config_durations_forget_after(void **state)
{
    struct hub_config cfg;

    (void)state;
    config_defaults(&cfg);
    assert_int_equal(cfg.alerting.forget_after_ns, 30 * 86400 * S);
    load_good("alerting:\n  forget_after: 2s\n", &cfg);
    assert_int_equal(cfg.alerting.forget_after_ns, 2 * S);
    load_good("alerting:\n  forget_after: 1d12h\n", &cfg);
    assert_int_equal(cfg.alerting.forget_after_ns, 36 * 3600 * S);
    load_good("alerting:\n  forget_after: 365d\n", &cfg);
    assert_int_equal(cfg.alerting.forget_after_ns, 365 * 86400 * S);
    load_good("alerting:\n  forget_after: 0\n", &cfg);
    assert_int_equal(cfg.alerting.forget_after_ns, 0);
    load_good("log:\n  level: info\n", &cfg);
    assert_int_equal(cfg.alerting.forget_after_ns, 30 * 86400 * S);
}

static void config_durations_analytics_forget_after(void **state)
{
    struct hub_config cfg;

    (void)state;
    config_defaults(&cfg);
    assert_int_equal(cfg.analytics.forget_after_ns, 30 * 86400 * S);
    load_good("analytics:\n  forget_after: 90s\n", &cfg);
    assert_int_equal(cfg.analytics.forget_after_ns, 90 * S);
    assert_int_equal(cfg.alerting.forget_after_ns, 30 * 86400 * S); /* each its own */
    load_good("analytics:\n  forget_after: 0\n", &cfg);
    assert_int_equal(cfg.analytics.forget_after_ns, 0);
    load_bad("analytics:\n  lateness_s: 60\n  forget_after: 7\n", 1,
             "3: analytics.forget_after must be a duration such as 90s, 12h or 30d (at most "
             "365d), or 0, not \"7\"\n");
}

static void config_durations_refused(void **state)
{
    (void)state;
    load_bad("alerting:\n  forget_after: 30\n", 1,
             "2: alerting.forget_after must be a duration such as 90s, 12h or 30d (at most "
             "365d), or 0, not \"30\"\n");
    load_bad("alerting:\n  forget_after: 366d\n", 1,
             "2: alerting.forget_after must be a duration such as 90s, 12h or 30d (at most "
             "365d), or 0, not \"366d\"\n");
    load_bad("alerting:\n  check_interval_ms: 500\n  forget_after: a month\n", 1,
             "3: alerting.forget_after must be a duration such as 90s, 12h or 30d (at most "
             "365d), or 0, not \"a month\"\n");
    load_bad("alerting:\n  forget_after: -1s\n", 1,
             "2: alerting.forget_after must be a duration such as 90s, 12h or 30d (at most "
             "365d), or 0, not \"-1s\"\n");
    load_bad("alerting:\n  forget_after: [30d]\n", 1,
             "2: alerting.forget_after must be a duration\n");
}

static void config_durations_parse_format(void **state)
{
    char text[32];
    int64_t ns;

    (void)state;
    assert_int_equal(duration_parse("1h30m", &ns), 0);
    assert_int_equal(ns, 5400 * S);
    assert_int_equal(duration_parse("0s", &ns), -EINVAL);
    assert_int_equal(duration_parse("0", &ns), -EINVAL);
    duration_format(30 * 86400 * S, text, sizeof(text));
    assert_string_equal(text, "30d");
    duration_format(2 * S, text, sizeof(text));
    assert_string_equal(text, "2s");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(config_durations_forget_after),
        cmocka_unit_test(config_durations_analytics_forget_after),
        cmocka_unit_test(config_durations_refused),
        cmocka_unit_test(config_durations_parse_format),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
