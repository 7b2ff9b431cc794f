// SPDX-License-Identifier: MIT
/* Unit tests of UTF-8 sequences and of cutting a text back to whole characters (utf8.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "utf8.h"

static size_t seq(const char *s, size_t left)
{
    return utf8_seq_len((const unsigned char *)s, left);
}

static void utf8_seq_len_follows_rfc_3629(void **state)
{
    (void)state;
    assert_int_equal(seq("a", 1), 1);
    assert_int_equal(seq("\xc3\xa4", 2), 2);          /* ä */
    assert_int_equal(seq("\xe2\x89\xa5", 3), 3);      /* ≥ */
    assert_int_equal(seq("\xf0\x9f\x8c\x8a", 4), 4);  /* a wave, past the BMP */
    assert_int_equal(seq("\xc3\xa4", 1), 0);          /* cut */
    assert_int_equal(seq("\xe2\x89", 2), 0);
    assert_int_equal(seq("\xa4", 1), 0);              /* a continuation byte alone */
    assert_int_equal(seq("\xc0\xaf", 2), 0);          /* overlong */
    assert_int_equal(seq("\xe0\x80\xaf", 3), 0);      /* overlong */
    assert_int_equal(seq("\xed\xa0\x80", 3), 0);      /* a UTF-16 surrogate */
    assert_int_equal(seq("\xf4\x90\x80\x80", 4), 0);  /* past U+10FFFF */
    assert_int_equal(seq("\xff", 1), 0);
    assert_int_equal(seq("", 0), 0);
}

static void utf8_cut_drops_only_a_sequence_cut_short(void **state)
{
    (void)state;
    assert_int_equal(utf8_cut("abc", 3), 3);
    assert_int_equal(utf8_cut("", 0), 0);
    assert_int_equal(utf8_cut("a\xc3\xa4", 3), 3);        /* whole */
    assert_int_equal(utf8_cut("a\xc3", 2), 1);            /* ä cut after its first byte */
    assert_int_equal(utf8_cut("a\xe2\x89\xa5", 4), 4);
    assert_int_equal(utf8_cut("a\xe2\x89", 3), 1);        /* ≥ cut after two */
    assert_int_equal(utf8_cut("a\xe2", 2), 1);
    assert_int_equal(utf8_cut("a\xf0\x9f\x8c\x8a", 5), 5);
    assert_int_equal(utf8_cut("a\xf0\x9f\x8c", 4), 1);    /* four bytes cut after three */
    assert_int_equal(utf8_cut("\xf0\x9f", 2), 0);
    /* Not a cut: stray continuation bytes and other invalid text stay as they are. */
    assert_int_equal(utf8_cut("a\xa4\xa4\xa4\xa4", 5), 5);
    assert_int_equal(utf8_cut("a\xff", 2), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(utf8_seq_len_follows_rfc_3629),
        cmocka_unit_test(utf8_cut_drops_only_a_sequence_cut_short),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
