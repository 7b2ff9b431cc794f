// SPDX-License-Identifier: MIT
/*
 * Unit tests of the ingest path, without a broker or Redis (the fake writer of
 * ingest_fixture.c): ingest_json_depth, the accepted event's stream key and envelope,
 * every reject reason of a plain JSON event and the schema check. CloudEvents are in
 * test_ingest_cloudevent.c, dropping of recent duplicates in test_ingest_dedupe.c.
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

/* ---- ingest_json_depth ------------------------------------------------------------ */

static int depth_of(const char *text, int limit)
{
    return ingest_json_depth(text, strlen(text), limit);
}

static void ingest_json_depth_counts_nesting(void **state)
{
    assert_int_equal(depth_of("", 32), 0);
    assert_int_equal(depth_of("42", 32), 0);
    assert_int_equal(depth_of("{}", 32), 1);
    assert_int_equal(depth_of("[]", 32), 1);
    assert_int_equal(depth_of("{\"a\":[1,{\"b\":[[]]}]}", 32), 5);
    /* Siblings do not add up: the deepest branch counts. */
    assert_int_equal(depth_of("[[],[],[[]],[]]", 32), 3);
    assert_int_equal(depth_of("{\"a\":{},\"b\":{},\"c\":{}}", 32), 2);
}

static void ingest_json_depth_ignores_strings(void **state)
{
    assert_int_equal(depth_of("{\"a\":\"{{{[[[\"}", 32), 1);
    assert_int_equal(depth_of("{\"[[[\":\"]]]}}}\"}", 32), 1);
    /* An escaped quote does not end the string. */
    assert_int_equal(depth_of("{\"a\":\"\\\"{{{[[[\"}", 32), 1);
    assert_int_equal(depth_of("{\"a\":\"x\\\"\\\"[\"}", 32), 1);
    /* An escaped backslash does: the brackets after it count. */
    assert_int_equal(depth_of("[\"\\\\\",[[]]]", 32), 3);
    assert_int_equal(depth_of("[\"\\\\\\\"[[\",[[]]]", 32), 3);
    /* Other escapes. */
    assert_int_equal(depth_of("[\"\\u005b\\n[\",{}]", 32), 2);
}

static void ingest_json_depth_at_and_over_limit(void **state)
{
    assert_int_equal(depth_of("[[[]]]", 3), 3);
    assert_int_equal(depth_of("[[[[]]]]", 3), 4);
    assert_int_equal(depth_of("[[[[[[[[[[]]]]]]]]]]", 3), 4);
    assert_int_equal(depth_of("[", 0), 1);
}

static void ingest_json_depth_stops_early(void **state)
{
    /*
     * limit + 1 opening brackets, then a length that claims more: a scan that went on
     * past the limit would read beyond the buffer, which AddressSanitizer reports.
     */
    enum { LIMIT = 32 };
    char *text = malloc(LIMIT + 1);

    assert_non_null(text);
    memset(text, '[', LIMIT + 1);
    assert_int_equal(ingest_json_depth(text, (size_t)LIMIT + 1 + 4096, LIMIT), LIMIT + 1);
    free(text);
}

static void ingest_json_depth_unterminated(void **state)
{
    /* Cut in a string or in an escape: no read past the length. */
    char *text = malloc(3);

    assert_non_null(text);
    memcpy(text, "[\"\\", 3);
    assert_int_equal(ingest_json_depth(text, 3, 32), 1);
    assert_int_equal(ingest_json_depth(text, 2, 32), 1);
    free(text);
}

/* ---- ingest_message: accepted events ------------------------------------------------ */

