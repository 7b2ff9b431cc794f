// SPDX-License-Identifier: MIT
/*
 * Unit tests of values as tracks and alerts keep them (value_kept.c): every kind comes
 * back as it was kept (its JSON byte for byte), a string at its maximum too, and the
 * buffer of a string grows only for a longer one.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "value_kept.h"

/* Keeps v in k, reads it back and checks it is v, down to its JSON text. */
static void round_trip(struct value_kept *k, const struct value *v)
{
    struct value back;
    json_t *ja, *jb;
    char *ta, *tb;

    assert_int_equal(value_keep(k, v), 0);
    memset(&back, 0x55, sizeof(back));
    value_kept_get(k, &back);
    assert_int_equal(back.kind, v->kind);
    assert_true(value_equal(&back, v));
    assert_non_null(ja = value_to_json(v));
    assert_non_null(jb = value_to_json(&back));
    assert_non_null(ta = json_dumps(ja, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)));
    assert_non_null(tb = json_dumps(jb, JSON_ENCODE_ANY | JSON_REAL_PRECISION(17)));
    assert_string_equal(ta, tb);
    free(ta);
    free(tb);
    json_decref(ja);
    json_decref(jb);
}

static void value_kept_every_kind(void **state)
{
    struct value_kept k;
    struct value v;

    (void)state;
    value_kept_init(&k);
    value_set_null(&v);
    round_trip(&k, &v);
    value_set_int(&v, -9007199254740993LL);
    round_trip(&k, &v);
    value_set_real(&v, 0.9);
    round_trip(&k, &v);
    value_set_bool(&v, true);
    round_trip(&k, &v);
    value_set_str(&v, "fault", 5);
    round_trip(&k, &v);
    assert_string_equal(k.s, "fault");
    value_set_int(&v, 650); /* a number after a string: the string's buffer stays */
    round_trip(&k, &v);
    assert_non_null(k.s);
    value_kept_close(&k);
    assert_null(k.s);
    assert_int_equal(k.kind, VALUE_NULL);
    value_kept_close(NULL);
}

/* A struct value leaves the scalars of other kinds unset: only its own is read. */
static void value_kept_reads_only_its_kind(void **state)
{
    struct value_kept k;
    struct value v;

    (void)state;
    value_kept_init(&k);
    memset(&v, 0xe4, sizeof(v)); /* not a valid bool, nor a usual number */
    value_set_int(&v, 650);
    assert_int_equal(value_keep(&k, &v), 0);
    assert_int_equal(k.i, 650);
    assert_true(k.d == 0);
    assert_false(k.b);
    memset(&v, 0xe4, sizeof(v));
    value_set_real(&v, 0.5);
    assert_int_equal(value_keep(&k, &v), 0);
    assert_int_equal(k.i, 0);
    assert_true(k.d == 0.5);
    assert_false(k.b);
    value_kept_close(&k);
}

/* A string at its maximum (VALUE_STR_MAX - 1 bytes); shorter ones reuse its buffer. */
static void value_kept_string_at_maximum(void **state)
{
    char text[VALUE_STR_MAX + 8];
    struct value_kept k, copy;
    struct value v;
    const char *buf;

    (void)state;
    value_kept_init(&k);
    value_kept_init(&copy);
    memset(text, 'x', sizeof(text) - 1);
    text[sizeof(text) - 1] = '\0';
    value_set_str(&v, text, strlen(text)); /* cut to the maximum */
    assert_int_equal(strlen(v.s), VALUE_STR_MAX - 1);
    round_trip(&k, &v);
    assert_int_equal(strlen(k.s), VALUE_STR_MAX - 1);
    buf = k.s;
    value_set_str(&v, "ok", 2);
    round_trip(&k, &v);
    assert_ptr_equal(k.s, buf);
    assert_int_equal(value_kept_copy(&copy, &k), 0);
    assert_int_equal(copy.kind, VALUE_STR);
    assert_string_equal(copy.s, "ok");
    assert_ptr_not_equal(copy.s, k.s);
    value_kept_close(&k);
    value_kept_close(&copy);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(value_kept_every_kind),
        cmocka_unit_test(value_kept_reads_only_its_kind),
        cmocka_unit_test(value_kept_string_at_maximum),
    };

    return cmocka_run_group_tests_name("alerting_value_kept", tests, NULL, NULL);
}
