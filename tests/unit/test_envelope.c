// SPDX-License-Identifier: MIT
/*
 * Unit tests of the canonical envelope: encoding and decoding round trips (every
 * field, every JSON kind in data), the fixed key order, and the decoder's refusal of
 * garbage (missing or mistyped fields, truncation, trailing bytes, forged sizes).
 * The bounds check is in test_envelope_bounds.c, the event id in test_event_id.c.
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

#include "config.h"
#include "envelope.h"
#include "envelope_fixture.h"

/* Every JSON kind, the integer encodings' edges, nesting, and unicode. */
static const char rich_data[] =
    "{\"level_cm\": 412, \"zero\": 0, \"neg\": -17, \"u8\": 200, \"u16\": 70000,"
    " \"u32\": 5000000000, \"i8\": -100, \"i16\": -200, \"i32\": -70000,"
    " \"i64\": -5000000000, \"max\": 9223372036854775807,"
    " \"min\": -9223372036854775808, \"real\": 3.25, \"negreal\": -0.1,"
    " \"tiny\": 1.5e-300, \"huge\": 1.7976931348623157e308, \"t\": true, \"f\": false,"
    " \"n\": null, \"s\": \"K\\u00f6ln \\u2013 Rhein \\ud83c\\udf0a\", \"raw\": "
    "\"\xc3\xa4\xe2\x82\xac\","
    " \"esc\": \"quote \\\" backslash \\\\ nul \\u0000 end\", \"empty\": \"\","
    " \"\\u043a\\u043b\\u044e\\u0447\": "
    "\"\\u0437\\u043d\\u0430\\u0447\\u0435\\u043d\\u0438\\u0435\","
    " \"\": \"empty key\","
    " \"nested\": {\"a\": [1, [2, [3, {\"b\": []}]], {}], \"o\": {\"p\": {\"q\": \"r\"}}},"
    " \"arr\": [null, true, false, 1, -1, 1.5, \"x\", [], {}, [[[]]]],"
    " \"long\": \""
    "0123456789012345678901234567890123456789"
    "\"}";

static struct envelope sample_envelope(const json_t *data)
{
    struct envelope env = {
        .id = "3f1c0d9e8b7a69584736251403f2e1d0",
        .source = "mqtt://127.0.0.1:1883/bonn/sensor/waterlevel/gauge-1",
        .type = "sensor.waterlevel",
        .subject = "gauge-1",
        .time = "2024-05-01T12:00:00.123456789+02:00",
        .municipality = "bonn",
        .category = "sensor",
        .receivedtime_ns = UINT64_C(1714557600123456789),
        .data = data,
    };
    return env;
}

/* Decodes buf, which must be a good envelope, checks it against env, and frees. */
static void expect_decodes_to(const char *buf, size_t len, const struct envelope *env)
{
    msgpack_unpacked unpacked;
    struct envelope_view view;
    const char *why = NULL;
    json_t *data;
    int r;

    msgpack_unpacked_init(&unpacked);
    r = envelope_decode(buf, len, &unpacked, &view, &why);
    if (r != 0)
        fail_msg("decode failed: %d (%s)", r, why ? why : "no reason");
    assert_view_str(view.specversion, "1.0");
    assert_view_str(view.id, env->id);
    assert_view_str(view.source, env->source);
    assert_view_str(view.type, env->type);
    assert_view_str(view.subject, env->subject);
    assert_view_str(view.time, env->time);
    assert_view_str(view.municipality, env->municipality);
    assert_view_str(view.category, env->category);
    assert_int_equal(view.receivedtime_ns, env->receivedtime_ns);
    assert_non_null(view.data);
    assert_int_equal(view.data->type, MSGPACK_OBJECT_MAP);
    data = envelope_object_to_json(view.data);
    assert_json_same(env->data, data);
    json_decref(data);
    msgpack_unpacked_destroy(&unpacked);
}

static void envelope_round_trip_every_field(void **state)
{
    json_t *data = load_json(rich_data);
    struct envelope env = sample_envelope(data);
    msgpack_sbuffer buf;

    msgpack_sbuffer_init(&buf);
    assert_int_equal(envelope_encode(&env, &buf), 0);
    expect_decodes_to(buf.data, buf.size, &env);
    assert_int_equal(envelope_check_bounds(buf.data, buf.size, 48), 0);
    msgpack_sbuffer_destroy(&buf);
    json_decref(data);
}

