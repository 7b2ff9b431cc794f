// SPDX-License-Identifier: MIT
/*
 * Unit tests of the console's counters and its /metrics page: a response counted by
 * its status class (and one outside 100..599 not at all), logins and acknowledgements
 * by result, every series written from the start, and the gauges as given.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "counters.h"

static char *render(struct counters *c, const struct counters_gauges *g)
{
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    assert_non_null(out);
    counters_render(c, g, out);
    assert_int_equal(fclose(out), 0);
    return text;
}

/* Whether line (without its line feed) is a whole line of text. */
static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);

    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

static void counters_count_by_class_and_result(void **state)
{
    struct counters c;
    struct counters_gauges g = {.broker_up = true, .alerts = 3, .streams = 2, .sessions = 1,
                                .board_dropped = 7};
    char *text;

    (void)state;
    counters_init(&c);
    counters_response(&c, 200);
    counters_response(&c, 202);
    counters_response(&c, 304);
    counters_response(&c, 429);
    counters_response(&c, 503);
    counters_response(&c, 99);
    counters_response(&c, 600);
    counters_login(&c, COUNTERS_LOGIN_failed);
    counters_login(&c, COUNTERS_LOGIN_failed);
    counters_login(&c, COUNTERS_LOGIN_succeeded);
    counters_ack(&c, COUNTERS_ACK_sent);
    text = render(&c, &g);
    assert_true(has_line(text, "# TYPE rheinhub_console_requests_total counter"));
    assert_true(has_line(text, "rheinhub_console_requests_total{code=\"1xx\"} 0"));
    assert_true(has_line(text, "rheinhub_console_requests_total{code=\"2xx\"} 2"));
    assert_true(has_line(text, "rheinhub_console_requests_total{code=\"3xx\"} 1"));
    assert_true(has_line(text, "rheinhub_console_requests_total{code=\"4xx\"} 1"));
    assert_true(has_line(text, "rheinhub_console_requests_total{code=\"5xx\"} 1"));
    assert_true(has_line(text, "rheinhub_console_logins_total{result=\"failed\"} 2"));
    assert_true(has_line(text, "rheinhub_console_logins_total{result=\"succeeded\"} 1"));
    assert_true(has_line(text, "rheinhub_console_logins_total{result=\"throttled\"} 0"));
    assert_true(has_line(text, "rheinhub_console_acks_total{result=\"sent\"} 1"));
    assert_true(has_line(text, "rheinhub_console_acks_total{result=\"refused\"} 0"));
    assert_true(has_line(text, "# TYPE rheinhub_console_broker_up gauge"));
    assert_true(has_line(text, "rheinhub_console_broker_up 1"));
    assert_true(has_line(text, "rheinhub_console_alerts 3"));
    assert_true(has_line(text, "rheinhub_console_streams 2"));
    assert_true(has_line(text, "rheinhub_console_sessions 1"));
    assert_true(has_line(text, "# TYPE rheinhub_console_board_dropped_total counter"));
    assert_true(has_line(text, "rheinhub_console_board_dropped_total 7"));
    free(text);
}

static void counters_start_at_zero(void **state)
{
    struct counters c;
    struct counters_gauges g = {0};
    char *text;

    (void)state;
    counters_init(&c);
    text = render(&c, &g);
    assert_true(has_line(text, "rheinhub_console_broker_up 0"));
    assert_true(has_line(text, "rheinhub_console_logins_total{result=\"not_operator\"} 0"));
    assert_true(has_line(text, "rheinhub_console_acks_total{result=\"unconfirmed\"} 0"));
    assert_false(strstr(text, "} 1\n"));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counters_count_by_class_and_result),
        cmocka_unit_test(counters_start_at_zero),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
