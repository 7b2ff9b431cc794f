// SPDX-License-Identifier: MIT
/*
 * Unit tests of the ingest path, without a broker or Redis: ingest.c is linked with
 * a fake of the two redis_out calls it makes, which records every event and dead
 * letter. Covers ingest_json_depth, the accepted event's stream key and envelope,
 * every reject reason the ingest path gives, CloudEvents unwrapping, and dropping of
 * recent duplicates.
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
#include <time.h>

#include "envelope.h"
#include "ingest.h"

/* ---- The fake writer ------------------------------------------------------------ */

#define RECORD_MAX 16

struct recorded_event {
    char *key, *id, *env, *topic;
    size_t env_len;
};

struct recorded_deadletter {
    char *topic, *detail, *payload;
    enum reject_reason reason;
    size_t payload_len;
};

static struct {
    struct recorded_event events[RECORD_MAX];
    struct recorded_deadletter deadletters[RECORD_MAX];
    int n_events, n_deadletters;
    int fail; /* non-zero: the fake answers -ENOMEM */
} rec;

/* The writer the ingest path is given; only its address matters. */
static int fake_writer;
#define FAKE_OUT ((struct redis_out *)(void *)&fake_writer)

static char *copy_bytes(const void *p, size_t n)
{
    char *c = malloc(n + 1);

    assert_non_null(c);
    memcpy(c, p, n);
    c[n] = '\0';
    return c;
}

int redis_out_add_event(struct redis_out *out, const char *key, const char *id, const char *env,
                        size_t env_len, const char *topic)
{
    struct recorded_event *e;

    assert_ptr_equal(out, FAKE_OUT);
    if (rec.fail)
        return -ENOMEM;
    assert_true(rec.n_events < RECORD_MAX);
    e = &rec.events[rec.n_events++];
    e->key = copy_bytes(key, strlen(key));
    e->id = copy_bytes(id, strlen(id));
    e->env = copy_bytes(env, env_len);
    e->env_len = env_len;
    e->topic = copy_bytes(topic, strlen(topic));
    return 0;
}

int redis_out_add_deadletter(struct redis_out *out, const char *topic, enum reject_reason reason,
                             const char *detail, const void *payload, size_t payload_len)
{
    struct recorded_deadletter *d;

    assert_ptr_equal(out, FAKE_OUT);
    if (rec.fail)
        return -ENOMEM;
    assert_true(rec.n_deadletters < RECORD_MAX);
    d = &rec.deadletters[rec.n_deadletters++];
    d->topic = copy_bytes(topic, strlen(topic));
    d->reason = reason;
    d->detail = copy_bytes(detail, strlen(detail));
    d->payload = copy_bytes(payload, payload_len);
    d->payload_len = payload_len;
    return 0;
}

static void rec_clear(void)
{
    for (int i = 0; i < rec.n_events; i++) {
        free(rec.events[i].key);
        free(rec.events[i].id);
        free(rec.events[i].env);
        free(rec.events[i].topic);
    }
    for (int i = 0; i < rec.n_deadletters; i++) {
        free(rec.deadletters[i].topic);
        free(rec.deadletters[i].detail);
        free(rec.deadletters[i].payload);
    }
    memset(&rec, 0, sizeof(rec));
}

/* ---- Fixture --------------------------------------------------------------------- */

struct fixture {
    struct hub_config cfg;
    struct metrics m;
    struct ingest ing;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    if (!f)
        return -1;
    config_defaults(&f->cfg);
    log_set_level(LOG_LEVEL_WARN);
    if (ingest_init(&f->ing, &f->cfg, &f->m, FAKE_OUT) < 0) {
        free(f);
        return -1;
    }
    rec_clear();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;

    ingest_close(&f->ing);
    free(f);
    rec_clear();
    return 0;
}

/* Re-creates the ingest state after a change of configuration read at init. */
static void reinit(struct fixture *f)
{
    ingest_close(&f->ing);
    assert_int_equal(ingest_init(&f->ing, &f->cfg, &f->m, FAKE_OUT), 0);
}

/* Ingests payload from a buffer of exactly its size, so that over-reads are caught. */
static void ingest_bytes(struct fixture *f, const char *topic, const void *payload, size_t len)
{
    void *copy = malloc(len ? len : 1);

    assert_non_null(copy);
    memcpy(copy, payload, len);
    ingest_message(&f->ing, topic, copy, len);
    free(copy);
}

static void ingest_text(struct fixture *f, const char *topic, const char *payload)
{
    ingest_bytes(f, topic, payload, strlen(payload));
}