static void envelope_round_trip_edges(void **state)
{
    static const uint64_t times[] = {
        0, 1, 127, 128, 255, 256, 65535, 65536, UINT32_MAX, (uint64_t)UINT32_MAX + 1, UINT64_MAX};
    char long_id[EVENT_ID_MAX], long_subject[TOPIC_SUBJECT_MAX + 1];
    json_t *data = load_json("{}");
    struct envelope env = sample_envelope(data);

    memset(long_id, 'i', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    memset(long_subject, 'S', sizeof(long_subject) - 1);
    long_subject[sizeof(long_subject) - 1] = '\0';
    env.id = long_id;
    env.subject = long_subject;
    env.source = "urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66";
    env.type = "citizen.report";
    env.category = "citizen";
    env.municipality = "st-goar";
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        env.receivedtime_ns = times[i];
        assert_int_equal(envelope_encode(&env, &buf), 0);
        expect_decodes_to(buf.data, buf.size, &env);
        msgpack_sbuffer_destroy(&buf);
    }
    json_decref(data);
}

static void envelope_encoding_is_stable(void **state)
{
    json_t *data = load_json(rich_data);
    struct envelope env = sample_envelope(data);
    msgpack_sbuffer a, b;

    msgpack_sbuffer_init(&a);
    msgpack_sbuffer_init(&b);
    assert_int_equal(envelope_encode(&env, &a), 0);
    assert_int_equal(envelope_encode(&env, &b), 0);
    assert_int_equal(a.size, b.size);
    assert_memory_equal(a.data, b.data, a.size);
    /* The encoder appends: a second envelope follows the first unchanged. */
    assert_int_equal(envelope_encode(&env, &a), 0);
    assert_int_equal(a.size, 2 * b.size);
    assert_memory_equal(a.data + b.size, b.data, b.size);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
    json_decref(data);
}

/* The encoder's bytes are those of msgpack-c's packer writing the same map field by
 * field, for short and long strings alike (fixstr, str 8, str 16). */
static void envelope_encoding_matches_msgpack_packer(void **state)
{
    json_t *data = load_json(rich_data);
    struct envelope env = sample_envelope(data);
    char long_source[300];
    msgpack_sbuffer got, want;
    msgpack_packer pk;

    (void)state;
    memset(long_source, 's', sizeof(long_source) - 1);
    long_source[sizeof(long_source) - 1] = '\0';
    for (int round = 0; round < 2; round++) {
        const char *fields[][2] = {
            {"specversion", "1.0"}, {"id", env.id}, {"source", env.source},
            {"type", env.type}, {"subject", env.subject}, {"time", env.time},
            {"municipality", env.municipality}, {"category", env.category},
        };
        msgpack_sbuffer_init(&got);
        msgpack_sbuffer_init(&want);
        msgpack_packer_init(&pk, &want, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 10);
        for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
            for (int k = 0; k < 2; k++) {
                msgpack_pack_str(&pk, strlen(fields[i][k]));
                msgpack_pack_str_body(&pk, fields[i][k], strlen(fields[i][k]));
            }
        }
        msgpack_pack_str(&pk, 12);
        msgpack_pack_str_body(&pk, "receivedtime", 12);
        msgpack_pack_uint64(&pk, env.receivedtime_ns);
        msgpack_pack_str(&pk, 4);
        msgpack_pack_str_body(&pk, "data", 4);
        assert_int_equal(envelope_pack_json(&pk, data), 0);
        assert_int_equal(envelope_encode(&env, &got), 0);
        assert_int_equal(got.size, want.size);
        assert_memory_equal(got.data, want.data, want.size);
        msgpack_sbuffer_destroy(&got);
        msgpack_sbuffer_destroy(&want);
        env.source = long_source; /* str 16 */
    }
    json_decref(data);
}