static void ingest_good_event(void **state)
{
    struct fixture *f = *state;
    static const char payload[] =
        "{\"time\":\"" TIME "\",\"value\":412,\"unit\":\"cm\",\"trend\":-1,\"rate\":-0.25,"
        "\"ok\":true,\"note\":null,\"where\":{\"river\":\"Rhein\",\"km\":[639.2,640]},"
        "\"name\":\"K\\u00f6ln \xe2\x80\x93 Pegel\"}";
    char id[EVENT_ID_HEX + 1];
    struct topic t;
    const char *why;
    uint64_t before, after;

    assert_int_equal(topic_parse(TOPIC, &t, &why), 0);
    event_id_compute(id, &t, TIME, payload, strlen(payload));
    before = now_ns();
    ingest_text(f, TOPIC, payload);
    after = now_ns();
    expect_event(f, TOPIC,
                 &(struct expected_event){
                     .key = "rheinhub:events:sensor.waterlevel",
                     .id = id,
                     .source = "mqtt://127.0.0.1:1883/" TOPIC,
                     .type = "sensor.waterlevel",
                     .subject = "gauge-1",
                     .time = TIME,
                     .municipality = "bonn",
                     .category = "sensor",
                     .data = payload,
                 },
                 before, after);
    assert_int_equal(f->m.duplicates, 0);
}

static void ingest_documented_example(void **state)
{
    /* The example of schemas/envelope.md, id included. */
    struct fixture *f = *state;
    static const char topic[] = "linz/sensor/waterlevel/pegel-1";
    static const char payload[] =
        "{\"time\":\"2026-11-26T06:00:00Z\",\"value\":412,\"unit\":\"cm\"}";

    ingest_text(f, topic, payload);
    expect_event(f, topic,
                 &(struct expected_event){
                     .key = "rheinhub:events:sensor.waterlevel",
                     .id = "11110632d105db16f6b975bb72459627",
                     .source = "mqtt://127.0.0.1:1883/linz/sensor/waterlevel/pegel-1",
                     .type = "sensor.waterlevel",
                     .subject = "pegel-1",
                     .time = "2026-11-26T06:00:00Z",
                     .municipality = "linz",
                     .category = "sensor",
                     .data = payload,
                 },
                 0, UINT64_MAX);
}

static void ingest_stream_prefix_and_category(void **state)
{
    struct fixture *f = *state;

    strcpy(f->cfg.redis.stream_prefix, "test:");
    reinit(f);
    ingest_text(f, "st-goar/citizen/report/R-1", "{\"time\":\"" TIME "\"}");
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(rec.n_events, 1);
    assert_string_equal(rec.events[0].key, "test:events:citizen.report");
    rec_clear();
    ingest_text(f, "st-goar/service/streetlight/L-1", "{\"time\":\"" TIME "\"}");
    assert_int_equal(rec.n_events, 1);
    assert_string_equal(rec.events[0].key, "test:events:service.streetlight");
}

/* Ingests a minimal event and checks its envelope, source included. */
static void expect_source(struct fixture *f, const char *source)
{
    static const char payload[] = "{\"time\":\"" TIME "\"}";
    char id[EVENT_ID_HEX + 1];
    struct topic t;
    const char *why;

    assert_int_equal(topic_parse(TOPIC, &t, &why), 0);
    event_id_compute(id, &t, TIME, payload, strlen(payload));
    rec_clear();
    ingest_text(f, TOPIC, payload);
    expect_event(f, TOPIC,
                 &(struct expected_event){
                     .key = "rheinhub:events:sensor.waterlevel",
                     .id = id,
                     .source = source,
                     .type = "sensor.waterlevel",
                     .subject = "gauge-1",
                     .time = TIME,
                     .municipality = "bonn",
                     .category = "sensor",
                     .data = payload,
                 },
                 0, UINT64_MAX);
}

static void ingest_source_authority(void **state)
{
    struct fixture *f = *state;

    strcpy(f->cfg.mqtt.host, "10.0.0.7");
    f->cfg.mqtt.port = 8883;
    reinit(f);
    expect_source(f, "mqtt://10.0.0.7:8883/" TOPIC);

    strcpy(f->cfg.mqtt.host, "::1");
    f->cfg.mqtt.port = 1884;
    reinit(f);
    expect_source(f, "mqtt://[::1]:1884/" TOPIC);

    strcpy(f->cfg.mqtt.source, "broker.example.org");
    reinit(f);
    expect_source(f, "mqtt://broker.example.org/" TOPIC);
}

