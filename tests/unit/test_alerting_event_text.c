// SPDX-License-Identifier: MIT
/*
 * Unit tests of the texts of a track's last event (event_text.c): inline when they
 * fit, in a heap buffer at their maximum, cut as the fixed fields before them were,
 * and no allocation when a track sees no longer event than before.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "event_text.h"

/* A text of n copies of c (n < size). */
static char *fill(char *buf, size_t size, char c, size_t n)
{
    assert_true(n < size);
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

/* Whether p points into the size bytes at base. */
static bool in(const char *p, const char *base, size_t size)
{
    return p >= base && p < base + size;
}

static void event_text_empty(void **state)
{
    struct event_text x;

    (void)state;
    event_text_init(&x);
    assert_string_equal(x.event_id, "");
    assert_string_equal(x.event_time, "");
    assert_string_equal(x.type, "");
    assert_null(x.heap);
    event_text_close(&x);
    event_text_close(NULL);
}

/* A UUID, an RFC 3339 time with an offset and microseconds, a long type: inline. */
static void event_text_usual_inline(void **state)
{
    struct event_text x;

    (void)state;
    event_text_init(&x);
    assert_int_equal(event_text_set(&x, "0c6a52a6-3c33-4f4a-9a4e-2b9d4f2f8e11",
                                    "2026-11-26T06:00:00.123456+01:00",
                                    "service.streetlight-control"),
                     0);
    assert_string_equal(x.event_id, "0c6a52a6-3c33-4f4a-9a4e-2b9d4f2f8e11");
    assert_string_equal(x.event_time, "2026-11-26T06:00:00.123456+01:00");
    assert_string_equal(x.type, "service.streetlight-control");
    assert_null(x.heap);
    assert_true(in(x.event_id, x.inline_buf, sizeof(x.inline_buf)));
    assert_true(in(x.type, x.inline_buf, sizeof(x.inline_buf)));
    event_text_close(&x);
}

/* Each text at its maximum: kept whole in the heap buffer; one byte more is cut. */
static void event_text_at_maximum(void **state)
{
    char id[EVENT_ID_MAX + 2], time[EVENT_TIME_MAX + 2], type[TOPIC_EVENT_TYPE_MAX + 2];
    struct event_text x;
    const char *heap;

    (void)state;
    event_text_init(&x);
    assert_int_equal(event_text_set(&x, fill(id, sizeof(id), 'i', EVENT_ID_MAX),
                                    fill(time, sizeof(time), 't', EVENT_TIME_MAX),
                                    fill(type, sizeof(type), 'y', TOPIC_EVENT_TYPE_MAX)),
                     0);
    assert_non_null(heap = x.heap);
    assert_string_equal(x.event_id, id);
    assert_string_equal(x.event_time, time);
    assert_string_equal(x.type, type);
    /* Back to short ones: inline again, the heap buffer kept for the next long ones. */
    assert_int_equal(event_text_set(&x, "a", "b", "c"), 0);
    assert_string_equal(x.event_id, "a");
    assert_string_equal(x.event_time, "b");
    assert_string_equal(x.type, "c");
    assert_true(in(x.event_id, x.inline_buf, sizeof(x.inline_buf)));
    /* One byte over each maximum: cut to it, in the same buffer (no new allocation). */
    assert_int_equal(event_text_set(&x, fill(id, sizeof(id), 'I', EVENT_ID_MAX + 1),
                                    fill(time, sizeof(time), 'T', EVENT_TIME_MAX + 1),
                                    fill(type, sizeof(type), 'Y', TOPIC_EVENT_TYPE_MAX + 1)),
                     0);
    assert_ptr_equal(x.heap, heap);
    assert_int_equal(strlen(x.event_id), EVENT_ID_MAX);
    assert_int_equal(strlen(x.event_time), EVENT_TIME_MAX);
    assert_int_equal(strlen(x.type), TOPIC_EVENT_TYPE_MAX);
    assert_memory_equal(x.event_id, id, EVENT_ID_MAX);
    assert_memory_equal(x.event_time, time, EVENT_TIME_MAX);
    assert_memory_equal(x.type, type, TOPIC_EVENT_TYPE_MAX);
    event_text_close(&x);
    assert_null(x.heap);
    assert_string_equal(x.event_id, "");
}

/* Exactly the inline buffer, and one byte more. */
static void event_text_inline_edge(void **state)
{
    char id[EVENT_TEXT_INLINE];
    struct event_text x;

    (void)state;
    event_text_init(&x);
    fill(id, sizeof(id), 'e', EVENT_TEXT_INLINE - 5); /* and "t", "y", three NULs */
    assert_int_equal(event_text_set(&x, id, "t", "y"), 0);
    assert_null(x.heap);
    assert_string_equal(x.event_id, id);
    assert_string_equal(x.type, "y");
    assert_int_equal(event_text_set(&x, id, "tt", "y"), 0);
    assert_non_null(x.heap);
    assert_string_equal(x.event_id, id);
    assert_string_equal(x.event_time, "tt");
    assert_string_equal(x.type, "y");
    event_text_close(&x);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(event_text_empty),
        cmocka_unit_test(event_text_usual_inline),
        cmocka_unit_test(event_text_at_maximum),
        cmocka_unit_test(event_text_inline_edge),
    };

    return cmocka_run_group_tests_name("alerting_event_text", tests, NULL, NULL);
}
