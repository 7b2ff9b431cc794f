// SPDX-License-Identifier: MIT
/*
 * Unit tests of structured CloudEvents on the ingest path, without a broker or
 * Redis (the fake writer of ingest_fixture.c): unwrapping, the time taken from the
 * data, every attribute that is refused or that contradicts the topic, the id's
 * length, and a re-sent CloudEvent dropped by its id.
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest_fixture.h"

static void ingest_cloudevent_good(void **state)
{
    struct fixture *f = *state;
    static const char payload[] =
        "{\"specversion\":\"1.0\",\"id\":\"ev-0001\",\"source\":\"urn:partner:koeln\","
        "\"type\":\"de.koeln.waterlevel\",\"time\":\"" TIME "\","
        "\"datacontenttype\":\"application/json\","
        "\"data\":{\"time\":\"2024-05-01T10:00:00.123Z\",\"value\":7,\"unit\":\"cm\"}}";

    ingest_text(f, TOPIC, payload);
    /* id, source and time are the publisher's (data's time is the same instant,
     * written in UTC); data is the event. */
    expect_event(f, TOPIC,
                 &(struct expected_event){
                     .key = "rheinhub:events:sensor.waterlevel",
                     .id = "ev-0001",
                     .source = "urn:partner:koeln",
                     .type = "sensor.waterlevel",
                     .subject = "gauge-1",
                     .time = TIME,
                     .municipality = "bonn",
                     .category = "sensor",
                     .data = "{\"time\":\"2024-05-01T10:00:00.123Z\",\"value\":7,\"unit\":\"cm\"}",
                 },
                 0, UINT64_MAX);
}

static void ingest_cloudevent_time_in_data(void **state)
{
    struct fixture *f = *state;
    static const char payload[] =
        "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"ev-2\",\"source\":\"/x\","
        "\"data\":{\"time\":\"" TIME "\",\"value\":1}}";

    ingest_text(f, TOPIC, payload);
    expect_event(f, TOPIC,
                 &(struct expected_event){
                     .key = "rheinhub:events:sensor.waterlevel",
                     .id = "ev-2",
                     .source = "/x",
                     .type = "sensor.waterlevel",
                     .subject = "gauge-1",
                     .time = TIME,
                     .municipality = "bonn",
                     .category = "sensor",
                     .data = "{\"time\":\"" TIME "\",\"value\":1}",
                 },
                 0, UINT64_MAX);
}

/* ---- ingest_message: rejected messages ---------------------------------------------- */

static void ingest_cloudevent_bad(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *payload, *why;
    } cases[] = {
        {"{\"specversion\":\"0.3\",\"id\":\"a\",\"source\":\"/s\",\"time\":\"" TIME
         "\",\"data\":{}}",
         "specversion must be \"1.0\""},
        {"{\"specversion\":1.0,\"id\":\"a\",\"source\":\"/s\",\"time\":\"" TIME "\",\"data\":{}}",
         "specversion must be \"1.0\""},
        {"{\"specversion\":null,\"time\":\"" TIME "\"}", "specversion must be \"1.0\""},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"source\":\"/"
         "s\",\"time\":\"" TIME "\",\"data\":{}}",
         "id must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"\",\"source\":\"/"
         "s\",\"time\":\"" TIME "\",\"data\":{}}",
         "id must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":7,\"source\":\"/"
         "s\",\"time\":\"" TIME "\",\"data\":{}}",
         "id must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"time\":\"" TIME
         "\",\"data\":{}}",
         "source must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"\","
         "\"time\":\"" TIME "\",\"data\":{}}",
         "source must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"/"
         "s\",\"time\":\"" TIME "\"}",
         "data must be a JSON object"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"/"
         "s\",\"time\":\"" TIME "\",\"data\":[1]}",
         "data must be a JSON object"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"/"
         "s\",\"time\":\"" TIME "\",\"data\":\"{}\"}",
         "data must be a JSON object"},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_rejected(f, TOPIC, cases[i].payload, REJECT_BAD_CLOUDEVENT, cases[i].why);
}

/* The start of a CloudEvent on TOPIC (bonn/sensor/waterlevel/gauge-1), up to "type". */
#define CE_HEAD "{\"specversion\":\"1.0\",\"id\":\"a\",\"source\":\"/s\","
#define CE_DATA ",\"data\":{\"time\":\"" TIME "\",\"value\":7,\"unit\":\"cm\"}}"