static void ingest_longest_names(void **state)
{
    /* The longest mqtt.source and stream prefix the configuration allows. */
    struct fixture *f = *state;
    char source[sizeof(f->cfg.mqtt.source) + 512], key[sizeof(f->cfg.redis.stream_prefix) + 128];
    char topic[300], sub[TOPIC_SUBJECT_MAX + 1], type[TOPIC_TYPE_MAX + 1];

    memset(f->cfg.mqtt.source, 's', sizeof(f->cfg.mqtt.source) - 1);
    f->cfg.mqtt.source[sizeof(f->cfg.mqtt.source) - 1] = '\0';
    memset(f->cfg.redis.stream_prefix, 'p', sizeof(f->cfg.redis.stream_prefix) - 1);
    f->cfg.redis.stream_prefix[sizeof(f->cfg.redis.stream_prefix) - 1] = '\0';
    reinit(f);
    /* And the longest topic. */
    memset(sub, 'S', TOPIC_SUBJECT_MAX);
    sub[TOPIC_SUBJECT_MAX] = '\0';
    memset(type, 't', TOPIC_TYPE_MAX);
    type[TOPIC_TYPE_MAX] = '\0';
    snprintf(topic, sizeof(topic), "%.63s/service/%s/%s",
             "mmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmmm", type, sub);
    snprintf(source, sizeof(source), "mqtt://%s/%s", f->cfg.mqtt.source, topic);
    snprintf(key, sizeof(key), "%sevents:service.%s", f->cfg.redis.stream_prefix, type);

    ingest_text(f, topic, "{\"time\":\"" TIME "\"}");
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(rec.n_events, 1);
    assert_string_equal(rec.events[0].key, key);
    {
        msgpack_unpacked unpacked;
        struct envelope_view view;
        const char *why = NULL;
        char got[1024] = "";
        int r;

        msgpack_unpacked_init(&unpacked);
        r = envelope_decode(rec.events[0].env, rec.events[0].env_len, &unpacked, &view, &why);
        if (r == 0)
            snprintf(got, sizeof(got), "%.*s", (int)view.source.len, view.source.ptr);
        msgpack_unpacked_destroy(&unpacked);
        assert_int_equal(r, 0);
        assert_string_equal(got, source);
    }
}

static void ingest_limits_are_inclusive(void **state)
{
    struct fixture *f = *state;
    char payload[128];
    int n;

    /* Exactly max_payload_bytes is taken. */
    f->cfg.ingest.max_payload_bytes = 64;
    n = snprintf(payload, sizeof(payload), "{\"time\":\"" TIME "\",\"pad\":\"");
    while (n < 62)
        payload[n++] = 'x';
    memcpy(payload + n, "\"}", 3);
    assert_int_equal(strlen(payload), 64);
    ingest_text(f, TOPIC, payload);
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(rec.n_events, 1);
    rec_clear();

    /* Exactly max_depth levels are taken. */
    f->cfg.ingest.max_payload_bytes = 65536;
    f->cfg.ingest.max_depth = 3;
    ingest_text(f, TOPIC, "{\"time\":\"" TIME "\",\"a\":{\"b\":[1]}}");
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(rec.n_events, 1);
    rec_clear();

    /* A time of 63 bytes is taken: 20 + 42 fraction digits + "Z". */
    n = snprintf(payload, sizeof(payload), "{\"time\":\"2026-11-26T06:00:00.");
    memset(payload + n, '7', 42);
    memcpy(payload + n + 42, "Z\"}", 4);
    ingest_text(f, TOPIC, payload);
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(rec.n_events, 1);
}

