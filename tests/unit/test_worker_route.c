// SPDX-License-Identifier: MIT
/*
 * Unit tests of the worker SDK's route: parsing the route JSON the hub publishes
 * (members, defaults, every refusal), and the municipality and subject globs applied
 * to envelope strings that are not NUL-terminated.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "worker_route.h"

static struct worker_route route; /* too big for the stack of a test */

static int parse(const char *text, const char *kind, char *why, size_t why_size)
{
    return worker_route_parse(&route, text, strlen(text), kind, why, why_size);
}

static bool match(const char *municipality, const char *subject)
{
    return worker_route_match(&route, municipality, strlen(municipality), subject,
                              strlen(subject));
}

static void worker_route_parse_full(void **state)
{
    char why[200] = "";

    assert_int_equal(parse("{\"kind\":\"storage\",\"streams\":[\"rheinhub:events:sensor.soil\","
                           "\"rheinhub:events:sensor.waterlevel\"],\"municipalities\":[\"linz\","
                           "\"kaisers*\"],\"subjects\":[\"*\"],\"version\":42,\"later\":{}}",
                           "storage", why, sizeof(why)),
                     0);
    assert_string_equal(why, "");
    assert_string_equal(route.kind, "storage");
    assert_int_equal(route.version, 42);
    assert_int_equal(route.n_streams, 2);
    assert_string_equal(route.streams[0], "rheinhub:events:sensor.soil");
    assert_string_equal(route.streams[1], "rheinhub:events:sensor.waterlevel");
    assert_int_equal(route.n_municipalities, 2);
    assert_string_equal(route.municipalities[1], "kaisers*");
    assert_int_equal(route.n_subjects, 1);
    assert_true(worker_route_has_stream(&route, "rheinhub:events:sensor.soil"));
    assert_false(worker_route_has_stream(&route, "rheinhub:events:sensor.parking"));
    assert_false(worker_route_has_stream(&route, "rheinhub:events:sensor.soi"));
}

static void worker_route_parse_defaults(void **state)
{
    /* Only streams: no kind check, version 0, empty pattern lists match everything. */
    assert_int_equal(parse("{\"streams\":[]}", "alerting", NULL, 0), 0);
    assert_string_equal(route.kind, "alerting");
    assert_int_equal(route.version, 0);
    assert_int_equal(route.n_streams, 0);
    assert_int_equal(route.n_municipalities, 0);
    assert_true(match("linz", "pegel-1"));
    assert_int_equal(parse("{\"streams\":[\"a\"],\"municipalities\":[],\"subjects\":[]}", NULL,
                           NULL, 0),
                     0);
    assert_true(match("anywhere", "anything"));
    assert_true(match("", ""));
}

static void worker_route_parse_dedupes_streams(void **state)
{
    assert_int_equal(parse("{\"streams\":[\"a\",\"b\",\"a\",\"b\",\"c\"]}", NULL, NULL, 0), 0);
    assert_int_equal(route.n_streams, 3);
    assert_string_equal(route.streams[2], "c");
}

static void check_refused(const char *text, const char *kind, const char *reason)
{
    char why[200] = "";

    route.n_streams = 99;
    assert_int_equal(parse(text, kind, why, sizeof(why)), -EINVAL);
    if (!strstr(why, reason))
        fail_msg("route %s: reason \"%s\" lacks \"%s\"", text, why, reason);
    assert_int_equal(route.n_streams, 0); /* nothing half-parsed is left */
}

