// SPDX-License-Identifier: MIT
/*
 * Unit tests of the analytics worker's string map: put, get, replace, remove, keys
 * with NULs and prefixes of each other, growth, a walk that removes as it goes, a
 * long random run against a plain model, and borrowed keys.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

static int tag[4096];

static void analytics_strmap_basics(void **state)
{
    struct strmap *m = strmap_new();

    assert_non_null(m);
    assert_null(strmap_get(m, "a", 1));
    assert_int_equal(strmap_put(m, "a", 1, &tag[1]), 0);
    assert_int_equal(strmap_put(m, "ab", 2, &tag[2]), 0);
    assert_int_equal(strmap_put(m, "a\0b", 3, &tag[3]), 0);
    assert_int_equal(strmap_size(m), 3);
    assert_ptr_equal(strmap_get(m, "a", 1), &tag[1]);
    assert_ptr_equal(strmap_get(m, "ab", 2), &tag[2]);
    assert_ptr_equal(strmap_get(m, "a\0b", 3), &tag[3]);
    assert_null(strmap_get(m, "abc", 3));
    assert_null(strmap_get(m, "", 0));
    assert_int_equal(strmap_put(m, "a", 1, &tag[4]), 0); /* replaces */
    assert_int_equal(strmap_size(m), 3);
    assert_ptr_equal(strmap_get(m, "a", 1), &tag[4]);
    assert_ptr_equal(strmap_remove(m, "a", 1), &tag[4]);
    assert_null(strmap_remove(m, "a", 1));
    assert_int_equal(strmap_size(m), 2);
    strmap_free(m);
    strmap_free(NULL);
}

static int remove_odd(const char *key, void *value, void *data)
{
    int *v = value;

    if ((v - tag) % 2)
        strmap_remove(data, key, strlen(key));
    return 0;
}

static int count(const char *key, void *value, void *data)
{
    (*(size_t *)data)++;
    return 0;
}

static int stop_at_three(const char *key, void *value, void *data)
{
    return ++*(int *)data == 3 ? 42 : 0;
}

static void analytics_strmap_grow_and_walk(void **state)
{
    struct strmap *m = strmap_new();
    size_t n = 0;
    int seen = 0;

    for (int i = 0; i < 4096; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(strmap_put(m, key, strlen(key), &tag[i]), 0);
    }
    assert_int_equal(strmap_size(m), 4096);
    for (int i = 0; i < 4096; i++) {
        char key[16];
        snprintf(key, sizeof(key), "k%d", i);
        assert_ptr_equal(strmap_get(m, key, strlen(key)), &tag[i]);
    }
    assert_int_equal(strmap_each(m, remove_odd, m), 0);
    assert_int_equal(strmap_size(m), 2048);
    strmap_each(m, count, &n);
    assert_int_equal(n, 2048);
    assert_null(strmap_get(m, "k1", 2));
    assert_ptr_equal(strmap_get(m, "k2", 2), &tag[2]);
    assert_int_equal(strmap_each(m, stop_at_three, &seen), 42);
    assert_int_equal(seen, 3);
    strmap_free(m);
}

static void analytics_strmap_random(void **state)
{
    struct strmap *m = strmap_new();
    int *model[512] = {0};
    uint64_t x = 0x9e3779b97f4a7c15ULL;

    for (int step = 0; step < 200000; step++) {
        char key[16];
        int k, op;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        k = (int)(x % 512);
        op = (int)((x >> 20) % 3);
        snprintf(key, sizeof(key), "%d", k);
        if (op == 0) {
            assert_int_equal(strmap_put(m, key, strlen(key), &tag[step % 4096]), 0);
            model[k] = &tag[step % 4096];
        } else if (op == 1) {
            assert_ptr_equal(strmap_remove(m, key, strlen(key)), model[k]);
            model[k] = NULL;
        } else {
            assert_ptr_equal(strmap_get(m, key, strlen(key)), model[k]);
        }
    }
    strmap_free(m);
}

/* Records the key pointer strmap_each gives for the one entry. */
static int key_of(const char *key, void *value, void *data)
{
    *(const char **)data = key;
    return 0;
}

/* A borrowed key is the caller's: no copy, found by its bytes, taken anew when put again. */
static void analytics_strmap_borrowed(void **state)
{
    struct strmap *m = strmap_new();
    char *first = strdup("linz/sensor.waterlevel/gauge-1/1h/0"), *again = strdup(first);
    const char *seen = NULL;
    char copy[] = "kept", other[] = "kept";

    assert_non_null(m);
    assert_non_null(first);
    assert_non_null(again);
    assert_int_equal(strmap_put_borrowed(m, first, strlen(first), &tag[1]), 0);
    strmap_each(m, key_of, &seen);
    assert_ptr_equal(seen, first);
    assert_ptr_equal(strmap_get(m, "linz/sensor.waterlevel/gauge-1/1h/0", strlen(first)),
                     &tag[1]);
    /* put again: the entry takes the new key, and the old one may go */
    assert_int_equal(strmap_put_borrowed(m, again, strlen(again), &tag[2]), 0);
    free(first);
    strmap_each(m, key_of, &seen);
    assert_ptr_equal(seen, again);
    assert_ptr_equal(strmap_get(m, again, strlen(again)), &tag[2]);
    assert_int_equal(strmap_size(m), 1);
    assert_ptr_equal(strmap_remove(m, again, strlen(again)), &tag[2]);
    free(again);
    assert_int_equal(strmap_size(m), 0);
    /* a copied key stays a copy when put again borrowed */
    assert_int_equal(strmap_put(m, copy, 4, &tag[3]), 0);
    assert_int_equal(strmap_put_borrowed(m, other, 4, &tag[4]), 0);
    copy[0] = other[0] = 'x';
    assert_ptr_equal(strmap_get(m, "kept", 4), &tag[4]);
    assert_int_equal(strmap_size(m), 1);
    strmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analytics_strmap_basics),
        cmocka_unit_test(analytics_strmap_grow_and_walk),
        cmocka_unit_test(analytics_strmap_random),
        cmocka_unit_test(analytics_strmap_borrowed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