/* Writes an event nested depth levels deep (depth >= 2) into payload. */
static void deep_payload(char *payload, size_t size, int depth)
{
    size_t n = 0;

    n += (size_t)snprintf(payload + n, size - n, "{\"time\":\"" TIME "\",\"d\":");
    for (int i = 1; i < depth - 1; i++)
        n += (size_t)snprintf(payload + n, size - n, "{\"d\":");
    n += (size_t)snprintf(payload + n, size - n, "[1]");
    for (int i = 1; i < depth - 1; i++)
        n += (size_t)snprintf(payload + n, size - n, "}");
    snprintf(payload + n, size - n, "}");
    assert_int_equal(ingest_json_depth(payload, strlen(payload), 10000), depth);
}

/* Ingests an event depth levels deep; returns 1 when accepted, 0 when too deep. */
static int ingest_deep(struct fixture *f, int depth)
{
    char payload[4096];
    msgpack_unpacked unpacked;
    struct envelope_view view;
    const char *why = NULL;
    int r;

    deep_payload(payload, sizeof(payload), depth);
    rec_clear();
    ingest_text(f, TOPIC, payload);
    if (rec.n_deadletters == 1) {
        assert_string_equal(reject_reason_name(rec.deadletters[0].reason), "too_deep");
        return 0;
    }
    assert_int_equal(rec.n_events, 1);
    msgpack_unpacked_init(&unpacked);
    r = envelope_decode(rec.events[0].env, rec.events[0].env_len, &unpacked, &view, &why);
    msgpack_unpacked_destroy(&unpacked);
    if (r != 0)
        fail_msg("an accepted event %d levels deep does not decode: %s", depth, why);
    return 1;
}

static void ingest_deepest_accepted_event_decodes(void **state)
{
    /* With the default limit, an event exactly that deep is taken, and decodes. */
    struct fixture *f = *state;
    const int limit = f->cfg.ingest.max_depth;

    assert_int_equal(ingest_deep(f, limit), 1);
    assert_int_equal(ingest_deep(f, limit + 1), 0);
}

static void ingest_accepted_events_decode_at_any_limit(void **state)
{
    /* With the largest limit the configuration allows: what is taken must decode. */
    struct fixture *f = *state;

    f->cfg.ingest.max_depth = ENVELOPE_DATA_DEPTH_MAX;
    reinit(f);
    for (int depth = 2; depth <= 70; depth++)
        ingest_deep(f, depth);
}

static void ingest_bad_topic(void **state)
{
    struct fixture *f = *state;
    static const char payload[] = "{\"time\":\"" TIME "\"}";

    expect_rejected(f, "bonn/sensor/waterlevel", payload, REJECT_BAD_TOPIC,
                    "topic must have four levels: <municipality>/<category>/<type>/<subject>");
    expect_rejected(f, "Bonn/sensor/waterlevel/gauge-1", payload, REJECT_BAD_TOPIC,
                    "municipality must match [a-z0-9][a-z0-9-]* (at most 63 characters)");
    expect_rejected(f, "bonn/weather/waterlevel/gauge-1", payload, REJECT_BAD_TOPIC,
                    "category must be sensor, service or citizen");
    expect_rejected(f, "bonn/sensor/waterlevel/gauge 1", payload, REJECT_BAD_TOPIC,
                    "subject must match [A-Za-z0-9._-]{1,128}");
}

static void ingest_not_json(void **state)
{
    struct fixture *f = *state;

    expect_rejected(f, TOPIC, "not json", REJECT_BAD_JSON, NULL);
    expect_rejected(f, TOPIC, "", REJECT_BAD_JSON, NULL);
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\"", REJECT_BAD_JSON, NULL);
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\"} {}", REJECT_BAD_JSON, NULL);
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\",}", REJECT_BAD_JSON, NULL);
    /* Duplicate keys are refused. */
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\",\"time\":\"" TIME "\"}", REJECT_BAD_JSON,
                    NULL);
    /* A NUL escape in a string. */
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\",\"s\":\"a\\u0000b\"}", REJECT_BAD_JSON, NULL);
}

