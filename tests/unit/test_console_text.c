// SPDX-License-Identifier: MIT
/*
 * Unit tests of how the console shows bytes that may not be UTF-8 (a rejected payload,
 * an argument echoed in an error): valid UTF-8 kept as it is, invalid bytes, cut
 * sequences and control characters as \xNN, newlines and tabs kept.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "text.h"

static void expect(const char *in, size_t len, const char *out)
{
    json_t *s = text_json(in, len);

    assert_non_null(s);
    assert_string_equal(json_string_value(s), out);
    json_decref(s);
}

static void text_json_is_always_utf8(void **state)
{
    (void)state;
    expect("not json", 8, "not json");
    expect("Pegel \xc3\xa4 \xe2\x89\xa5 650", 16, "Pegel \xc3\xa4 \xe2\x89\xa5 650");
    expect("\xff\xfe{", 3, "\\xff\\xfe{");
    expect("ab\xe2\x89", 4, "ab\\xe2\\x89");          /* a sequence cut at the end */
    expect("a\x01" "b\nc\td", 7, "a\\x01b\nc\td");
    expect("x\0y", 3, "x\\x00y");
    expect("\xc0\xaf", 2, "\\xc0\\xaf");              /* an overlong '/' */
    expect("\xe0\x80\xaf", 3, "\\xe0\\x80\\xaf");      /* another */
    expect("\xed\xa0\x80", 3, "\\xed\\xa0\\x80");      /* a UTF-16 surrogate */
    expect("\xf4\x90\x80\x80", 4, "\\xf4\\x90\\x80\\x80"); /* past U+10FFFF */
    expect("", 0, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(text_json_is_always_utf8),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
