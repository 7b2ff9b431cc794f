// SPDX-License-Identifier: MIT
/*
 * Unit tests of when the hub's queued events wait for more (entry_pack_lingers): under
 * load, short of a full entry; a lone event after a quiet spell never waits.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "entry_pack.h"

#define MS 1000000u

static void a_lone_event_after_a_quiet_spell_goes_at_once(void **state)
{
    (void)state;
    assert_false(entry_pack_lingers(1, 64, 5 * MS, 1 * MS));
    assert_false(entry_pack_lingers(1, 64, 1 * MS, 1 * MS));
    assert_false(entry_pack_lingers(1, 64, UINT64_MAX, 1 * MS)); /* nothing sent yet */
}

static void a_lone_event_within_a_linger_of_the_last_entry_waits(void **state)
{
    (void)state;
    assert_true(entry_pack_lingers(1, 64, 0, 1 * MS));
    assert_true(entry_pack_lingers(1, 64, 1 * MS - 1, 1 * MS));
    assert_true(entry_pack_lingers(1, 64, 19 * MS, 20 * MS));
}

static void two_or_more_wait_whenever_the_last_entry_went(void **state)
{
    (void)state;
    assert_true(entry_pack_lingers(2, 64, 5 * MS, 1 * MS));
    assert_true(entry_pack_lingers(63, 64, UINT64_MAX, 1 * MS));
}

static void a_full_entry_nothing_queued_or_no_linger_never_waits(void **state)
{
    (void)state;
    assert_false(entry_pack_lingers(64, 64, 0, 1 * MS));
    assert_false(entry_pack_lingers(100, 64, 0, 1 * MS));
    assert_false(entry_pack_lingers(0, 64, 0, 1 * MS));
    assert_false(entry_pack_lingers(5, 64, 0, 0));
    assert_false(entry_pack_lingers(1, 1, 0, 1 * MS)); /* entry_events_max 1 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_lone_event_after_a_quiet_spell_goes_at_once),
        cmocka_unit_test(a_lone_event_within_a_linger_of_the_last_entry_waits),
        cmocka_unit_test(two_or_more_wait_whenever_the_last_entry_went),
        cmocka_unit_test(a_full_entry_nothing_queued_or_no_linger_never_waits),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