static void ingest_bad_json_detail(void **state)
{
    struct fixture *f = *state;

    ingest_text(f, TOPIC, "{\n\"a\": nope}");
    assert_int_equal(rec.n_deadletters, 1);
    /* "line L, column C: <jansson's text>" */
    if (strncmp(rec.deadletters[0].detail, "line 2, column ", 15) != 0)
        fail_msg("detail \"%s\" does not name line 2", rec.deadletters[0].detail);
}

static void ingest_binary_payload(void **state)
{
    struct fixture *f = *state;
    static const char payload[] = "{\"time\":\"x\"}\0garbage";

    ingest_bytes(f, TOPIC, payload, sizeof(payload) - 1);
    expect_deadletter(f, TOPIC, payload, sizeof(payload) - 1, REJECT_BAD_JSON, NULL);
}

static void ingest_not_object(void **state)
{
    struct fixture *f = *state;

    expect_rejected(f, TOPIC, "[1,2,3]", REJECT_NOT_OBJECT,
                    "payload is an array; an event is a JSON object");
    expect_rejected(f, TOPIC, "[{\"time\":\"" TIME "\"}]", REJECT_NOT_OBJECT,
                    "payload is an array; an event is a JSON object");
}

static void ingest_scalar_not_object(void **state)
{
    /* Valid JSON that is not an object is not_object, not bad_json. */
    struct fixture *f = *state;

    expect_rejected(f, TOPIC, "\"just a string\"", REJECT_NOT_OBJECT,
                    "payload is a string; an event is a JSON object");
    expect_rejected(f, TOPIC, "42", REJECT_NOT_OBJECT,
                    "payload is a number; an event is a JSON object");
    expect_rejected(f, TOPIC, "true", REJECT_NOT_OBJECT,
                    "payload is a boolean; an event is a JSON object");
    expect_rejected(f, TOPIC, "null", REJECT_NOT_OBJECT,
                    "payload is null; an event is a JSON object");
}

static void ingest_too_large(void **state)
{
    struct fixture *f = *state;
    char payload[200];
    int n;

    f->cfg.ingest.max_payload_bytes = 64;
    n = snprintf(payload, sizeof(payload), "{\"time\":\"" TIME "\",\"pad\":\"");
    while (n < 63)
        payload[n++] = 'x';
    memcpy(payload + n, "\"}", 3);
    assert_int_equal(strlen(payload), 65);
    expect_rejected(f, TOPIC, payload, REJECT_TOO_LARGE, "payload is 65 bytes; the limit is 64");
    /* Size is checked before anything else of the payload. */
    expect_rejected(f, TOPIC,
                    "not json at all, and longer than sixty-four bytes, which is the limit",
                    REJECT_TOO_LARGE, "payload is 69 bytes; the limit is 64");
}

static void ingest_too_deep(void **state)
{
    struct fixture *f = *state;
    char payload[256];
    size_t n = 0;

    f->cfg.ingest.max_depth = 4;
    n += (size_t)snprintf(payload, sizeof(payload), "{\"time\":\"" TIME "\",\"a\":[[[{}]]]}");
    assert_int_equal(ingest_json_depth(payload, n, 1000), 5);
    expect_rejected(f, TOPIC, payload, REJECT_TOO_DEEP, "JSON nesting deeper than 4 levels");
    /* Depth is checked before the JSON is parsed. */
    expect_rejected(f, TOPIC, "[[[[[[[[", REJECT_TOO_DEEP, "JSON nesting deeper than 4 levels");
    /* Brackets in strings do not count. */
    rec_clear();
    memset(&f->m, 0, sizeof(f->m));
    ingest_text(f, TOPIC, "{\"time\":\"" TIME "\",\"s\":\"[[[[[[[[{{{{{{\"}");
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(rec.n_events, 1);
}