/* Attributes that contradict the topic or the data: refused with their own reasons. */
static void ingest_cloudevent_contradictions(void **state)
{
    struct fixture *f = *state;
    static const struct {
        const char *payload, *why;
        enum reject_reason reason;
    } cases[] = {
        /* type: another type, another category, the category alone, nothing. */
        {CE_HEAD "\"type\":\"citizen.report\"" CE_DATA,
         "the topic says type sensor.waterlevel, the CloudEvent says type \"citizen.report\"",
         REJECT_TYPE_MISMATCH},
        {CE_HEAD "\"type\":\"service.waterlevel\"" CE_DATA,
         "the topic says type sensor.waterlevel, the CloudEvent says type \"service.waterlevel\"",
         REJECT_TYPE_MISMATCH},
        {CE_HEAD "\"type\":\"de.bonn.sensor.parking\"" CE_DATA,
         "the topic says type sensor.waterlevel, the CloudEvent says type "
         "\"de.bonn.sensor.parking\"",
         REJECT_TYPE_MISMATCH},
        {CE_HEAD "\"type\":\"sensor.\"" CE_DATA,
         "the topic says type sensor.waterlevel, the CloudEvent says type \"sensor.\"",
         REJECT_TYPE_MISMATCH},
        {CE_HEAD "\"subject\":\"x\"" CE_DATA,
         "type must be a non-empty string of at most 255 bytes", REJECT_BAD_CLOUDEVENT},
        {CE_HEAD "\"type\":7" CE_DATA, "type must be a non-empty string of at most 255 bytes",
         REJECT_BAD_CLOUDEVENT},
        /* dataschema naming another of the catalog's schemas. */
        {CE_HEAD "\"type\":\"sensor.waterlevel\",\"dataschema\":"
                 "\"https://schemas.rheinhub.linz-am-rhein.de/citizen/report.schema.json\"" CE_DATA,
         "the topic says type sensor.waterlevel, the CloudEvent's dataschema is "
         "\"https://schemas.rheinhub.linz-am-rhein.de/citizen/report.schema.json\"",
         REJECT_TYPE_MISMATCH},
        {CE_HEAD "\"type\":\"sensor.waterlevel\",\"dataschema\":7" CE_DATA,
         "dataschema must be a string (a URI)", REJECT_BAD_CLOUDEVENT},
        /* subject: another device, a different case, not a string. */
        {CE_HEAD "\"type\":\"sensor.waterlevel\",\"subject\":\"gauge-2\"" CE_DATA,
         "the topic says subject gauge-1, the CloudEvent says subject \"gauge-2\"",
         REJECT_SUBJECT_MISMATCH},
        {CE_HEAD "\"type\":\"sensor.waterlevel\",\"subject\":\"Gauge-1\"" CE_DATA,
         "the topic says subject gauge-1, the CloudEvent says subject \"Gauge-1\"",
         REJECT_SUBJECT_MISMATCH},
        {CE_HEAD "\"type\":\"sensor.waterlevel\",\"subject\":1" CE_DATA,
         "subject must be a non-empty string", REJECT_BAD_CLOUDEVENT},
        /* time: another instant than data's (by an hour, by a nanosecond). */
        {CE_HEAD "\"type\":\"sensor.waterlevel\",\"time\":\"2024-05-01T12:00:00.123Z\"" CE_DATA,
         "the CloudEvent says time 2024-05-01T12:00:00.123Z, its data says time " TIME
         ": not the same instant",
         REJECT_TIME_MISMATCH},
        {CE_HEAD
         "\"type\":\"sensor.waterlevel\",\"time\":\"2024-05-01T10:00:00.123000001Z\"" CE_DATA,
         "the CloudEvent says time 2024-05-01T10:00:00.123000001Z, its data says time " TIME
         ": not the same instant",
         REJECT_TIME_MISMATCH},
        /* datacontenttype: not JSON, while data is a JSON object. */
        {CE_HEAD "\"type\":\"sensor.waterlevel\",\"datacontenttype\":\"text/plain\"" CE_DATA,
         "datacontenttype text/plain is not JSON; data is a JSON object, so it must be "
         "application/json or a +json type",
         REJECT_BAD_CLOUDEVENT},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_rejected(f, TOPIC, cases[i].payload, cases[i].reason, cases[i].why);
}

/* Attributes that say the same as the topic and the data, in other words: accepted. */
static void ingest_cloudevent_attributes_that_agree(void **state)
{
    struct fixture *f = *state;
    static const char *const cases[] = {
        CE_HEAD "\"type\":\"sensor.waterlevel\"" CE_DATA,
        CE_HEAD "\"type\":\"waterlevel\"" CE_DATA,
        CE_HEAD "\"type\":\"de.bonn.waterlevel\"" CE_DATA,
        CE_HEAD "\"type\":\"de.bonn.sensor.waterlevel\"" CE_DATA,
        CE_HEAD "\"type\":\"sensor.waterlevel\",\"subject\":\"gauge-1\"" CE_DATA,
        CE_HEAD "\"type\":\"sensor.waterlevel\",\"time\":\"2024-05-01T10:00:00.123Z\"" CE_DATA,
        CE_HEAD
        "\"type\":\"sensor.waterlevel\",\"dataschema\":"
        "\"https://schemas.rheinhub.linz-am-rhein.de/sensor/waterlevel.schema.json#\"" CE_DATA,
        CE_HEAD
        "\"type\":\"sensor.waterlevel\",\"dataschema\":\"https://bonn.example/pegel.json\"" CE_DATA,
        CE_HEAD "\"type\":\"sensor.waterlevel\","
                "\"datacontenttype\":\"application/cloudevents+json; charset=utf-8\"" CE_DATA,
        CE_HEAD "\"type\":\"sensor.waterlevel\",\"datacontenttype\":\"Application/JSON\"" CE_DATA,
        CE_HEAD "\"type\":\"sensor.waterlevel\",\"x-extension\":\"ignored\"" CE_DATA,
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char payload[1024];

        /* A new id each, so that none is a duplicate of the one before. */
        snprintf(payload, sizeof(payload), "%s", cases[i]);
        payload[strlen("{\"specversion\":\"1.0\",\"id\":\"")] = (char)('A' + i);
        rec_clear();
        ingest_text(f, TOPIC, payload);
        if (rec.n_deadletters > 0)
            fail_msg("%s: refused: %s: %s", payload, reject_reason_name(rec.deadletters[0].reason),
                     rec.deadletters[0].detail);
        assert_int_equal(rec.n_events, 1);
    }
    rec_clear();
}

static void ingest_cloudevent_id_length(void **state)
{
    struct fixture *f = *state;
    char payload[512], id[257];
    int n;

    /* 255 bytes of id are taken, 256 are not. */
    memset(id, 'i', 255);
    id[255] = '\0';
    n = snprintf(payload, sizeof(payload),
                 "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"%s\",\"source\":"
                 "\"/s\",\"time\":\"" TIME "\",\"data\":{}}",
                 id);
    assert_true(n < (int)sizeof(payload));
    ingest_text(f, TOPIC, payload);
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(rec.n_events, 1);
    assert_string_equal(rec.events[0].id, id);
    strcat(id, "i");
    snprintf(payload, sizeof(payload),
             "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"%s\",\"source\":\"/"
             "s\",\"time\":\"" TIME "\",\"data\":{}}",
             id);
    expect_rejected(f, TOPIC, payload, REJECT_BAD_CLOUDEVENT,
                    "id must be a non-empty string of at most 255 bytes");
}

static void ingest_cloudevent_bad_time(void **state)
{
    struct fixture *f = *state;

    /* A time at the top level is the one that counts, even when data has one. */
    expect_rejected(f, TOPIC,
                    "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\","
                    "\"source\":\"/s\",\"time\":5,"
                    "\"data\":{\"time\":\"" TIME "\"}}",
                    REJECT_BAD_TIME, WHY_TIME);
    expect_rejected(f, TOPIC,
                    "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\","
                    "\"source\":\"/s\",\"data\":{}}",
                    REJECT_BAD_TIME, WHY_TIME);
}

/* Whether the envelope of recorded event i has the msgpack bytes of source: key, str. */
static bool event_has_source(int i, const char *source)
{
    char packed[64];
    int n = snprintf(packed, sizeof(packed), "\xa6source%c%s", 0xa0 | (int)strlen(source), source);

    return memmem(rec.events[i].env, rec.events[i].env_len, packed, (size_t)n) != NULL;
}

static void ingest_duplicate_cloudevent_by_source_and_id(void **state)
{
    struct fixture *f = *state;

    /* A CloudEvent is the same event when its source and id are, whatever else differs;
     * another source's event with that id is an event of its own (CloudEvents make the
     * pair unique: two publishers may both number their events 1, 2, 3). */
    ingest_text(f, TOPIC,
                "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"ev-9\","
                "\"source\":\"/a\",\"time\":\"" TIME "\",\"data\":{\"v\":1}}");
    ingest_text(f, TOPIC,
                "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"ev-9\","
                "\"source\":\"/a\",\"time\":\"" TIME "\",\"data\":{\"v\":2}}");
    ingest_text(f, TOPIC,
                "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"ev-9\","
                "\"source\":\"/b\",\"time\":\"" TIME "\",\"data\":{\"v\":3}}");
    assert_int_equal(rec.n_events, 2);
    assert_string_equal(rec.events[0].id, "ev-9");
    assert_string_equal(rec.events[1].id, "ev-9");
    assert_true(event_has_source(0, "/a"));
    assert_true(event_has_source(1, "/b"));
    assert_int_equal(f->m.duplicates, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(ingest_cloudevent_good, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_time_in_data, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_contradictions, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_attributes_that_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_id_length, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_bad_time, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_duplicate_cloudevent_by_source_and_id, setup,
                                        teardown),
    };
    return cmocka_run_group_tests_name("ingest_cloudevent", tests, NULL, NULL);
}
