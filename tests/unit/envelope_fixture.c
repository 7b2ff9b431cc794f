// SPDX-License-Identifier: MIT
/*
 * The envelope tests' shared checks (envelope_fixture.h): the envelope's key order,
 * JSON and decoded-string comparisons that print both sides, and the check that a
 * buffer is refused with a given reason.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope_fixture.h"

/* The keys of the envelope, in the order the encoder writes them. */
const char *const key_order[10] = {
    "specversion", "id",           "source",   "type",         "subject",
    "time",        "municipality", "category", "receivedtime", "data",
};

json_t *load_json(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_ALLOW_NUL, &err);

    if (!v)
        fail_msg("test JSON does not parse: line %d: %s", err.line, err.text);
    return v;
}

/* Fails, printing both, unless the two JSON values are equal. */
void assert_json_same(const json_t *expected, const json_t *actual)
{
    char *a, *b;

    assert_non_null(actual);
    if (json_equal(expected, actual))
        return;
    a = json_dumps(expected, JSON_COMPACT | JSON_ENCODE_ANY);
    b = json_dumps(actual, JSON_COMPACT | JSON_ENCODE_ANY);
    if (strcmp(a, b) != 0)
        assert_string_equal(a, b);
    fail_msg("JSON differs in kind but not in text: %s", a);
}

/* Fails, printing both, unless the decoded string equals expected. */
void assert_view_str(struct envelope_str s, const char *expected)
{
    char *copy;

    assert_non_null(s.ptr);
    copy = malloc(s.len + 1u);
    assert_non_null(copy);
    memcpy(copy, s.ptr, s.len);
    copy[s.len] = '\0';
    assert_string_equal(copy, expected);
    assert_int_equal(s.len, strlen(expected));
    free(copy);
}

/* Decodes buf with both decoders, each of which must refuse it with why_expected (NULL:
 * any reason, the same for both). */
void expect_refused(const char *buf, size_t len, const char *why_expected)
{
    msgpack_unpacked unpacked;
    msgpack_zone zone;
    struct envelope_view view;
    const char *why = NULL, *why_zone = NULL;

    msgpack_unpacked_init(&unpacked);
    assert_int_equal(envelope_decode(buf, len, &unpacked, &view, &why), -EINVAL);
    assert_non_null(why);
    if (why_expected)
        assert_string_equal(why, why_expected);
    msgpack_unpacked_destroy(&unpacked);
    assert_true(msgpack_zone_init(&zone, 1024));
    assert_int_equal(envelope_decode_zone(buf, len, &zone, &view, &why_zone), -EINVAL);
    assert_non_null(why_zone);
    assert_string_equal(why_zone, why);
    msgpack_zone_destroy(&zone);
}
