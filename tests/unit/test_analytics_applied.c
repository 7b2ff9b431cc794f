// SPDX-License-Identifier: MIT
/*
 * Unit tests of the analytics worker's records of counted entries (applied.c): ids,
 * streams, a batch recorded and looked up, the text stored in Redis read back to the
 * same records, and pruning by the groups' pending summaries.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "applied.h"

#define S1 "rheinhub:events:sensor.waterlevel"
#define S2 "rheinhub:events:citizen.report"

static void analytics_applied_ids(void **state)
{
    uint64_t ms, seq;

    assert_int_equal(applied_id_parse("1795672800123-0", &ms, &seq), 0);
    assert_int_equal(ms, 1795672800123ULL);
    assert_int_equal(seq, 0);
    assert_int_equal(applied_id_parse("5-18446744073709551615", &ms, &seq), 0);
    assert_int_equal(seq, UINT64_MAX);
    assert_int_equal(applied_id_parse("1-2 rest", &ms, &seq), 0);
    assert_int_equal(applied_id_parse("1-2\n", &ms, &seq), 0);
    assert_int_equal(applied_id_parse("", &ms, &seq), -EINVAL);
    assert_int_equal(applied_id_parse("12", &ms, &seq), -EINVAL);
    assert_int_equal(applied_id_parse("12-", &ms, &seq), -EINVAL);
    assert_int_equal(applied_id_parse("-1-2", &ms, &seq), -EINVAL);
    assert_int_equal(applied_id_parse("1-2x", &ms, &seq), -EINVAL);
}

static void analytics_applied_batch(void **state)
{
    struct applied ap;
    char *field, *text;
    int s1, s2;

    applied_init(&ap);
    s1 = applied_stream(&ap, S1, strlen(S1));
    s2 = applied_stream(&ap, S2 "junk", strlen(S2));
    assert_int_equal(s1, 0);
    assert_int_equal(s2, 1);
    assert_int_equal(applied_stream(&ap, S2, strlen(S2)), 1);
    assert_int_equal(applied_format(&ap, &field, &text), -ENOENT); /* nothing in hand */
    assert_int_equal(applied_add(&ap, 0, 20, 1), 0);
    assert_int_equal(applied_add(&ap, 1, 5, 0), 0);
    assert_int_equal(applied_add(&ap, 0, 10, 3), 0);
    assert_false(applied_contains(&ap, 0, 20, 1)); /* in hand, not stored yet */
    assert_int_equal(applied_format(&ap, &field, &text), 0);
    assert_string_equal(field, S1 " 20-1");
    assert_string_equal(text, S1 " 20-1\n" S2 " 5-0\n" S1 " 10-3\n");
    free(text);
    assert_int_equal(applied_commit(&ap, field), 0);
    assert_int_equal(ap.n_records, 1);
    assert_int_equal(ap.n_cur, 0);
    assert_true(applied_contains(&ap, 0, 20, 1));
    assert_true(applied_contains(&ap, 0, 10, 3));
    assert_true(applied_contains(&ap, 1, 5, 0));
    assert_false(applied_contains(&ap, 1, 20, 1)); /* another stream */
    assert_false(applied_contains(&ap, 0, 10, 4));
    assert_false(applied_contains(&ap, 0, 11, 3));
    /* a discarded batch leaves nothing */
    assert_int_equal(applied_add(&ap, 0, 30, 0), 0);
    applied_discard(&ap);
    assert_int_equal(applied_format(&ap, &field, &text), -ENOENT);
    assert_false(applied_contains(&ap, 0, 30, 0));
    applied_close(&ap);
}

/* The largest and smallest ids are written in full decimal, as printf would write them. */
static void analytics_applied_format_limits(void **state)
{
    struct applied ap;
    char *field, *text;

    (void)state;
    applied_init(&ap);
    applied_stream(&ap, S1, strlen(S1));
    assert_int_equal(applied_add(&ap, 0, UINT64_MAX, UINT64_MAX), 0);
    assert_int_equal(applied_add(&ap, 0, 0, 0), 0);
    assert_int_equal(applied_add(&ap, 0, 1000000, 10), 0);
    assert_int_equal(applied_format(&ap, &field, &text), 0);
    assert_string_equal(field, S1 " 18446744073709551615-18446744073709551615");
    assert_string_equal(text, S1 " 18446744073709551615-18446744073709551615\n" S1 " 0-0\n"
                              S1 " 1000000-10\n");
    free(text);
    assert_int_equal(applied_commit(&ap, field), 0);
    assert_true(applied_contains(&ap, 0, 0, 0));
    assert_true(applied_contains(&ap, 0, 1000000, 10));
    assert_true(applied_contains(&ap, 0, UINT64_MAX, UINT64_MAX));
    applied_close(&ap);
}