static void envelope_key_order(void **state)
{
    json_t *data = load_json("{\"level_cm\": 412}");
    struct envelope env = sample_envelope(data);
    msgpack_sbuffer buf;
    msgpack_unpacked unpacked;
    size_t off = 0;
    const msgpack_object *root;

    msgpack_sbuffer_init(&buf);
    assert_int_equal(envelope_encode(&env, &buf), 0);
    assert_int_equal((unsigned char)buf.data[0], 0x8a); /* fixmap of 10 */
    msgpack_unpacked_init(&unpacked);
    assert_int_equal(msgpack_unpack_next(&unpacked, buf.data, buf.size, &off),
                     MSGPACK_UNPACK_SUCCESS);
    assert_int_equal(off, buf.size);
    root = &unpacked.data;
    assert_int_equal(root->type, MSGPACK_OBJECT_MAP);
    assert_int_equal(root->via.map.size, N_KEYS);
    for (uint32_t i = 0; i < root->via.map.size; i++) {
        const msgpack_object *key = &root->via.map.ptr[i].key;
        const msgpack_object *val = &root->via.map.ptr[i].val;
        char name[32];

        assert_int_equal(key->type, MSGPACK_OBJECT_STR);
        assert_true(key->via.str.size < sizeof(name));
        memcpy(name, key->via.str.ptr, key->via.str.size);
        name[key->via.str.size] = '\0';
        assert_string_equal(name, key_order[i]);
        if (i < 8)
            assert_int_equal(val->type, MSGPACK_OBJECT_STR);
        else if (i == 8)
            assert_int_equal(val->type, MSGPACK_OBJECT_POSITIVE_INTEGER);
        else
            assert_int_equal(val->type, MSGPACK_OBJECT_MAP);
    }
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&buf);
    json_decref(data);
}

static void envelope_data_keeps_key_order(void **state)
{
    json_t *data = load_json("{\"z\": 1, \"a\": 2, \"m\": {\"y\": 3, \"b\": 4}}");
    struct envelope env = sample_envelope(data);
    msgpack_sbuffer buf;
    msgpack_unpacked unpacked;
    struct envelope_view view;
    const char *why;
    json_t *back;
    char *text;

    msgpack_sbuffer_init(&buf);
    assert_int_equal(envelope_encode(&env, &buf), 0);
    msgpack_unpacked_init(&unpacked);
    assert_int_equal(envelope_decode(buf.data, buf.size, &unpacked, &view, &why), 0);
    back = envelope_object_to_json(view.data);
    assert_non_null(back);
    text = json_dumps(back, JSON_COMPACT);
    assert_string_equal(text, "{\"z\":1,\"a\":2,\"m\":{\"y\":3,\"b\":4}}");
    free(text);
    json_decref(back);
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&buf);
    json_decref(data);
}

/* Data as deep as the hub accepts by default (ingest.max_depth) must decode. */
static void envelope_round_trip_deep_data(void **state)
{
    struct hub_config cfg;

    config_defaults(&cfg);
    for (int depth = 1; depth <= cfg.ingest.max_depth; depth++) {
        char text[512] = "";
        size_t n = 0;
        json_t *data;
        struct envelope env;
        msgpack_sbuffer buf;
        msgpack_unpacked unpacked;
        struct envelope_view view;
        const char *why = "";
        int r;

        for (int i = 0; i < depth; i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "{\"a\":");
        n += (size_t)snprintf(text + n, sizeof(text) - n, "1");
        for (int i = 0; i < depth; i++)
            n += (size_t)snprintf(text + n, sizeof(text) - n, "}");
        data = load_json(text);
        env = sample_envelope(data);
        msgpack_sbuffer_init(&buf);
        assert_int_equal(envelope_encode(&env, &buf), 0);
        msgpack_unpacked_init(&unpacked);
        r = envelope_decode(buf.data, buf.size, &unpacked, &view, &why);
        msgpack_unpacked_destroy(&unpacked);
        if (r == 0)
            expect_decodes_to(buf.data, buf.size, &env);
        msgpack_sbuffer_destroy(&buf);
        json_decref(data);
        if (r != 0)
            fail_msg("an envelope whose data is %d levels deep does not decode: %s", depth, why);
    }
}