static void worker_route_parse_refusals(void **state)
{
    char big[WORKER_ROUTE_TEXT_MAX + 64];
    char many[WORKER_ROUTE_STREAMS_MAX * 8 + 64];
    size_t n;

    check_refused("", NULL, "not JSON");
    check_refused("{\"streams\":[\"a\"]", NULL, "not JSON");
    check_refused("[\"a\"]", NULL, "not a JSON object");
    check_refused("{\"streams\":[\"a\"],\"streams\":[\"b\"]}", NULL, "not JSON");
    check_refused("{}", NULL, "lacks \"streams\"");
    check_refused("{\"streams\":\"a\"}", NULL, "\"streams\" is not an array");
    check_refused("{\"streams\":[1]}", NULL, "\"streams\"[0] is not a string");
    check_refused("{\"streams\":[\"a\",\"\"]}", NULL, "\"streams\"[1] is empty");
    check_refused("{\"streams\":[\"a\\u0000b\"]}", NULL, "not JSON"); /* jansson: no NUL */
    check_refused("{\"streams\":[],\"municipalities\":{}}", NULL,
                  "\"municipalities\" is not an array");
    check_refused("{\"streams\":[],\"subjects\":[null]}", NULL, "\"subjects\"[0]");
    check_refused("{\"kind\":\"storage\",\"streams\":[]}", "alerting",
                  "for kind 'storage', not 'alerting'");
    check_refused("{\"kind\":7,\"streams\":[]}", NULL, "\"kind\" is not a short string");
    check_refused("{\"streams\":[],\"version\":\"3\"}", NULL, "\"version\" is not an integer");

    /* A stream key of WORKER_ROUTE_NAME_MAX bytes does not fit (the NUL needs one). */
    n = (size_t)snprintf(big, sizeof(big), "{\"streams\":[\"");
    memset(big + n, 'x', WORKER_ROUTE_NAME_MAX);
    snprintf(big + n + WORKER_ROUTE_NAME_MAX, sizeof(big) - n - WORKER_ROUTE_NAME_MAX, "\"]}");
    check_refused(big, NULL, "too long");
    big[n + WORKER_ROUTE_NAME_MAX - 1] = '"';
    memcpy(big + n + WORKER_ROUTE_NAME_MAX, "]}", 3);
    assert_int_equal(parse(big, NULL, NULL, 0), 0);
    assert_int_equal(strlen(route.streams[0]), WORKER_ROUTE_NAME_MAX - 1);

    /* More streams than fit. */
    n = (size_t)snprintf(many, sizeof(many), "{\"streams\":[");
    for (int i = 0; i <= WORKER_ROUTE_STREAMS_MAX; i++)
        n += (size_t)snprintf(many + n, sizeof(many) - n, "%s\"s%d\"", i ? "," : "", i);
    snprintf(many + n, sizeof(many) - n, "]}");
    check_refused(many, NULL, "more than 128 entries");

    /* Longer than WORKER_ROUTE_TEXT_MAX, whatever it holds. */
    memset(big, ' ', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    memcpy(big, "{\"streams\":[]}", 14);
    check_refused(big, NULL, "longer than");
}

static void worker_route_match_globs(void **state)
{
    assert_int_equal(parse("{\"streams\":[\"a\"],\"municipalities\":[\"linz\",\"kaisers*\"],"
                           "\"subjects\":[\"pegel-?\",\"tree-[0-9]*\"]}",
                           NULL, NULL, 0),
                     0);
    assert_true(match("linz", "pegel-1"));
    assert_true(match("kaiserslautern", "tree-7a"));
    assert_true(match("kaisers", "pegel-x"));
    assert_false(match("linz", "pegel-12"));  /* ? is one character */
    assert_false(match("linz", "tree-a7"));
    assert_false(match("linza", "pegel-1"));  /* no implicit prefix match */
    assert_false(match("Linz", "pegel-1"));   /* case matters */
    assert_false(match("mainz", "pegel-1"));
    assert_false(match("", "pegel-1"));
    /* Both must match. */
    assert_false(match("mainz", "tree-1"));
    assert_false(match("linz", "other"));
}

static void worker_route_match_unterminated(void **state)
{
    const char buf[] = "linzXpegel-1tail";
    char long_subject[1100];

    assert_int_equal(parse("{\"streams\":[\"a\"],\"municipalities\":[\"linz\"],"
                           "\"subjects\":[\"pegel-1\",\"*\"]}",
                           NULL, NULL, 0),
                     0);
    /* Lengths, not terminators, delimit the values. */
    assert_true(worker_route_match(&route, buf, 4, buf + 5, 7));
    assert_false(worker_route_match(&route, buf, 5, buf + 5, 7));
    /* A NUL inside never matches, not even "*" (it would hide the rest from fnmatch). */
    assert_false(worker_route_match(&route, "linz\0evil", 9, "pegel-1", 7));
    assert_false(worker_route_match(&route, "linz", 4, "pegel-1\0", 8));
    /* Values longer than 1024 bytes match no pattern. */
    memset(long_subject, 'a', sizeof(long_subject));
    assert_true(worker_route_match(&route, "linz", 4, long_subject, 1024));
    assert_false(worker_route_match(&route, "linz", 4, long_subject, 1025));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(worker_route_parse_full),
        cmocka_unit_test(worker_route_parse_defaults),
        cmocka_unit_test(worker_route_parse_dedupes_streams),
        cmocka_unit_test(worker_route_parse_refusals),
        cmocka_unit_test(worker_route_match_globs),
        cmocka_unit_test(worker_route_match_unterminated),
    };
    return cmocka_run_group_tests_name("worker_route", tests, NULL, NULL);
}
