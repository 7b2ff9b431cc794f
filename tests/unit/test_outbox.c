// SPDX-License-Identifier: MIT
/*
 * Unit tests of the sources' outbox (sources/common/outbox.c): the copies it keeps,
 * the states an entry passes through (sent, refused, sent again, taken), the order of
 * the ring across wrap-around and growth, and its bound of OUTBOX_MAX entries. What
 * the publisher does with it (rounds of re-sends, paused input) is test_publisher.c.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "outbox.h"

/* Adds "t/<n>" with payload "p<n>" and checks its position. */
static void add_numbered(struct outbox *o, unsigned n, size_t want_pos)
{
    char topic[32], payload[32];
    int len;

    snprintf(topic, sizeof(topic), "t/%u", n);
    len = snprintf(payload, sizeof(payload), "p%u", n);
    assert_int_equal(outbox_add(o, topic, payload, (size_t)len), (long)want_pos);
}

/* The entry at position i holds "t/<n>" and "p<n>". */
static void assert_numbered(struct outbox *o, size_t i, unsigned n)
{
    struct outbox_entry *e = outbox_at(o, i);
    char topic[32], payload[32];
    int len;

    snprintf(topic, sizeof(topic), "t/%u", n);
    len = snprintf(payload, sizeof(payload), "p%u", n);
    assert_non_null(e->topic);
    assert_string_equal(e->topic, topic);
    assert_int_equal(e->len, (size_t)len);
    assert_memory_equal(e->payload, payload, (size_t)len);
}

static void outbox_add_keeps_a_copy(void **state)
{
    struct outbox o;
    char topic[] = "linz/sensor.waterlevel", payload[] = {'{', '\0', '}', 'x'};
    struct outbox_entry *e;

    outbox_init(&o);
    assert_int_equal(outbox_add(&o, topic, payload, 3), 0); /* binary: an inner NUL */
    memset(topic, 'X', sizeof(topic) - 1);
    memset(payload, 'Y', sizeof(payload));
    e = outbox_at(&o, 0);
    assert_string_equal(e->topic, "linz/sensor.waterlevel");
    assert_int_equal(e->len, 3);
    assert_memory_equal(e->payload, "{\0}", 3);
    assert_int_equal(e->payload[3], '\0'); /* terminated after len */
    assert_int_equal(e->state, OUTBOX_SENT);
    assert_int_equal(e->mid, 0);
    assert_false(e->was_refused);
    assert_int_equal(outbox_add(&o, "t/empty", "", 0), 1);
    assert_int_equal(outbox_at(&o, 1)->len, 0);
    assert_int_equal(o.count, 2);
    assert_int_equal(o.refused, 0);
    outbox_close(&o);
    assert_int_equal(o.count, 0);
    assert_null(o.slots);
}

/* Taken entries leave only from the oldest end: one taken behind an older one waits. */
static void outbox_take_leaves_in_order(void **state)
{
    struct outbox o;

    outbox_init(&o);
    for (unsigned n = 0; n < 4; n++)
        add_numbered(&o, n, n);
    outbox_take(&o, 2);
    assert_int_equal(o.count, 4);
    assert_int_equal(outbox_at(&o, 2)->state, OUTBOX_DONE);
    assert_null(outbox_at(&o, 2)->topic); /* its copy is freed at once */
    outbox_take(&o, 1);
    assert_int_equal(o.count, 4);
    outbox_take(&o, 0); /* the oldest: it and the two done behind it leave */
    assert_int_equal(o.count, 1);
    assert_numbered(&o, 0, 3);
    outbox_take(&o, 0);
    assert_int_equal(o.count, 0);
    add_numbered(&o, 4, 0);
    assert_numbered(&o, 0, 4);
    outbox_close(&o);
}

static void outbox_refused_counted_once(void **state)
{
    struct outbox o;
    struct outbox_entry *e;

    outbox_init(&o);
    add_numbered(&o, 0, 0);
    add_numbered(&o, 1, 1);
    outbox_at(&o, 0)->mid = 7;
    outbox_refuse(&o, 0);
    e = outbox_at(&o, 0);
    assert_int_equal(e->state, OUTBOX_REFUSED);
    assert_true(e->was_refused);
    assert_int_equal(e->mid, 0);
    assert_int_equal(o.refused, 1);
    outbox_refuse(&o, 0); /* a second refusal of the same entry is not a second entry */
    assert_int_equal(o.refused, 1);
    outbox_resent(&o, 0, 9);
    assert_int_equal(e->state, OUTBOX_SENT);
    assert_int_equal(e->mid, 9);
    assert_true(e->was_refused); /* stays: the publisher counts it pending until taken */
    assert_int_equal(o.refused, 0);
    outbox_resent(&o, 0, 10); /* sent again while sent: refused stays 0 */
    assert_int_equal(o.refused, 0);
    outbox_refuse(&o, 0);
    outbox_refuse(&o, 1);
    assert_int_equal(o.refused, 2);
    outbox_take(&o, 1); /* taken while refused */
    assert_int_equal(o.refused, 1);
    assert_int_equal(o.count, 2);
    assert_numbered(&o, 0, 0); /* never dropped, however often refused */
    outbox_close(&o);
}