/*
 * Packs an envelope by hand: field `omit` left out, field `wrong` given a value of
 * the wrong kind (wrong_kind: 'i' int, 's' str, 'n' negative int, 'f' float,
 * 'a' array, 'z' nil), `extra` unknown fields added, `reverse` writes the fields
 * last to first.
 */
static void pack_custom(msgpack_sbuffer *buf, int omit, int wrong, char wrong_kind, int extra,
                        bool reverse)
{
    msgpack_packer pk;
    int n = (int)N_KEYS - (omit >= 0) + extra;

    msgpack_packer_init(&pk, buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, (size_t)n);
    for (int e = 0; e < extra; e++) {
        char key[16];
        snprintf(key, sizeof(key), "x-extra%d", e);
        msgpack_pack_str_with_body(&pk, key, strlen(key));
        msgpack_pack_str_with_body(&pk, "ignored", 7);
    }
    for (int k = 0; k < (int)N_KEYS; k++) {
        int i = reverse ? (int)N_KEYS - 1 - k : k;
        const char *key = key_order[i];

        if (i == omit)
            continue;
        msgpack_pack_str_with_body(&pk, key, strlen(key));
        if (i == wrong) {
            switch (wrong_kind) {
            case 'i':
                msgpack_pack_uint64(&pk, 7);
                break;
            case 's':
                msgpack_pack_str_with_body(&pk, "7", 1);
                break;
            case 'n':
                msgpack_pack_int64(&pk, -7);
                break;
            case 'f':
                msgpack_pack_double(&pk, 7.0);
                break;
            case 'a':
                msgpack_pack_array(&pk, 0);
                break;
            case 'z':
                msgpack_pack_nil(&pk);
                break;
            default:
                fail_msg("unknown kind %c", wrong_kind);
            }
        } else if (i < 8) {
            msgpack_pack_str_with_body(&pk, "v", 1);
        } else if (i == 8) {
            msgpack_pack_uint64(&pk, 42);
        } else {
            msgpack_pack_map(&pk, 1);
            msgpack_pack_str_with_body(&pk, "k", 1);
            msgpack_pack_nil(&pk);
        }
    }
}

/* The first of two envelopes in one buffer, measured, decodes with
 * envelope_decode_measured as its bytes alone do with envelope_decode_zone; a measured
 * object that is no envelope is refused with the same reason. */
static void envelope_decode_measured_first_of_two(void **state)
{
    msgpack_sbuffer buf;
    msgpack_zone zone;
    struct envelope_view a, b;
    struct envelope env;
    const char *why_a = NULL, *why_b = NULL;
    json_t *data = load_json("{\"value\": 512, \"unit\": \"cm\"}");
    size_t len;

    (void)state;
    assert_true(msgpack_zone_init(&zone, 512));
    msgpack_sbuffer_init(&buf);
    env = sample_envelope(data);
    assert_int_equal(envelope_encode(&env, &buf), 0);
    env.subject = "second";
    assert_int_equal(envelope_encode(&env, &buf), 0);
    assert_int_equal(envelope_measure(buf.data, buf.size, ENVELOPE_DATA_DEPTH_MAX + 1, &len), 0);
    assert_true(len < buf.size);
    assert_int_equal(envelope_decode_measured(buf.data, len, &zone, &b, &why_b), 0);
    assert_int_equal(envelope_decode_zone(buf.data, len, &zone, &a, &why_a), 0);
    assert_int_equal(b.subject.len, a.subject.len);
    assert_memory_equal(b.subject.ptr, a.subject.ptr, a.subject.len);
    assert_int_equal(b.id.len, a.id.len);
    assert_memory_equal(b.id.ptr, a.id.ptr, a.id.len);
    assert_int_equal(b.receivedtime_ns, a.receivedtime_ns);
    assert_int_equal(b.data->via.map.size, 2);

    assert_int_equal(envelope_measure("\x81\xa1k\xc0", 4, ENVELOPE_DATA_DEPTH_MAX + 1, &len), 0);
    assert_int_equal(envelope_decode_measured("\x81\xa1k\xc0", len, &zone, &b, &why_b),
                     -EINVAL);
    assert_string_equal(why_b, "envelope lacks a required field");
    json_decref(data);
    msgpack_sbuffer_destroy(&buf);
    msgpack_zone_destroy(&zone);
}