static void analytics_applied_load(void **state)
{
    struct applied ap, back;
    char *field, *text;

    applied_init(&ap);
    applied_init(&back);
    applied_stream(&ap, S1, strlen(S1));
    for (uint64_t i = 0; i < 300; i++)
        assert_int_equal(applied_add(&ap, 0, 1000 + i / 3, i % 3), 0);
    assert_int_equal(applied_format(&ap, &field, &text), 0);
    assert_int_equal(applied_load(&back, field, strlen(field), text, strlen(text)), 0);
    assert_int_equal(back.n_records, 1);
    assert_int_equal(back.records[0].n, 300);
    assert_string_equal(back.records[0].field, field);
    assert_string_equal(back.streams[0], S1);
    for (uint64_t i = 0; i < 300; i++)
        assert_true(applied_contains(&back, 0, 1000 + i / 3, i % 3));
    assert_false(applied_contains(&back, 0, 1100, 0));
    free(field);
    free(text);
    /* damaged text is refused and adds nothing */
    assert_int_equal(applied_load(&back, "f", 1, "", 0), -EINVAL);
    assert_int_equal(applied_load(&back, "f", 1, S1 " 1-2\nnonsense\n",
                                  strlen(S1 " 1-2\nnonsense\n")),
                     -EINVAL);
    assert_int_equal(applied_load(&back, "f", 1, S1 " x-2\n", strlen(S1) + 5), -EINVAL);
    assert_int_equal(back.n_records, 1);
    applied_close(&ap);
    applied_close(&back);
}

static void commit_one(struct applied *ap, uint32_t stream, uint64_t ms, uint64_t seq)
{
    char *field, *text;

    assert_int_equal(applied_add(ap, stream, ms, seq), 0);
    assert_int_equal(applied_format(ap, &field, &text), 0);
    free(text);
    assert_int_equal(applied_commit(ap, field), 0);
}

static void analytics_applied_prune(void **state)
{
    struct applied ap;
    struct applied_pending pending[2];

    applied_init(&ap);
    applied_stream(&ap, S1, strlen(S1));
    applied_stream(&ap, S2, strlen(S2));
    commit_one(&ap, 0, 100, 0); /* record 0 */
    commit_one(&ap, 0, 200, 0); /* record 1 */
    commit_one(&ap, 1, 150, 0); /* record 2 */
    assert_int_equal(applied_add(&ap, 0, 300, 0), 0); /* record 3: two streams */
    commit_one(&ap, 1, 300, 0);
    assert_int_equal(ap.records[3].n, 2);

    /* nothing known about the streams: everything stays */
    memset(pending, 0, sizeof(pending));
    for (size_t i = 0; i < ap.n_records; i++)
        assert_false(applied_record_done(&ap, i, pending));
    /* nothing pending anywhere: every record is done */
    pending[0] = (struct applied_pending){true, 0, 0, 0};
    pending[1] = (struct applied_pending){true, 0, 0, 0};
    for (size_t i = 0; i < ap.n_records; i++)
        assert_true(applied_record_done(&ap, i, pending));
    /* S1 has 200-0 as its oldest pending entry: 100-0 is done, 200-0 and 300-0 are not */
    pending[0] = (struct applied_pending){true, 3, 200, 0};
    assert_true(applied_record_done(&ap, 0, pending));
    assert_false(applied_record_done(&ap, 1, pending));
    assert_true(applied_record_done(&ap, 2, pending));
    assert_false(applied_record_done(&ap, 3, pending));
    /* the stream of a record unknown: it stays */
    pending[1].known = false;
    assert_false(applied_record_done(&ap, 2, pending));

    applied_drop(&ap, 0); /* the last record takes its place */
    assert_int_equal(ap.n_records, 3);
    assert_false(applied_contains(&ap, 0, 100, 0));
    assert_true(applied_contains(&ap, 0, 300, 0));
    assert_true(applied_contains(&ap, 1, 300, 0));
    assert_true(applied_contains(&ap, 0, 200, 0));
    applied_clear(&ap);
    assert_int_equal(ap.n_records, 0);
    assert_false(applied_contains(&ap, 0, 200, 0));
    applied_close(&ap);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(analytics_applied_ids),
        cmocka_unit_test(analytics_applied_batch),
        cmocka_unit_test(analytics_applied_format_limits),
        cmocka_unit_test(analytics_applied_load),
        cmocka_unit_test(analytics_applied_prune),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
