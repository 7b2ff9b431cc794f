// SPDX-License-Identifier: MIT
/*
 * Unit tests of dropping recent duplicates on the ingest path, without a broker or
 * Redis (the fake writer of ingest_fixture.c): the same event dropped, any other byte
 * another event, rejected messages not remembered, and ingest.dedupe_window: the last
 * that many events are remembered, no more.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_fixture.h"

static void ingest_duplicate_dropped(void **state)
{
    struct fixture *f = *state;
    static const char payload[] = "{\"time\":\"" TIME "\",\"value\":412}";

    ingest_text(f, TOPIC, payload);
    ingest_text(f, TOPIC, payload);
    ingest_text(f, TOPIC, payload);
    assert_int_equal(rec.n_events, 1);
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(f->m.duplicates, 2);
    /* Any other byte, topic or subject makes another event. */
    ingest_text(f, TOPIC, "{\"time\":\"" TIME "\",\"value\":413}");
    ingest_text(f, "bonn/sensor/waterlevel/gauge-2", payload);
    ingest_text(f, TOPIC, "{\"time\":\"" TIME "\", \"value\":412}");
    assert_int_equal(rec.n_events, 4);
    assert_int_equal(f->m.duplicates, 2);
    assert_string_not_equal(rec.events[0].id, rec.events[1].id);
    assert_string_not_equal(rec.events[0].id, rec.events[2].id);
    assert_string_not_equal(rec.events[0].id, rec.events[3].id);
    assert_int_equal(rejected_total(&f->m), 0);
}

static void ingest_rejected_not_remembered(void **state)
{
    /* A rejected message leaves no id behind: each copy is dead-lettered. */
    struct fixture *f = *state;

    ingest_text(f, TOPIC, "{\"value\":1}");
    ingest_text(f, TOPIC, "{\"value\":1}");
    assert_int_equal(rec.n_deadletters, 2);
    assert_int_equal(f->m.rejected[REJECT_BAD_TIME], 2);
    assert_int_equal(f->m.duplicates, 0);
}

/* Ingests the event of value v: a new event is recorded, a duplicate is counted. */
static void ingest_value(struct fixture *f, int v)
{
    char payload[64];

    snprintf(payload, sizeof(payload), "{\"time\":\"" TIME "\",\"value\":%d}", v);
    rec_clear();
    ingest_text(f, TOPIC, payload);
}

static void ingest_duplicates_within_the_window_only(void **state)
{
    /* ingest.dedupe_window: 16 (the least): the last 16 events are known, no more. */
    struct fixture *f = *state;

    f->cfg.ingest.dedupe_window = 16;
    reinit(f);
    for (int v = 0; v < 16; v++) {
        ingest_value(f, v);
        assert_int_equal(rec.n_events, 1);
    }
    ingest_value(f, 15); /* the newest */
    assert_int_equal(rec.n_events, 0);
    ingest_value(f, 0); /* the 16th newest: still within the window */
    assert_int_equal(rec.n_events, 0);
    assert_int_equal(f->m.duplicates, 2);
    ingest_value(f, 16); /* pushes 0 out of the window */
    assert_int_equal(rec.n_events, 1);
    ingest_value(f, 0); /* beyond the window: an event again */
    assert_int_equal(rec.n_events, 1);
    ingest_value(f, 2); /* kept now: 2..16 and 0; 2 the oldest */
    assert_int_equal(rec.n_events, 0);
    ingest_value(f, 1); /* pushed out by 0 */
    assert_int_equal(rec.n_events, 1);
    assert_int_equal(f->m.duplicates, 3);
    rec_clear();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ingest_duplicate_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_rejected_not_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_duplicates_within_the_window_only, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("ingest_dedupe", tests, NULL, NULL);
}
