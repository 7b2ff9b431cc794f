// SPDX-License-Identifier: MIT
/*
 * Unit tests of the console's login throttle: no wait before a failure, the wait
 * doubling per failure up to its cap, one address not slowing another, a success
 * forgetting, and a full table making room by dropping the oldest address.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>

#include "throttle.h"

static void throttle_doubles_and_caps(void **state)
{
    struct throttle *t = throttle_new();
    int64_t now = 1000000;

    (void)state;
    assert_int_equal(throttle_wait_ms(t, "10.0.0.1", now), 0);
    throttle_failed(t, "10.0.0.1", now);
    assert_int_equal(throttle_wait_ms(t, "10.0.0.1", now), 1000); /* docs/console.md: 1 s */
    assert_int_equal(throttle_wait_ms(t, "10.0.0.1", now + 400), THROTTLE_FIRST_MS - 400);
    assert_int_equal(throttle_wait_ms(t, "10.0.0.2", now), 0);
    throttle_failed(t, "10.0.0.1", now);
    assert_int_equal(throttle_wait_ms(t, "10.0.0.1", now), 2 * THROTTLE_FIRST_MS);
    throttle_failed(t, "10.0.0.1", now);
    assert_int_equal(throttle_wait_ms(t, "10.0.0.1", now), 4 * THROTTLE_FIRST_MS);
    for (int i = 0; i < 20; i++)
        throttle_failed(t, "10.0.0.1", now);
    assert_int_equal(throttle_wait_ms(t, "10.0.0.1", now), 60000); /* docs/console.md: 60 s */
    assert_int_equal(throttle_wait_ms(t, "10.0.0.1", now + THROTTLE_MAX_MS), 0);
    throttle_succeeded(t, "10.0.0.1");
    throttle_failed(t, "10.0.0.1", now);
    assert_int_equal(throttle_wait_ms(t, "10.0.0.1", now), THROTTLE_FIRST_MS);
    throttle_free(t);
}

static void throttle_full_table_drops_oldest(void **state)
{
    struct throttle *t = throttle_new();
    char addr[32];

    (void)state;
    for (int i = 0; i < THROTTLE_SLOTS; i++) {
        snprintf(addr, sizeof(addr), "10.1.%d.%d", i / 256, i % 256);
        throttle_failed(t, addr, 1000 + i);
    }
    throttle_failed(t, "192.0.2.1", 5000);
    assert_int_equal(throttle_wait_ms(t, "192.0.2.1", 5000), THROTTLE_FIRST_MS);
    assert_int_equal(throttle_wait_ms(t, "10.1.0.0", 1000), 0);        /* the oldest: gone */
    assert_int_equal(throttle_wait_ms(t, "10.1.0.1", 1001), THROTTLE_FIRST_MS); /* kept */
    throttle_free(t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(throttle_doubles_and_caps),
        cmocka_unit_test(throttle_full_table_drops_oldest),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
