// SPDX-License-Identifier: MIT
/*
 * Unit tests of the deterministic event id: the fixed vector, the documented hash
 * (XXH3-128 of the fields joined by NUL), and that each input changes it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "config.h"
#include "envelope.h"
#include "envelope_fixture.h"

/* The topic of the fixed id vector. */
static struct topic vector_topic(void)
{
    struct topic t;
    const char *why;

    assert_int_equal(topic_parse("bonn/sensor/waterlevel/gauge-1", &t, &why), 0);
    return t;
}

static const char vector_time[] = "2024-05-01T12:00:00Z";
static const char vector_payload[] = "{\"time\":\"2024-05-01T12:00:00Z\",\"level_cm\":412}";
/* The id of the vector; a change here means every stored id changes too. */
static const char vector_id[] = "5643a9d1b9a2f192ecd39dde338afadb";

static void envelope_id_fixed_vector(void **state)
{
    struct topic t = vector_topic();
    char id[EVENT_ID_HEX + 1];

    event_id_compute(id, &t, vector_time, vector_payload, strlen(vector_payload));
    assert_string_equal(id, vector_id);
}

static void envelope_id_is_documented_hash(void **state)
{
    /* XXH3-128 of the fields joined by NUL, high half first, lower-case hex. */
    static const char joined[] = "bonn\0sensor.waterlevel\0gauge-1\0"
                                 "2024-05-01T12:00:00Z\0"
                                 "{\"time\":\"2024-05-01T12:00:00Z\",\"level_cm\":412}";
    struct topic t = vector_topic();
    XXH128_hash_t h = XXH3_128bits(joined, sizeof(joined) - 1);
    char expected[EVENT_ID_HEX + 1], id[EVENT_ID_HEX + 1];

    snprintf(expected, sizeof(expected), "%016llx%016llx", (unsigned long long)h.high64,
             (unsigned long long)h.low64);
    event_id_compute(id, &t, vector_time, vector_payload, strlen(vector_payload));
    assert_string_equal(id, expected);
}

static void envelope_id_deterministic(void **state)
{
    struct topic t = vector_topic();
    char a[EVENT_ID_HEX + 1], b[EVENT_ID_HEX + 1];
    char payload[sizeof(vector_payload)];

    memset(a, 'x', sizeof(a));
    memset(b, 'y', sizeof(b));
    event_id_compute(a, &t, vector_time, vector_payload, strlen(vector_payload));
    /* The same bytes elsewhere in memory. */
    memcpy(payload, vector_payload, sizeof(payload));
    event_id_compute(b, &t, vector_time, payload, strlen(payload));
    assert_string_equal(a, b);
    assert_int_equal(strlen(a), EVENT_ID_HEX);
    assert_int_equal(strspn(a, "0123456789abcdef"), EVENT_ID_HEX);
}

static void expect_other_id(const char *other, const char *label)
{
    print_message("changed: %s\n", label);
    assert_string_not_equal(other, vector_id);
    assert_int_equal(strspn(other, "0123456789abcdef"), EVENT_ID_HEX);
}

static void envelope_id_changes_with_each_input(void **state)
{
    const char *why;
    struct topic t;
    char id[EVENT_ID_HEX + 1], payload[sizeof(vector_payload)];
    const size_t plen = strlen(vector_payload);

    assert_int_equal(topic_parse("beuel/sensor/waterlevel/gauge-1", &t, &why), 0);
    event_id_compute(id, &t, vector_time, vector_payload, plen);
    expect_other_id(id, "municipality");

    assert_int_equal(topic_parse("bonn/sensor/waterlevels/gauge-1", &t, &why), 0);
    event_id_compute(id, &t, vector_time, vector_payload, plen);
    expect_other_id(id, "type");

    assert_int_equal(topic_parse("bonn/service/waterlevel/gauge-1", &t, &why), 0);
    event_id_compute(id, &t, vector_time, vector_payload, plen);
    expect_other_id(id, "category");

    assert_int_equal(topic_parse("bonn/sensor/waterlevel/gauge-2", &t, &why), 0);
    event_id_compute(id, &t, vector_time, vector_payload, plen);
    expect_other_id(id, "subject");

    t = vector_topic();
    event_id_compute(id, &t, "2024-05-01T12:00:01Z", vector_payload, plen);
    expect_other_id(id, "time");

    event_id_compute(id, &t, vector_time, vector_payload, plen - 1);
    expect_other_id(id, "payload length");

    for (size_t i = 0; i < plen; i++) {
        memcpy(payload, vector_payload, sizeof(payload));
        payload[i] ^= 0x01;
        event_id_compute(id, &t, vector_time, payload, plen);
        expect_other_id(id, "payload byte");
    }
}

static void envelope_id_fields_are_separated(void **state)
{
    /* Moving a character across a field boundary changes the id. */
    const char *why;
    struct topic t1, t2;
    char a[EVENT_ID_HEX + 1], b[EVENT_ID_HEX + 1];

    assert_int_equal(topic_parse("bonn/sensor/waterlevel/ab", &t1, &why), 0);
    assert_int_equal(topic_parse("bonn/sensor/waterlevel/a", &t2, &why), 0);
    event_id_compute(a, &t1, "c", "{}", 2);
    event_id_compute(b, &t2, "bc", "{}", 2);
    assert_string_not_equal(a, b);
    event_id_compute(a, &t1, "c", "d", 1);
    event_id_compute(b, &t1, "cd", "", 0);
    assert_string_not_equal(a, b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(envelope_id_fixed_vector),
        cmocka_unit_test(envelope_id_is_documented_hash),
        cmocka_unit_test(envelope_id_deterministic),
        cmocka_unit_test(envelope_id_changes_with_each_input),
        cmocka_unit_test(envelope_id_fields_are_separated),
    };

    return cmocka_run_group_tests_name("event_id", tests, NULL, NULL);
}
