// SPDX-License-Identifier: MIT
/*
 * Unit tests of the per-message JSON arena (the hub's payloads, the sources' uplinks): values parsed while it is active
 * come from it, JSON made before or after it from malloc, both freed the right way
 * (AddressSanitizer checks), and a document larger than the arena still parses.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "json_arena.h"

static int setup(void **state)
{
    json_arena_install();
    return 0;
}

static void json_arena_parse_and_release(void **state)
{
    struct json_arena a;
    json_t *before = json_pack("{s:i}", "kept", 1), *doc;
    char *text;

    assert_int_equal(json_arena_init(&a), 0);
    for (int round = 0; round < 3; round++) {
        json_arena_begin(&a);
        doc = json_loads("{\"a\":[1,2,{\"b\":\"x\"}],\"c\":1.5}", 0, NULL);
        assert_non_null(doc);
        assert_true(a.used > 0);
        json_object_set(doc, "kept", before); /* a value from before, by reference */
        text = json_dumps(doc, JSON_COMPACT | JSON_SORT_KEYS);
        assert_string_equal(text, "{\"a\":[1,2,{\"b\":\"x\"}],\"c\":1.5,\"kept\":{\"kept\":1}}");
        json_arena_free(text);
        json_decref(doc);
        json_arena_end();
        assert_int_equal(a.used, 0);
    }
    assert_int_equal(json_object_get(before, "kept") != NULL, 1);
    json_decref(before); /* made with malloc, freed with free */
    json_arena_close(&a);
}

static void json_arena_larger_than_arena(void **state)
{
    size_t n = JSON_ARENA_BYTES / 8;
    json_t *big = json_array(), *back;
    struct json_arena a;
    char *text;

    for (size_t i = 0; i < n; i++)
        json_array_append_new(big, json_integer((json_int_t)i));
    text = json_dumps(big, JSON_COMPACT); /* about 700 KiB, made before the arena */
    assert_int_equal(json_arena_init(&a), 0);
    json_arena_begin(&a);
    back = json_loads(text, 0, NULL); /* the arena fills up: the rest from malloc */
    assert_non_null(back);
    assert_int_equal(json_array_size(back), n);
    assert_int_equal(json_integer_value(json_array_get(back, n - 1)), (json_int_t)(n - 1));
    json_decref(back);
    json_arena_end();
    json_arena_close(&a);
    free(text);
    json_decref(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_arena_parse_and_release),
        cmocka_unit_test(json_arena_larger_than_arena),
    };
    return cmocka_run_group_tests_name("json_arena", tests, setup, NULL);
}