static void ingest_bad_utf8(void **state)
{
    struct fixture *f = *state;

    expect_rejected(f, TOPIC, "{\"time\":\"x\xff\"}", REJECT_BAD_UTF8, NULL);
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\",\"s\":\"\xc3\"}", REJECT_BAD_UTF8, NULL);
    /* Overlong encoding of '/', and a UTF-16 surrogate in UTF-8. */
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\",\"s\":\"\xc0\xaf\"}", REJECT_BAD_UTF8, NULL);
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\",\"s\":\"\xed\xa0\x80\"}", REJECT_BAD_UTF8,
                    NULL);
    /* In a key. */
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\",\"\xfe\":1}", REJECT_BAD_UTF8, NULL);
}

static void ingest_bad_time(void **state)
{
    struct fixture *f = *state;
    char payload[128];
    int n;

    expect_rejected(f, TOPIC, "{\"value\":320,\"unit\":\"cm\"}", REJECT_BAD_TIME, WHY_TIME);
    expect_rejected(f, TOPIC, "{}", REJECT_BAD_TIME, WHY_TIME);
    expect_rejected(f, TOPIC, "{\"time\":1795672800}", REJECT_BAD_TIME, WHY_TIME);
    expect_rejected(f, TOPIC, "{\"time\":\"\"}", REJECT_BAD_TIME, WHY_TIME);
    expect_rejected(f, TOPIC, "{\"time\":null}", REJECT_BAD_TIME, WHY_TIME);
    expect_rejected(f, TOPIC, "{\"time\":[\"" TIME "\"]}", REJECT_BAD_TIME, WHY_TIME);
    expect_rejected(f, TOPIC, "{\"Time\":\"" TIME "\"}", REJECT_BAD_TIME, WHY_TIME);
    /* A string, but not RFC 3339: the detail quotes it. */
    expect_rejected(f, TOPIC, "{\"time\":\"2026-02-30T06:00:00Z\"}", REJECT_BAD_TIME,
                    "time \"2026-02-30T06:00:00Z\" is not an RFC 3339 date-time "
                    "(e.g. 2026-11-26T06:00:00Z)");
    expect_rejected(f, TOPIC, "{\"time\":\"2026-11-26 06:00:00Z\"}", REJECT_BAD_TIME,
                    "time \"2026-11-26 06:00:00Z\" is not an RFC 3339 date-time "
                    "(e.g. 2026-11-26T06:00:00Z)");
    expect_rejected(f, TOPIC, "{\"time\":\"2026-11-26T06:00:00\"}", REJECT_BAD_TIME,
                    "time \"2026-11-26T06:00:00\" is not an RFC 3339 date-time "
                    "(e.g. 2026-11-26T06:00:00Z)");
    /* 64 bytes is one too many. */
    n = snprintf(payload, sizeof(payload), "{\"time\":\"");
    memset(payload + n, '9', 64);
    memcpy(payload + n + 64, "\"}", 3);
    expect_rejected(f, TOPIC, payload, REJECT_BAD_TIME, WHY_TIME);
}

/* A schema seam that refuses events of type sensor.waterlevel without "value". */
static int check_value(void *data, const struct topic *topic, const json_t *payload,
                       char detail[INGEST_DETAIL_MAX])
{
    int *calls = data;

    (*calls)++;
    if (strcmp(topic->event_type, "sensor.waterlevel") != 0) {
        snprintf(detail, INGEST_DETAIL_MAX, "no schema for %s", topic->event_type);
        return REJECT_UNKNOWN_TYPE;
    }
    if (!json_object_get(payload, "value")) {
        snprintf(detail, INGEST_DETAIL_MAX, "/value: required");
        return REJECT_SCHEMA;
    }
    return 0;
}