static uint64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t rejected_total(const struct metrics *m)
{
    uint64_t n = 0;

    for (int i = 0; i < REJECT_REASON_COUNT; i++)
        n += m->rejected[i];
    return n;
}

/* Fails, printing both, unless the decoded string equals expected. */
static void assert_view_str(struct envelope_str s, const char *expected)
{
    char *copy;

    assert_non_null(s.ptr);
    copy = copy_bytes(s.ptr, s.len);
    assert_string_equal(copy, expected);
    free(copy);
}

static void assert_json_text(const json_t *v, const char *expected_text)
{
    json_error_t err;
    json_t *expected = json_loads(expected_text, 0, &err);
    char *a, *b;

    assert_non_null(expected);
    assert_non_null(v);
    if (!json_equal(expected, v)) {
        a = json_dumps(expected, JSON_COMPACT);
        b = json_dumps(v, JSON_COMPACT);
        assert_string_equal(a, b);
        fail_msg("JSON differs in kind but not in text: %s", a);
    }
    json_decref(expected);
}

/* What an accepted event is expected to carry. */
struct expected_event {
    const char *key, *id, *source, *type, *subject, *time, *municipality, *category, *data;
};

/* Checks that exactly one event and no dead letter were recorded, and its envelope. */
static void expect_event(const struct fixture *f, const char *topic, const struct expected_event *x,
                         uint64_t before, uint64_t after)
{
    const struct recorded_event *e;
    msgpack_unpacked unpacked;
    struct envelope_view view;
    const char *why = NULL;
    json_t *data;
    int r;

    if (rec.n_deadletters > 0)
        fail_msg("unexpected dead letter: %s: %s", reject_reason_name(rec.deadletters[0].reason),
                 rec.deadletters[0].detail);
    assert_int_equal(rec.n_events, 1);
    assert_int_equal(rejected_total(&f->m), 0);
    e = &rec.events[0];
    assert_string_equal(e->key, x->key);
    assert_string_equal(e->id, x->id);
    assert_string_equal(e->topic, topic);

    msgpack_unpacked_init(&unpacked);
    r = envelope_decode(e->env, e->env_len, &unpacked, &view, &why);
    if (r != 0)
        fail_msg("envelope does not decode: %s", why ? why : "?");
    assert_view_str(view.specversion, "1.0");
    assert_view_str(view.id, x->id);
    assert_view_str(view.source, x->source);
    assert_view_str(view.type, x->type);
    assert_view_str(view.subject, x->subject);
    assert_view_str(view.time, x->time);
    assert_view_str(view.municipality, x->municipality);
    assert_view_str(view.category, x->category);
    assert_in_range(view.receivedtime_ns, before, after);
    data = envelope_object_to_json(view.data);
    assert_json_text(data, x->data);
    json_decref(data);
    msgpack_unpacked_destroy(&unpacked);
}

/*
 * Checks that exactly one dead letter and no event were recorded, with reason and
 * (unless NULL) detail, the topic, and the whole payload; and that the reason was
 * counted once.
 */
static void expect_deadletter(const struct fixture *f, const char *topic, const void *payload,
                              size_t len, enum reject_reason reason, const char *detail)
{
    const struct recorded_deadletter *d;

    if (rec.n_events > 0)
        fail_msg("unexpected event for %s, id %s", rec.events[0].topic, rec.events[0].id);
    assert_int_equal(rec.n_deadletters, 1);
    d = &rec.deadletters[0];
    assert_string_equal(reject_reason_name(d->reason), reject_reason_name(reason));
    if (detail)
        assert_string_equal(d->detail, detail);
    else
        assert_true(strlen(d->detail) > 0);
    assert_string_equal(d->topic, topic);
    assert_int_equal(d->payload_len, len);
    assert_memory_equal(d->payload, payload, len);
    assert_int_equal(f->m.rejected[reason], 1);
    assert_int_equal(rejected_total(&f->m), 1);
    assert_int_equal(f->m.duplicates, 0);
}

/* Ingests text and expects one dead letter for it; then clears the record. */
static void expect_rejected(struct fixture *f, const char *topic, const char *payload,
                            enum reject_reason reason, const char *detail)
{
    print_message("%s: %s\n", reject_reason_name(reason), payload);
    memset(&f->m, 0, sizeof(f->m));
    rec_clear();
    ingest_text(f, topic, payload);
    expect_deadletter(f, topic, payload, strlen(payload), reason, detail);
    rec_clear();
}