/* Many envelopes decoded into one zone read as each alone does with envelope_decode,
 * and each stays intact while the others are decoded after it. */
static void envelope_decode_zone_many(void **state)
{
    enum { N = 300 };
    static const char *const subjects[] = {"g-1", "a-much-longer-subject-over-31-bytes-here"};
    msgpack_sbuffer bufs[N];
    struct envelope_view views[N];
    msgpack_zone zone;
    const char *why;

    (void)state;
    assert_true(msgpack_zone_init(&zone, 512)); /* small chunks: many of them */
    for (int i = 0; i < N; i++) {
        char text[64];
        json_t *data;
        struct envelope env;

        snprintf(text, sizeof(text), "{\"value\": %d, \"unit\": \"cm\", \"v\": [1, 2.5]}", i);
        data = load_json(text);
        env = sample_envelope(data);
        env.subject = subjects[i % 2];
        msgpack_sbuffer_init(&bufs[i]);
        assert_int_equal(envelope_encode(&env, &bufs[i]), 0);
        json_decref(data);
        assert_int_equal(envelope_decode_zone(bufs[i].data, bufs[i].size, &zone, &views[i], &why),
                         0);
    }
    for (int i = 0; i < N; i++) {
        msgpack_unpacked unpacked;
        struct envelope_view alone;
        json_t *a, *b;

        msgpack_unpacked_init(&unpacked);
        assert_int_equal(envelope_decode(bufs[i].data, bufs[i].size, &unpacked, &alone, &why), 0);
        assert_view_str(views[i].subject, subjects[i % 2]);
        assert_int_equal(views[i].id.len, alone.id.len);
        assert_memory_equal(views[i].id.ptr, alone.id.ptr, alone.id.len);
        assert_int_equal(views[i].receivedtime_ns, alone.receivedtime_ns);
        a = envelope_object_to_json(alone.data);
        b = envelope_object_to_json(views[i].data);
        assert_json_same(a, b);
        assert_int_equal(json_integer_value(json_object_get(b, "value")), i);
        json_decref(a);
        json_decref(b);
        msgpack_unpacked_destroy(&unpacked);
        msgpack_sbuffer_destroy(&bufs[i]);
    }
    msgpack_zone_destroy(&zone);
}

static void envelope_decode_any_order_and_extra_fields(void **state)
{
    msgpack_sbuffer buf;
    msgpack_unpacked unpacked;
    struct envelope_view view;
    const char *why = NULL;

    msgpack_sbuffer_init(&buf);
    pack_custom(&buf, -1, -1, 0, 0, true);
    msgpack_unpacked_init(&unpacked);
    assert_int_equal(envelope_decode(buf.data, buf.size, &unpacked, &view, &why), 0);
    assert_view_str(view.subject, "v");
    assert_int_equal(view.receivedtime_ns, 42);
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_clear(&buf);

    pack_custom(&buf, -1, -1, 0, 3, false);
    msgpack_unpacked_init(&unpacked);
    assert_int_equal(envelope_decode(buf.data, buf.size, &unpacked, &view, &why), 0);
    assert_view_str(view.id, "v");
    assert_int_equal(view.data->via.map.size, 1);
    msgpack_unpacked_destroy(&unpacked);
    msgpack_sbuffer_destroy(&buf);
}

static void envelope_decode_missing_field(void **state)
{
    for (int omit = 0; omit < (int)N_KEYS; omit++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        pack_custom(&buf, omit, -1, 0, 0, false);
        print_message("without %s\n", key_order[omit]);
        expect_refused(buf.data, buf.size, WHY_MISSING);
        /* An unknown field in its place does not count. */
        msgpack_sbuffer_clear(&buf);
        pack_custom(&buf, omit, -1, 0, 1, false);
        expect_refused(buf.data, buf.size, WHY_MISSING);
        msgpack_sbuffer_destroy(&buf);
    }
}