static void ingest_schema_check(void **state)
{
    struct fixture *f = *state;
    int calls = 0;

    f->ing.check = check_value;
    f->ing.check_data = &calls;
    expect_rejected(f, TOPIC, "{\"time\":\"" TIME "\"}", REJECT_SCHEMA, "/value: required");
    assert_int_equal(calls, 1);
    expect_rejected(f, "bonn/sensor/unknown/x", "{\"time\":\"" TIME "\"}", REJECT_UNKNOWN_TYPE,
                    "no schema for sensor.unknown");
    assert_int_equal(calls, 2);
    /* For a CloudEvent, the seam sees data. */
    expect_rejected(f, TOPIC,
                    "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\","
                    "\"source\":\"/s\",\"time\":\"" TIME "\",\"value\":1,\"data\":{}}",
                    REJECT_SCHEMA, "/value: required");
    rec_clear();
    ingest_text(f, TOPIC, "{\"time\":\"" TIME "\",\"value\":1}");
    assert_int_equal(calls, 4);
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(rec.n_events, 1);
    /* Messages rejected earlier never reach the seam. */
    expect_rejected(f, TOPIC, "[]", REJECT_NOT_OBJECT, NULL);
    assert_int_equal(calls, 4);
}

/* A seam whose detail snprintf cut inside a character: "xy" and 300 "ä" make 602 bytes,
 * of which the detail's 511 end in the first byte of an "ä". */
static int check_cut(void *data, const struct topic *topic, const json_t *payload,
                     char detail[INGEST_DETAIL_MAX])
{
    char text[2 + 600 + 1] = "xy";

    for (int i = 0; i < 300; i++)
        memcpy(text + 2 + 2 * i, "\xc3\xa4", 2);
    text[602] = '\0';
    snprintf(detail, INGEST_DETAIL_MAX, "%s", text);
    return REJECT_SCHEMA;
}

static void ingest_detail_cut_inside_a_character(void **state)
{
    struct fixture *f = *state;
    const char *d;

    f->ing.check = check_cut;
    rec_clear();
    ingest_text(f, TOPIC, "{\"time\":\"" TIME "\",\"value\":1}");
    assert_int_equal(rec.n_deadletters, 1);
    d = rec.deadletters[0].detail;
    /* The dangling first byte is gone: 2 + 254 whole "ä". */
    assert_int_equal(strlen(d), 510);
    assert_memory_equal(d, "xy", 2);
    assert_memory_equal(d + 508, "\xc3\xa4", 2);
}

/* ---- ingest_message: duplicates --------------------------------------------------- */

static void ingest_writer_out_of_memory(void **state)
{
    /* A writer that cannot take the entry: nothing recorded, nothing crashes. */
    struct fixture *f = *state;

    rec.fail = 1;
    ingest_text(f, TOPIC, "{\"time\":\"" TIME "\"}");
    ingest_text(f, TOPIC, "[]");
    assert_int_equal(rec.n_events, 0);
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(f->m.rejected[REJECT_NOT_OBJECT], 1);
    rec.fail = 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ingest_json_depth_counts_nesting),
        cmocka_unit_test(ingest_json_depth_ignores_strings),
        cmocka_unit_test(ingest_json_depth_at_and_over_limit),
        cmocka_unit_test(ingest_json_depth_stops_early),
        cmocka_unit_test(ingest_json_depth_unterminated),
        cmocka_unit_test_setup_teardown(ingest_good_event, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_documented_example, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_stream_prefix_and_category, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_source_authority, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_longest_names, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_limits_are_inclusive, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_deepest_accepted_event_decodes, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_accepted_events_decode_at_any_limit, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(ingest_bad_topic, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_bad_json_detail, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_detail_cut_inside_a_character, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_binary_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_not_object, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_scalar_not_object, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_too_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_bad_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_bad_time, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_schema_check, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_writer_out_of_memory, setup, teardown),
    };
    return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