#define TOPIC "bonn/sensor/waterlevel/gauge-1"
#define TIME "2024-05-01T12:00:00.123+02:00"
#define WHY_TIME "time must be a string: an RFC 3339 date-time of at most 63 bytes"

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
    static const char payload[] = "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"ev-2\",\"source\":\"/x\","
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
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"source\":\"/s\",\"time\":\"" TIME "\",\"data\":{}}",
         "id must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"\",\"source\":\"/s\",\"time\":\"" TIME
         "\",\"data\":{}}",
         "id must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":7,\"source\":\"/s\",\"time\":\"" TIME "\",\"data\":{}}",
         "id must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"time\":\"" TIME "\",\"data\":{}}",
         "source must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"\",\"time\":\"" TIME "\",\"data\":{}}",
         "source must be a non-empty string of at most 255 bytes"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"/s\",\"time\":\"" TIME "\"}",
         "data must be a JSON object"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"/s\",\"time\":\"" TIME
         "\",\"data\":[1]}",
         "data must be a JSON object"},
        {"{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"/s\",\"time\":\"" TIME
         "\",\"data\":\"{}\"}",
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
        {CE_HEAD "\"subject\":\"x\"" CE_DATA, "type must be a non-empty string of at most 255 bytes",
         REJECT_BAD_CLOUDEVENT},
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
        {CE_HEAD "\"type\":\"sensor.waterlevel\",\"time\":\"2024-05-01T10:00:00.123000001Z\"" CE_DATA,
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
        CE_HEAD "\"type\":\"sensor.waterlevel\",\"dataschema\":"
                "\"https://schemas.rheinhub.linz-am-rhein.de/sensor/waterlevel.schema.json#\"" CE_DATA,
        CE_HEAD "\"type\":\"sensor.waterlevel\",\"dataschema\":\"https://bonn.example/pegel.json\"" CE_DATA,
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
                 "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"%s\",\"source\":\"/s\",\"time\":\"" TIME
                 "\",\"data\":{}}",
                 id);
    assert_true(n < (int)sizeof(payload));
    ingest_text(f, TOPIC, payload);
    assert_int_equal(rec.n_deadletters, 0);
    assert_int_equal(rec.n_events, 1);
    assert_string_equal(rec.events[0].id, id);
    strcat(id, "i");
    snprintf(payload, sizeof(payload),
             "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"%s\",\"source\":\"/s\",\"time\":\"" TIME
             "\",\"data\":{}}",
             id);
    expect_rejected(f, TOPIC, payload, REJECT_BAD_CLOUDEVENT,
                    "id must be a non-empty string of at most 255 bytes");
}

static void ingest_cloudevent_bad_time(void **state)
{
    struct fixture *f = *state;

    /* A time at the top level is the one that counts, even when data has one. */
    expect_rejected(f, TOPIC,
                    "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"/s\",\"time\":5,"
                    "\"data\":{\"time\":\"" TIME "\"}}",
                    REJECT_BAD_TIME, WHY_TIME);
    expect_rejected(f, TOPIC,
                    "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"/s\",\"data\":{}}",
                    REJECT_BAD_TIME, WHY_TIME);
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
                    "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"a\",\"source\":\"/s\",\"time\":\"" TIME
                    "\",\"value\":1,\"data\":{}}",
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

/* ---- ingest_message: duplicates --------------------------------------------------- */

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

static void ingest_duplicate_cloudevent_by_id(void **state)
{
    struct fixture *f = *state;

    /* A CloudEvent is the same event when its id is, whatever else differs. */
    ingest_text(f, TOPIC,
                "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"ev-9\",\"source\":\"/a\",\"time\":\"" TIME
                "\",\"data\":{\"v\":1}}");
    ingest_text(f, TOPIC,
                "{\"specversion\":\"1.0\",\"type\":\"sensor.waterlevel\",\"id\":\"ev-9\",\"source\":\"/b\",\"time\":\"" TIME
                "\",\"data\":{\"v\":2}}");
    assert_int_equal(rec.n_events, 1);
    assert_string_equal(rec.events[0].id, "ev-9");
    assert_int_equal(f->m.duplicates, 1);
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
        cmocka_unit_test_setup_teardown(ingest_cloudevent_good, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_time_in_data, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_bad_topic, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_not_json, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_bad_json_detail, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_binary_payload, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_not_object, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_scalar_not_object, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_too_deep, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_bad_utf8, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_bad_time, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_bad, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_contradictions, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_attributes_that_agree, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_id_length, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_cloudevent_bad_time, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_schema_check, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_duplicate_dropped, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_duplicate_cloudevent_by_id, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_rejected_not_remembered, setup, teardown),
        cmocka_unit_test_setup_teardown(ingest_writer_out_of_memory, setup, teardown),
    };

    return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