static void envelope_decode_wrong_field_type(void **state)
{
    static const char string_kinds[] = "inaz";
    static const char time_kinds[] = "snfaz";
    static const char data_kinds[] = "isaz";

    for (int field = 0; field < 8; field++) {
        for (const char *k = string_kinds; *k; k++) {
            msgpack_sbuffer buf;
            msgpack_sbuffer_init(&buf);
            pack_custom(&buf, -1, field, *k, 0, false);
            print_message("%s as %c\n", key_order[field], *k);
            expect_refused(buf.data, buf.size, WHY_STRING);
            msgpack_sbuffer_destroy(&buf);
        }
    }
    for (const char *k = time_kinds; *k; k++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        pack_custom(&buf, -1, 8, *k, 0, false);
        expect_refused(buf.data, buf.size, WHY_RECEIVEDTIME);
        msgpack_sbuffer_destroy(&buf);
    }
    for (const char *k = data_kinds; *k; k++) {
        msgpack_sbuffer buf;
        msgpack_sbuffer_init(&buf);
        pack_custom(&buf, -1, 9, *k, 0, false);
        expect_refused(buf.data, buf.size, WHY_DATA);
        msgpack_sbuffer_destroy(&buf);
    }
}

static void envelope_decode_not_a_map(void **state)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;

    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_array(&pk, 10);
    for (int i = 0; i < 10; i++)
        msgpack_pack_str_with_body(&pk, key_order[i], strlen(key_order[i]));
    expect_refused(buf.data, buf.size, WHY_NOT_MAP);
    msgpack_sbuffer_clear(&buf);
    msgpack_pack_str_with_body(&pk, "envelope", 8);
    expect_refused(buf.data, buf.size, WHY_NOT_MAP);
    msgpack_sbuffer_clear(&buf);
    msgpack_pack_uint64(&pk, 10);
    expect_refused(buf.data, buf.size, WHY_NOT_MAP);
    msgpack_sbuffer_clear(&buf);
    msgpack_pack_nil(&pk);
    expect_refused(buf.data, buf.size, WHY_NOT_MAP);
    msgpack_sbuffer_destroy(&buf);
    /* An empty map is a map, with every field missing. */
    expect_refused("\x80", 1, WHY_MISSING);
}

static void envelope_decode_truncated_at_every_length(void **state)
{
    json_t *data = load_json(rich_data);
    struct envelope env = sample_envelope(data);
    msgpack_sbuffer buf;

    msgpack_sbuffer_init(&buf);
    assert_int_equal(envelope_encode(&env, &buf), 0);
    for (size_t n = 0; n < buf.size; n++) {
        /* A copy of exactly n bytes, so that a read past the end is caught. */
        char *cut = malloc(n ? n : 1);
        assert_non_null(cut);
        memcpy(cut, buf.data, n);
        expect_refused(cut, n, WHY_BOUNDS);
        assert_int_equal(envelope_check_bounds(cut, n, 48), -EINVAL);
        free(cut);
    }
    msgpack_sbuffer_destroy(&buf);
    json_decref(data);
}

static void envelope_decode_trailing_bytes(void **state)
{
    json_t *data = load_json("{\"a\": 1}");
    struct envelope env = sample_envelope(data);
    msgpack_sbuffer buf;
    size_t one;

    msgpack_sbuffer_init(&buf);
    assert_int_equal(envelope_encode(&env, &buf), 0);
    one = buf.size;
    msgpack_sbuffer_write(&buf, "\xc0", 1);
    expect_refused(buf.data, buf.size, WHY_BOUNDS);
    assert_int_equal(envelope_check_bounds(buf.data, buf.size, 48), -EINVAL);
    /* Two envelopes back to back are not one. */
    msgpack_sbuffer_clear(&buf);
    assert_int_equal(envelope_encode(&env, &buf), 0);
    assert_int_equal(envelope_encode(&env, &buf), 0);
    assert_int_equal(buf.size, 2 * one);
    expect_refused(buf.data, buf.size, WHY_BOUNDS);
    expect_decodes_to(buf.data, one, &env);
    msgpack_sbuffer_destroy(&buf);
    json_decref(data);
}