static void outbox_find_sent_only(void **state)
{
    struct outbox o;

    outbox_init(&o);
    assert_int_equal(outbox_find_sent(&o, 1), -1); /* empty, nothing allocated */
    for (unsigned n = 0; n < 3; n++) {
        add_numbered(&o, n, n);
        outbox_at(&o, n)->mid = (int)n + 1;
    }
    assert_int_equal(outbox_find_sent(&o, 1), 0);
    assert_int_equal(outbox_find_sent(&o, 3), 2);
    assert_int_equal(outbox_find_sent(&o, 4), -1);
    outbox_refuse(&o, 1);
    assert_int_equal(outbox_find_sent(&o, 2), -1); /* refused: its PUBACK came */
    assert_int_equal(outbox_find_sent(&o, 0), -1); /* the refused one's mid is 0 */
    outbox_resent(&o, 1, 4);
    assert_int_equal(outbox_find_sent(&o, 4), 1);
    assert_int_equal(outbox_find_sent(&o, 2), -1); /* the old id is not it any more */
    outbox_take(&o, 2);
    assert_int_equal(outbox_find_sent(&o, 3), -1); /* done entries are not sent ones */
    outbox_take(&o, 0);
    assert_int_equal(outbox_find_sent(&o, 4), 0); /* positions moved with the oldest */
    outbox_close(&o);
}

static void outbox_drop_newest_after_failed_publish(void **state)
{
    struct outbox o;

    outbox_init(&o);
    add_numbered(&o, 0, 0);
    add_numbered(&o, 1, 1);
    outbox_drop_newest(&o);
    assert_int_equal(o.count, 1);
    assert_numbered(&o, 0, 0);
    add_numbered(&o, 2, 1); /* the dropped one's place is used again */
    assert_numbered(&o, 1, 2);
    outbox_refuse(&o, 1);
    outbox_drop_newest(&o);
    assert_int_equal(o.refused, 0);
    outbox_drop_newest(&o);
    assert_int_equal(o.count, 0);
    outbox_close(&o);
}

/* The ring wraps and grows past its first 64 slots with the order kept. */
static void outbox_wraps_and_grows_in_order(void **state)
{
    struct outbox o;
    unsigned next = 0, oldest = 0;

    outbox_init(&o);
    for (int round = 0; round < 5; round++) { /* head moves round the 64 slots */
        for (int k = 0; k < 20; k++)
            add_numbered(&o, next++, o.count);
        for (int k = 0; k < 15; k++, oldest++)
            outbox_take(&o, 0);
    }
    assert_int_equal(o.cap, 64);
    assert_int_not_equal(o.head, 0);
    while (o.count < 300) /* grows from a wrapped ring: 64, 128, 256, 512 */
        add_numbered(&o, next++, o.count);
    assert_int_equal(o.cap, 512);
    for (size_t i = 0; i < o.count; i++)
        assert_numbered(&o, i, oldest + (unsigned)i);
    outbox_close(&o);
}

/*
 * At OUTBOX_MAX entries outbox_add refuses with -ENOBUFS and changes nothing; entries
 * taken behind a held older one still take their place until the older one goes.
 */
static void outbox_bound_refuses_and_keeps(void **state)
{
    struct outbox o;

    outbox_init(&o);
    for (unsigned n = 0; n < OUTBOX_MAX; n++)
        add_numbered(&o, n, n);
    assert_int_equal(o.count, OUTBOX_MAX);
    assert_int_equal(outbox_add(&o, "t/over", "over", 4), -ENOBUFS);
    assert_int_equal(o.count, OUTBOX_MAX);
    assert_numbered(&o, 0, 0);
    assert_numbered(&o, OUTBOX_MAX - 1, OUTBOX_MAX - 1);
    for (size_t i = 1; i < OUTBOX_MAX; i++)
        outbox_take(&o, i);
    assert_int_equal(outbox_add(&o, "t/over", "over", 4), -ENOBUFS);
    outbox_take(&o, 0);
    assert_int_equal(o.count, 0);
    add_numbered(&o, 0, 0);
    outbox_close(&o);
}

/* Closing frees what every state holds (valgrind and AddressSanitizer check). */
static void outbox_close_frees_every_state(void **state)
{
    struct outbox o;

    outbox_close(&(struct outbox){0}); /* a zeroed one */
    outbox_init(&o);
    outbox_close(&o);
    for (unsigned n = 0; n < 100; n++)
        add_numbered(&o, n, n);
    outbox_refuse(&o, 3);
    outbox_refuse(&o, 50);
    outbox_resent(&o, 50, 1);
    outbox_take(&o, 10);
    outbox_take(&o, 99);
    outbox_close(&o);
    assert_int_equal(o.count, 0);
    outbox_close(&o); /* twice */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(outbox_add_keeps_a_copy),
        cmocka_unit_test(outbox_take_leaves_in_order),
        cmocka_unit_test(outbox_refused_counted_once),
        cmocka_unit_test(outbox_find_sent_only),
        cmocka_unit_test(outbox_drop_newest_after_failed_publish),
        cmocka_unit_test(outbox_wraps_and_grows_in_order),
        cmocka_unit_test(outbox_bound_refuses_and_keeps),
        cmocka_unit_test(outbox_close_frees_every_state),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
