// SPDX-License-Identifier: MIT
/*
 * Unit tests of alerts packed at the size of their texts (alert_pack.c): every text at
 * its maximum and empty ones come back unchanged, and the JSON of the unpacked alert is
 * the JSON of the alert, byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "alert.h"
#include "alert_pack.h"

/* Fills dst (size bytes) with the UTF-8 text u repeated to size - 1 bytes at most. */
static void fill(char *dst, size_t size, const char *u)
{
    size_t n = strlen(u), at = 0;

    while (at + n <= size - 1) {
        memcpy(dst + at, u, n);
        at += n;
    }
    dst[at] = '\0';
}

static void expect_same(const struct alert *a, const struct alert *b)
{
    char *ja = alert_dumps(a, NULL), *jb = alert_dumps(b, NULL);

    assert_non_null(ja);
    assert_non_null(jb);
    assert_string_equal(ja, jb);
    free(ja);
    free(jb);
    assert_string_equal(a->id, b->id);
    assert_string_equal(a->rule, b->rule);
    assert_string_equal(a->municipality, b->municipality);
    assert_string_equal(a->type, b->type);
    assert_string_equal(a->subject, b->subject);
    assert_string_equal(a->message, b->message);
    assert_string_equal(a->event_id, b->event_id);
    assert_string_equal(a->event_time, b->event_time);
    assert_string_equal(a->acked_by, b->acked_by);
    assert_int_equal(a->severity, b->severity);
    assert_int_equal(a->state, b->state);
    assert_true(value_equal(&a->value, &b->value));
    assert_true(value_equal(&a->threshold, &b->threshold));
    assert_int_equal(a->raised_ns, b->raised_ns);
    assert_int_equal(a->updated_ns, b->updated_ns);
    assert_int_equal(a->cleared_ns, b->cleared_ns);
}

/* Every text at its maximum, the message and acked_by of 4-byte characters. */
static void alert_pack_texts_at_maximum(void **state)
{
    static struct alert a, back; /* about 6 KiB each */
    struct alert_pack *p;

    (void)state;
    memset(&a, 0, sizeof(a));
    fill(a.id, sizeof(a.id), "i");
    fill(a.rule, sizeof(a.rule), "r");
    fill(a.municipality, sizeof(a.municipality), "m");
    fill(a.type, sizeof(a.type), "t");
    fill(a.subject, sizeof(a.subject), "s");
    fill(a.message, sizeof(a.message), "\xf0\x9d\x84\x9e"); /* U+1D11E */
    fill(a.event_id, sizeof(a.event_id), "e");
    fill(a.event_time, sizeof(a.event_time), "9");
    fill(a.acked_by, sizeof(a.acked_by), "\xf0\x9d\x84\x9e");
    assert_int_equal(strlen(a.id), ALERT_ID_MAX - 1);
    assert_int_equal(strlen(a.subject), TOPIC_SUBJECT_MAX);
    assert_int_equal(strlen(a.message), TEMPLATE_MESSAGE_MAX - 1);
    assert_int_equal(strlen(a.event_id), EVENT_ID_MAX);
    assert_int_equal(strlen(a.acked_by), ALERT_BY_MAX - 1);
    a.severity = SEVERITY_CRITICAL;
    a.state = ALERT_ACKNOWLEDGED;
    value_set_str(&a.value, "fault", 5);
    value_set_real(&a.threshold, 0.9);
    a.raised_ns = 1795672800000000000LL;
    a.updated_ns = a.raised_ns + 1000000;
    assert_non_null(p = alert_pack_new(&a));
    assert_string_equal(p->message, a.message);
    assert_string_equal(p->acked_by, a.acked_by);
    assert_string_equal(p->ev.event_id, a.event_id);
    memset(&back, 0x55, sizeof(back)); /* unpack sets every field */
    alert_pack_unpack(p, &back);
    expect_same(&a, &back);
    alert_pack_free(p);
}

/* A usual alert: short texts, not acknowledged (null), cleared. */
static void alert_pack_usual(void **state)
{
    static struct alert a, back;
    struct alert_pack *p;

    (void)state;
    memset(&a, 0, sizeof(a));
    strcpy(a.rule, "rhine-flood");
    strcpy(a.municipality, "linz");
    strcpy(a.type, "sensor.waterlevel");
    strcpy(a.subject, "gauge-1234");
    strcpy(a.message, "gauge-1234: water level 712 cm \xe2\x89\xa5 650 cm");
    strcpy(a.event_id, "0c6a52a6-3c33-4f4a-9a4e-2b9d4f2f8e11");
    strcpy(a.event_time, "2026-11-26T06:00:00.412Z");
    a.severity = SEVERITY_WARNING;
    a.state = ALERT_CLEARED;
    value_set_int(&a.value, 619);
    value_set_int(&a.threshold, 650);
    a.raised_ns = 1795672800412000000LL;
    a.updated_ns = a.cleared_ns = a.raised_ns + 60000000000LL;
    alert_make_id(&a);
    assert_non_null(p = alert_pack_new(&a));
    assert_string_equal(p->acked_by, "");
    assert_null(p->ev.heap);
    memset(&back, 0x55, sizeof(back));
    alert_pack_unpack(p, &back);
    expect_same(&a, &back);
    alert_pack_free(p);
    alert_pack_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alert_pack_texts_at_maximum),
        cmocka_unit_test(alert_pack_usual),
    };

    return cmocka_run_group_tests_name("alerting_alert_pack", tests, NULL, NULL);
}
