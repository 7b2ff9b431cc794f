// SPDX-License-Identifier: MIT
/*
 * Unit tests of the COUNT of a worker's reads (workers/sdk/worker_read_count.c):
 * min(batch_max, 64) before any entry was seen; then batch_max divided by the events
 * per entry of the last read, at most twice the entries it got (or 64), at most about
 * 8 MiB of envelopes by their mean size, and at least 1.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "worker_internal.h"
#include "worker_read_count.h"

#define MIB (1024u * 1024u)

static struct worker *new_worker(int batch_max)
{
    struct worker *w = calloc(1, sizeof(*w));

    assert_non_null(w);
    w->cfg.worker.batch_max = batch_max;
    return w;
}

static void test_first_read_asks_for_at_most_64(void **state)
{
    (void)state;
    struct worker *w = new_worker(4096);

    assert_int_equal(worker_read_count(w), 64);
    w->cfg.worker.batch_max = 10;
    assert_int_equal(worker_read_count(w), 10);
    worker_read_count_learn(w, 0, 0, 0); /* a read that got nothing teaches nothing */
    assert_int_equal(worker_read_count(w), 10);
    free(w);
}

static void test_follows_the_events_per_entry_and_grows_at_most_twice(void **state)
{
    (void)state;
    struct worker *w = new_worker(4096);

    worker_read_count_learn(w, 64, 64 * 64, 64 * 64 * 400); /* 64 entries of 64 */
    assert_int_equal(worker_read_count(w), 64);
    worker_read_count_learn(w, 10, 10, 10 * 400); /* narrow: 4096, but twice 10 is 20 */
    assert_int_equal(worker_read_count(w), 64);
    worker_read_count_learn(w, 64, 64, 64 * 400);
    assert_int_equal(worker_read_count(w), 128);
    worker_read_count_learn(w, 1024, 1024, 1024 * 400);
    assert_int_equal(worker_read_count(w), 2048);
    worker_read_count_learn(w, 2048, 2048, 2048 * 400);
    assert_int_equal(worker_read_count(w), 4096); /* 1.6 MiB: under the byte bound */
    free(w);
}

static void test_a_read_holds_about_8_mib_at_most(void **state)
{
    (void)state;
    struct worker *w = new_worker(4096);

    worker_read_count_learn(w, 64, 64, 64 * 256 * 1024); /* events of 256 KiB */
    assert_int_equal(worker_read_count(w), 32);
    worker_read_count_learn(w, 32, 32, 32 * (256 * 1024 + 300));
    assert_int_equal(worker_read_count(w), 31);
    worker_read_count_learn(w, 1, 1, 20 * MIB); /* one event larger than the bound */
    assert_int_equal(worker_read_count(w), 1);
    /* Entries of 64 events of 4 KiB: 4096 / 64 = 64 entries by events, 32 by bytes. */
    worker_read_count_learn(w, 100, 6400, 6400 * 4096);
    assert_int_equal(worker_read_count(w), 32);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_first_read_asks_for_at_most_64),
        cmocka_unit_test(test_follows_the_events_per_entry_and_grows_at_most_twice),
        cmocka_unit_test(test_a_read_holds_about_8_mib_at_most),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
