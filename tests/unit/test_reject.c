// SPDX-License-Identifier: MIT
/*
 * Unit tests of the reject reasons: their names are part of the contract (the
 * dead-letter stream and the metrics carry them), so they are checked against the
 * list written out here, in order, and must be unique.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "reject.h"

static const char *const contract[] = {
    "bad_topic",      "too_large",     "bad_utf8",         "bad_json",
    "not_object",     "too_deep",      "bad_time",         "bad_cloudevent",
    "type_mismatch",  "subject_mismatch", "time_mismatch", "unknown_type",
    "schema",         "store_failed",
};

#define N_CONTRACT (sizeof(contract) / sizeof(contract[0]))

static void reject_count_matches_contract(void **state)
{
    assert_int_equal(REJECT_REASON_COUNT, N_CONTRACT);
}

static void reject_names_match_contract(void **state)
{
    for (size_t i = 0; i < N_CONTRACT; i++)
        assert_string_equal(reject_reason_name((enum reject_reason)i), contract[i]);
    assert_string_equal(reject_reason_name(REJECT_BAD_TOPIC), "bad_topic");
    assert_string_equal(reject_reason_name(REJECT_TOO_LARGE), "too_large");
    assert_string_equal(reject_reason_name(REJECT_BAD_UTF8), "bad_utf8");
    assert_string_equal(reject_reason_name(REJECT_BAD_JSON), "bad_json");
    assert_string_equal(reject_reason_name(REJECT_NOT_OBJECT), "not_object");
    assert_string_equal(reject_reason_name(REJECT_TOO_DEEP), "too_deep");
    assert_string_equal(reject_reason_name(REJECT_BAD_TIME), "bad_time");
    assert_string_equal(reject_reason_name(REJECT_BAD_CLOUDEVENT), "bad_cloudevent");
    assert_string_equal(reject_reason_name(REJECT_TYPE_MISMATCH), "type_mismatch");
    assert_string_equal(reject_reason_name(REJECT_SUBJECT_MISMATCH), "subject_mismatch");
    assert_string_equal(reject_reason_name(REJECT_TIME_MISMATCH), "time_mismatch");
    assert_string_equal(reject_reason_name(REJECT_UNKNOWN_TYPE), "unknown_type");
    assert_string_equal(reject_reason_name(REJECT_SCHEMA), "schema");
    assert_string_equal(reject_reason_name(REJECT_STORE_FAILED), "store_failed");
}

static void reject_names_unique(void **state)
{
    for (int i = 0; i < REJECT_REASON_COUNT; i++) {
        const char *a = reject_reason_name((enum reject_reason)i);
        assert_non_null(a);
        assert_true(strlen(a) > 0);
        for (int j = i + 1; j < REJECT_REASON_COUNT; j++) {
            const char *b = reject_reason_name((enum reject_reason)j);
            if (strcmp(a, b) == 0)
                fail_msg("reasons %d and %d are both named \"%s\"", i, j, a);
        }
    }
}

static void reject_names_are_metric_labels(void **state)
{
    /* Lower-case letters, digits and underscores: safe as a label value and a field. */
    for (int i = 0; i < REJECT_REASON_COUNT; i++) {
        const char *name = reject_reason_name((enum reject_reason)i);
        assert_int_equal(strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_"), strlen(name));
    }
}

static void reject_out_of_range_is_unknown(void **state)
{
    assert_string_equal(reject_reason_name(REJECT_REASON_COUNT), "unknown");
    assert_string_equal(reject_reason_name((enum reject_reason)(REJECT_REASON_COUNT + 100)),
                        "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reject_count_matches_contract),
        cmocka_unit_test(reject_names_match_contract),
        cmocka_unit_test(reject_names_unique),
        cmocka_unit_test(reject_names_are_metric_labels),
        cmocka_unit_test(reject_out_of_range_is_unknown),
    };

    return cmocka_run_group_tests_name("reject", tests, NULL, NULL);
}
