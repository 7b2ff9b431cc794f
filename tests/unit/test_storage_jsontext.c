// SPDX-License-Identifier: MIT
/*
 * Unit tests of the storage worker's msgpack-to-JSON writer: for every document it
 * must print exactly what envelope_object_to_json() and json_dumps(JSON_COMPACT |
 * JSON_PRESERVE_ORDER) print, and refuse what they refuse.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <msgpack.h>

#include "envelope.h"
#include "jsontext.h"

/* What jansson prints for obj, or NULL when it cannot. */
static char *via_jansson(const msgpack_object *obj)
{
    json_t *v = envelope_object_to_json(obj);
    char *text;

    if (!v)
        return NULL;
    text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
    json_decref(v);
    return text;
}

/* Unpacks buf and checks that both writers agree (or both refuse). */
static void check_packed(const char *buf, size_t len, int expect)
{
    msgpack_unpacked u;
    char *ours = NULL, *theirs;
    size_t n = 0;
    int r;

    msgpack_unpacked_init(&u);
    assert_int_equal(msgpack_unpack_next(&u, buf, len, NULL), MSGPACK_UNPACK_SUCCESS);
    theirs = via_jansson(&u.data);
    r = jsontext_from_msgpack(&u.data, &ours, &n);
    assert_int_equal(r, expect);
    if (expect == 0) {
        assert_non_null(theirs);
        assert_string_equal(ours, theirs);
        assert_int_equal(n, strlen(theirs));
    } else {
        assert_null(theirs);
    }
    free(ours);
    free(theirs);
    msgpack_unpacked_destroy(&u);
}

/* A JSON document packed as the hub packs event data, then compared. */
static void check_json(const char *text)
{
    json_error_t err;
    json_t *v = json_loads(text, JSON_DECODE_ANY | JSON_ALLOW_NUL, &err);
    msgpack_sbuffer sb;
    msgpack_packer pk;

    print_message("%s\n", text);
    assert_non_null(v);
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    assert_int_equal(envelope_pack_json(&pk, v), 0);
    check_packed(sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    json_decref(v);
}

static void jsontext_matches_jansson_for_documents(void **state)
{
    static const char *const docs[] = {
        "{}",
        "{\"time\":\"2026-11-26T06:00:00.000000001Z\",\"value\":412,\"unit\":\"cm\",\"trend\":0}",
        "{\"b\":1,\"a\":2,\"c\":{\"z\":[],\"y\":{}}}",
        "{\"n\":null,\"t\":true,\"f\":false,\"i\":-9223372036854775808,"
        "\"j\":9223372036854775807,\"k\":0,\"l\":-1}",
        "{\"r\":[0.1,-0.0,0.0,1.5,100.0,1e21,1e22,1e-7,5e-324,1.7976931348623157e308,"
        "-2.5e-300,123456789012345678.0,3.141592653589793,2.5e+15,1e16]}",
        "{\"s\":\"quote \\\" backslash \\\\ slash / tab \\t nl \\n cr \\r bs \\b ff \\f\"}",
        "{\"c\":\"\\u0000\\u0001\\u001f\\u007f \\u00e4\\u20ac\\ud83c\\udf0a\"}",
        "{\"K\\u00f6ln\":\"Linz am Rhein\",\"\":\"empty key\",\"\\n\":1}",
        "{\"deep\":[[[[[[[[[[{\"x\":[1,[2,[3]]]}]]]]]]]]]]}",
        "{\"description\":\"Schlagloch, \\\"tief\\\",\\nvor der Einfahrt\"}",
    };

    for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++)
        check_json(docs[i]);
}

static void jsontext_matches_jansson_for_msgpack_only_values(void **state)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;

    /* a uint64 past INT64_MAX (a real for jansson), a float32, a repeated key */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 4);
    msgpack_pack_str_with_body(&pk, "u", 1);
    msgpack_pack_uint64(&pk, UINT64_MAX);
    msgpack_pack_str_with_body(&pk, "f", 1);
    msgpack_pack_float(&pk, 0.1f);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_int(&pk, 2);
    check_packed(sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);

    /* a map nested in an array repeats a key: the whole inner map goes to jansson */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 2);
    msgpack_pack_map(&pk, 3);
    for (int i = 0; i < 3; i++) {
        msgpack_pack_str_with_body(&pk, i == 1 ? "b" : "a", 1);
        msgpack_pack_int(&pk, i);
    }
    msgpack_pack_str_with_body(&pk, "x\ty", 3);
    check_packed(sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
}

static void pack_one_string(msgpack_sbuffer *sb, const char *s, size_t n)
{
    msgpack_packer pk;

    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "s", 1);
    msgpack_pack_str_with_body(&pk, s, n);
}

static void jsontext_refuses_what_jansson_refuses(void **state)
{
    static const char *const bad_utf8[] = {
        "\x80", "\xc0\x80", "\xc1\xbf", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
        "\xf5\x80\x80\x80", "\xc3", "\xe2\x82", "ok\xff",
    };
    static const char *const good_utf8[] = {
        "\xc2\x80", "\xdf\xbf", "\xe0\xa0\x80", "\xed\x9f\xbf", "\xee\x80\x80",
        "\xf0\x90\x80\x80", "\xf4\x8f\xbf\xbf",
    };
    msgpack_sbuffer sb;
    msgpack_packer pk;

    for (size_t i = 0; i < sizeof(bad_utf8) / sizeof(bad_utf8[0]); i++) {
        print_message("bad %zu\n", i);
        pack_one_string(&sb, bad_utf8[i], strlen(bad_utf8[i]));
        check_packed(sb.data, sb.size, -EINVAL);
        msgpack_sbuffer_destroy(&sb);
    }
    for (size_t i = 0; i < sizeof(good_utf8) / sizeof(good_utf8[0]); i++) {
        print_message("good %zu\n", i);
        pack_one_string(&sb, good_utf8[i], strlen(good_utf8[i]));
        check_packed(sb.data, sb.size, 0);
        msgpack_sbuffer_destroy(&sb);
    }

    /* binary values, keys that are not strings, reals that are not finite */
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "b", 1);
    msgpack_pack_bin_with_body(&pk, "xy", 2);
    check_packed(sb.data, sb.size, -EINVAL);
    msgpack_sbuffer_destroy(&sb);

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_int(&pk, 1);
    msgpack_pack_int(&pk, 2);
    check_packed(sb.data, sb.size, -EINVAL);
    msgpack_sbuffer_destroy(&sb);

    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 1);
    msgpack_pack_str_with_body(&pk, "nan", 3);
    msgpack_pack_double(&pk, NAN);
    check_packed(sb.data, sb.size, -EINVAL);
    msgpack_sbuffer_destroy(&sb);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jsontext_matches_jansson_for_documents),
        cmocka_unit_test(jsontext_matches_jansson_for_msgpack_only_values),
        cmocka_unit_test(jsontext_refuses_what_jansson_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