static void envelope_decode_forged_sizes(void **state)
{
    static const struct {
        unsigned char bytes[20];
        size_t len;
    } forged[] = {
        {{0xdf, 0xff, 0xff, 0xff, 0xff}, 5}, /* map32 of 2^32-1 entries */
        {{0xdf, 0xff, 0xff, 0xff, 0xff, 0xa1, 'a', 0xc0, 0xa1, 'b', 0xc0}, 11}, /* two pairs */
        {{0xdd, 0xff, 0xff, 0xff, 0xff, 0xc0, 0xc0, 0xc0}, 8},    /* array32 of 2^32-1 */
        {{0xdb, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'}, 8},       /* str32 of 4 GiB */
        {{0xc6, 0xff, 0xff, 0xff, 0xff, 'a', 'b', 'c'}, 8},       /* bin32 of 4 GiB */
        {{0xc9, 0xff, 0xff, 0xff, 0xff, 0x01, 'a', 'b', 'c'}, 9}, /* ext32 of 4 GiB */
        {{0xde, 0xff, 0xff}, 3},                                  /* map16 of 65535 */
        {{0x8f, 0xa1, 'a', 0xc0}, 4},                             /* fixmap of 15, one pair */
        {{0x81, 0xa1, 'a'}, 3},                                   /* fixmap of 1, no value */
        {{0xdf, 0x00}, 2},                                        /* map32 with a cut size */
        {{0xc1}, 1},                                              /* never used */
        {{0x81, 0xa1, 'a', 0xc1}, 4},                             /* never used, as a value */
        {{0x82, 0xa1, 'a', 0xc0, 0xc1, 0xc0}, 6},                 /* never used, as a key */
        {{0}, 0},
    };

    for (size_t i = 0; i < sizeof(forged) / sizeof(forged[0]); i++) {
        char *copy = malloc(forged[i].len ? forged[i].len : 1);
        assert_non_null(copy);
        memcpy(copy, forged[i].bytes, forged[i].len);
        print_message("forged input %zu\n", i);
        expect_refused(copy, forged[i].len, WHY_BOUNDS);
        free(copy);
    }
}

static void envelope_decode_forged_data_size(void **state)
{
    msgpack_sbuffer buf;
    msgpack_packer pk;

    /* A well-formed head whose data claims 2^32-1 entries. */
    msgpack_sbuffer_init(&buf);
    msgpack_packer_init(&pk, &buf, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, N_KEYS);
    for (int i = 0; i < 8; i++) {
        msgpack_pack_str_with_body(&pk, key_order[i], strlen(key_order[i]));
        msgpack_pack_str_with_body(&pk, "v", 1);
    }
    msgpack_pack_str_with_body(&pk, "receivedtime", 12);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "data", 4);
    msgpack_pack_map(&pk, UINT32_MAX);
    msgpack_pack_str_with_body(&pk, "k", 1);
    msgpack_pack_nil(&pk);
    expect_refused(buf.data, buf.size, WHY_BOUNDS);
    msgpack_sbuffer_destroy(&buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(envelope_round_trip_every_field),
        cmocka_unit_test(envelope_round_trip_edges),
        cmocka_unit_test(envelope_encoding_is_stable),
        cmocka_unit_test(envelope_encoding_matches_msgpack_packer),
        cmocka_unit_test(envelope_key_order),
        cmocka_unit_test(envelope_data_keeps_key_order),
        cmocka_unit_test(envelope_round_trip_deep_data),
        cmocka_unit_test(envelope_decode_zone_many),
        cmocka_unit_test(envelope_decode_measured_first_of_two),
        cmocka_unit_test(envelope_decode_any_order_and_extra_fields),
        cmocka_unit_test(envelope_decode_missing_field),
        cmocka_unit_test(envelope_decode_wrong_field_type),
        cmocka_unit_test(envelope_decode_not_a_map),
        cmocka_unit_test(envelope_decode_truncated_at_every_length),
        cmocka_unit_test(envelope_decode_trailing_bytes),
        cmocka_unit_test(envelope_decode_forged_sizes),
        cmocka_unit_test(envelope_decode_forged_data_size),
    };

    return cmocka_run_group_tests_name("envelope", tests, NULL, NULL);
}
