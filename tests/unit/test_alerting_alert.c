// SPDX-License-Identifier: MIT
/*
 * Unit tests of what the alerting worker writes and reads on the wire: the alert JSON
 * against schemas/alert.schema.json in every state, alert ids, the envelope of a state
 * change, acknowledgements against schemas/examples/ack, message templates, RFC 3339
 * times and values.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "alert.h"
#include "envelope.h"
#include "schema.h"
#include "template.h"
#include "times.h"
#include "value.h"

static const char *source_root;

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    char *buf;
    long n;

    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    n = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)n + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
    buf[n] = '\0';
    fclose(f);
    if (len)
        *len = (size_t)n;
    return buf;
}

static struct alert sample(void)
{
    struct alert a;

    memset(&a, 0, sizeof(a));
    snprintf(a.rule, sizeof(a.rule), "rhine-flood");
    snprintf(a.municipality, sizeof(a.municipality), "linz");
    snprintf(a.type, sizeof(a.type), "sensor.waterlevel");
    snprintf(a.subject, sizeof(a.subject), "pegel-1");
    a.severity = SEVERITY_WARNING;
    a.state = ALERT_ACTIVE;
    value_set_int(&a.value, 712);
    value_set_int(&a.threshold, 650);
    snprintf(a.message, sizeof(a.message), "pegel-1: water level 712 cm ≥ 650 cm");
    snprintf(a.event_id, sizeof(a.event_id), "11110632d105db16f6b975bb72459627");
    snprintf(a.event_time, sizeof(a.event_time), "2026-11-26T06:00:00.000012345Z");
    assert_int_equal(times_parse("2026-11-26T06:00:00.412Z", 24, &a.raised_ns), 0);
    a.updated_ns = a.raised_ns;
    alert_make_id(&a);
    return a;
}

/* Every state the worker publishes is valid against the shipped schema. */
static void alert_json_matches_the_schema(void **state)
{
    char path[1024], err[256];
    size_t len;
    char *text;
    json_t *doc;
    struct schema_registry *reg = schema_registry_new();
    struct schema *s;
    struct schema_error errors[4];
    struct alert a = sample();

    (void)state;
    snprintf(path, sizeof(path), "%s/schemas/alert.schema.json", source_root);
    text = read_file(path, &len);
    assert_non_null(doc = json_loadb(text, len, 0, NULL));
    free(text);
    s = schema_compile(reg, doc, json_string_value(json_object_get(doc, "$id")), err, sizeof(err));
    if (!s)
        fail_msg("alert schema: %s", err);
    for (int round = 0; round < 5; round++) {
        json_t *j;
        char *out;
        int n;

        switch (round) {
        case 1:
            a.state = ALERT_ACKNOWLEDGED;
            snprintf(a.acked_by, sizeof(a.acked_by), "Bauhof Bereitschaft");
            a.updated_ns += NS_PER_S;
            break;
        case 2:
            a.state = ALERT_CLEARED;
            a.cleared_ns = a.updated_ns = a.updated_ns + NS_PER_S;
            value_set_real(&a.value, 619.5);
            break;
        case 3: /* a danger report: text values */
            a = sample();
            value_set_str(&a.value, "danger", 6);
            value_set_str(&a.threshold, "danger", 6);
            break;
        case 4: /* silence after a restart: null value */
            value_set_null(&a.value);
            value_set_null(&a.threshold);
            break;
        }
        out = alert_dumps(&a, NULL);
        assert_non_null(out);
        assert_non_null(j = json_loads(out, 0, NULL));
        n = schema_validate(s, j, errors, 4);
        if (n)
            fail_msg("round %d: %s: %s at '%s'", round, out, errors[0].message, errors[0].pointer);
        if (round == 0) {
            assert_string_equal(
                out, "{\"id\":\"linz:rhine-flood:pegel-1:1795672800412\",\"rule\":\"rhine-flood\","
                     "\"severity\":\"warning\",\"state\":\"active\",\"municipality\":\"linz\","
                     "\"type\":\"sensor.waterlevel\",\"subject\":\"pegel-1\",\"value\":712,"
                     "\"threshold\":650,\"message\":\"pegel-1: water level 712 cm ≥ 650 cm\","
                     "\"event_id\":\"11110632d105db16f6b975bb72459627\","
                     "\"event_time\":\"2026-11-26T06:00:00.000012345Z\","
                     "\"raised_at\":\"2026-11-26T06:00:00.412Z\","
                     "\"updated_at\":\"2026-11-26T06:00:00.412Z\",\"acked_by\":null,"
                     "\"cleared_at\":null}");
        }
        {
            struct alert back;
            char why[128];
            if (alert_from_json(j, &back, why, sizeof(why)) != 0)
                fail_msg("round %d: does not read back: %s", round, why);
            assert_string_equal(back.id, a.id);
            assert_int_equal(back.state, a.state);
            assert_int_equal(back.cleared_ns, a.cleared_ns);
            assert_true(value_equal(&back.value, &a.value));
            assert_string_equal(back.acked_by, a.acked_by);
        }
        json_decref(j);
        free(out);
    }
    {
        /* A fill level reads 0.9, not 0.90000000000000002. */
        char *out;
        a = sample();
        value_set_real(&a.value, 0.9);
        out = alert_dumps(&a, NULL);
        assert_non_null(strstr(out, "\"value\":0.9,"));
        free(out);
    }
    schema_free(s);
    schema_registry_free(reg);
    json_decref(doc);
}

static void alert_ids(void **state)
{
    struct alert a = sample();
    char id1[ALERT_CHANGE_ID_HEX + 1], id2[ALERT_CHANGE_ID_HEX + 1], id3[ALERT_CHANGE_ID_HEX + 1];

    (void)state;
    assert_string_equal(a.id, "linz:rhine-flood:pegel-1:1795672800412");
    /* A subject of 128 characters and a long rule: still at most 128, and unique. */
    memset(a.subject, 'x', TOPIC_SUBJECT_MAX);
    a.subject[TOPIC_SUBJECT_MAX] = '\0';
    memset(a.rule, 'r', 63);
    a.rule[63] = '\0';
    alert_make_id(&a);
    assert_true(strlen(a.id) <= 128);
    assert_non_null(strstr(a.id, "linz:rrr"));
    alert_change_id("linz:rhine-flood:pegel-1:1", 1, id1);
    alert_change_id("linz:rhine-flood:pegel-1:1", 2, id2);
    alert_change_id("linz:rhine-flood:pegel-1:1", 1, id3);
    assert_int_equal(strlen(id1), 32);
    assert_string_not_equal(id1, id2);
    assert_string_equal(id1, id3);
}

static bool str_is(const struct envelope_str *s, const char *want)
{
    return s->len == strlen(want) && memcmp(s->ptr, want, s->len) == 0;
}

/* The envelope of a state change, as the storage worker reads it. */
static void alert_envelope_for_storage(void **state)
{
    struct alert a = sample();
    msgpack_sbuffer buf;
    msgpack_unpacked u;
    struct envelope_view env;
    const char *why = NULL;
    char change_id[ALERT_CHANGE_ID_HEX + 1];
    json_t *data;

    (void)state;
    a.updated_ns += 1500 * NS_PER_MS;
    msgpack_sbuffer_init(&buf);
    assert_int_equal(alert_envelope(&a, 7, 42, &buf, change_id), 0);
    msgpack_unpacked_init(&u);
    if (envelope_decode(buf.data, buf.size, &u, &env, &why) != 0)
        fail_msg("the envelope does not decode: %s", why);
    assert_true(str_is(&env.specversion, "1.0"));
    assert_true(str_is(&env.id, change_id));
    assert_true(str_is(&env.source, "rheinhub-alerting"));
    assert_true(str_is(&env.type, "rheinhub.alert"));
    assert_true(str_is(&env.subject, "rhine-flood/pegel-1"));
    assert_true(str_is(&env.time, "2026-11-26T06:00:01.912Z"));
    assert_true(str_is(&env.municipality, "linz"));
    assert_true(str_is(&env.category, "alert"));
    assert_int_equal(env.receivedtime_ns, 42);
    assert_non_null(data = envelope_object_to_json(env.data));
    assert_string_equal(json_string_value(json_object_get(data, "id")), a.id);
    assert_string_equal(json_string_value(json_object_get(data, "updated_at")),
                        "2026-11-26T06:00:01.912Z");
    assert_int_equal(json_object_size(data), 16);
    json_decref(data);
    msgpack_unpacked_destroy(&u);
    msgpack_sbuffer_destroy(&buf);
}

/* Every shipped acknowledgement example is taken or refused as its name says. */
static void ack_examples(void **state)
{
    char dir[1024];
    DIR *d;
    struct dirent *e;
    int seen = 0;

    (void)state;
    snprintf(dir, sizeof(dir), "%s/schemas/examples/ack", source_root);
    assert_non_null(d = opendir(dir));
    while ((e = readdir(d))) {
        char path[2048];
        size_t len;
        char *text;
        struct ack ack;
        const char *why = NULL;
        int r;

        if (!strstr(e->d_name, ".json"))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        text = read_file(path, &len);
        r = ack_parse("linz/alerts/rhine-flood/pegel-1/ack", text, len, &ack, &why);
        if (strncmp(e->d_name, "valid", 5) == 0 && r != 0)
            fail_msg("%s refused: %s", e->d_name, why);
        if (strncmp(e->d_name, "invalid", 7) == 0 && r != -EINVAL)
            fail_msg("%s taken", e->d_name);
        if (r == 0)
            assert_string_equal(ack.key, "linz/rhine-flood/pegel-1");
        if (strcmp(e->d_name, "valid-with-alert-id.json") == 0)
            assert_string_equal(ack.alert_id, "linz:rhine-flood:pegel-1:1795672800412");
        free(text);
        seen++;
    }
    closedir(d);
    assert_true(seen >= 6);
}

static void ack_refusals(void **state)
{
    struct ack ack;
    const char *why = NULL;
    char big[ACK_PAYLOAD_MAX + 2];
    static const char *const bad_topics[] = {
        "linz/alerts/rhine-flood/pegel-1",    "linz/alerts/rhine-flood/pegel-1/ack/x",
        "linz/alert/rhine-flood/pegel-1/ack", "/alerts/rhine-flood/pegel-1/ack",
        "linz/alerts//pegel-1/ack",           "linz/alerts/rhine-flood/pegel-1/nack",
    };
    static const char *const bad_payloads[] = {
        "",
        "null",
        "[]",
        "\"Bauhof\"",
        "{\"by\":\"\"}",
        "{\"by\":7}",
        "{\"comment\":\"x\"}",
        "{\"by\":\"a\",\"by\":\"b\"}",
        "{\"by\":\"a\",\"who\":\"b\"}",
        "{\"by\":\"a\"",
        "{\"by\":\"a\",\"comment\":null}",
        "{\"by\":\"a\",\"alert_id\":\"\"}",
        "{\"by\":\"a\",\"alert_id\":7}",
        "{\"by\":\"a\",\"alert_id\":null}",
        "{\"by\":\"a\",\"alert_id\":[\"linz:a:b:1\"]}",
        "{\"by\":\"a\",\"alert_id\":\"linz/a/b\"}",
        "{\"by\":\"a\",\"alert_id\":\"linz:a:b:1\\u0000\"}",
    };
    const char ok[] = "{\"by\":\"Bauhof\",\"comment\":\"Sandsäcke\"}";

    (void)state;
    for (size_t i = 0; i < sizeof(bad_topics) / sizeof(bad_topics[0]); i++)
        if (ack_parse(bad_topics[i], ok, strlen(ok), &ack, &why) != -EINVAL)
            fail_msg("topic %s taken", bad_topics[i]);
    for (size_t i = 0; i < sizeof(bad_payloads) / sizeof(bad_payloads[0]); i++)
        if (ack_parse("linz/alerts/a/b/ack", bad_payloads[i], strlen(bad_payloads[i]), &ack,
                      &why) != -EINVAL)
            fail_msg("payload %s taken", bad_payloads[i]);
    memset(big, ' ', sizeof(big));
    big[0] = '{';
    assert_int_equal(ack_parse("linz/alerts/a/b/ack", big, sizeof(big), &ack, &why), -EINVAL);
    assert_non_null(strstr(why, "16 KiB"));
    /* by: 128 characters of two bytes each are fine, 129 are not. */
    {
        char payload[1024] = "{\"by\":\"";
        for (int i = 0; i < 128; i++)
            strcat(payload, "ä");
        strcat(payload, "\"}");
        assert_int_equal(ack_parse("linz/alerts/a/b/ack", payload, strlen(payload), &ack, &why), 0);
        payload[strlen(payload) - 2] = '\0';
        strcat(payload, "ä\"}");
        assert_int_equal(ack_parse("linz/alerts/a/b/ack", payload, strlen(payload), &ack, &why),
                         -EINVAL);
    }
    assert_int_equal(ack_parse("linz/alerts/a/b/ack", ok, strlen(ok), &ack, &why), 0);
    assert_string_equal(ack.by, "Bauhof");
    assert_string_equal(ack.comment, "Sandsäcke");
    assert_string_equal(ack.alert_id, ""); /* none named: the current alert, whichever */
}

/* alert_id: an alert's id, 1..128 characters of [A-Za-z0-9._:-]; a refusal says so. */
static void ack_alert_id(void **state)
{
    struct ack ack;
    const char *why = NULL;
    char payload[512], id[ALERT_ID_MAX + 1];

    (void)state;
    snprintf(payload, sizeof(payload), "{\"alert_id\":\"%s\",\"by\":\"Bauhof\"}",
             "linz:rhine-flood:pegel-1:1795672800412");
    assert_int_equal(ack_parse("linz/alerts/a/b/ack", payload, strlen(payload), &ack, &why), 0);
    assert_string_equal(ack.alert_id, "linz:rhine-flood:pegel-1:1795672800412");
    assert_string_equal(ack.by, "Bauhof");
    memset(id, 'x', ALERT_ID_MAX - 1);
    id[ALERT_ID_MAX - 1] = '\0';
    snprintf(payload, sizeof(payload), "{\"by\":\"Bauhof\",\"alert_id\":\"%s\"}", id);
    assert_int_equal(ack_parse("linz/alerts/a/b/ack", payload, strlen(payload), &ack, &why), 0);
    assert_int_equal(strlen(ack.alert_id), ALERT_ID_MAX - 1);
    strcat(id, "x"); /* 129 characters */
    snprintf(payload, sizeof(payload), "{\"by\":\"Bauhof\",\"alert_id\":\"%s\"}", id);
    why = NULL;
    assert_int_equal(ack_parse("linz/alerts/a/b/ack", payload, strlen(payload), &ack, &why),
                     -EINVAL);
    assert_non_null(why);
    assert_non_null(strstr(why, "\"alert_id\" must be"));
    snprintf(payload, sizeof(payload), "{\"by\":\"Bauhof\",\"alert_id\":\"\"}");
    why = NULL;
    assert_int_equal(ack_parse("linz/alerts/a/b/ack", payload, strlen(payload), &ack, &why),
                     -EINVAL);
    assert_non_null(strstr(why, "\"alert_id\" must be"));
}

static void template_rendering(void **state)
{
    char out[TEMPLATE_MESSAGE_MAX], why[256];
    struct value v, t;
    struct template_values tv = {.value = &v, .threshold = &t};
    char *big;

    (void)state;
    value_set_real(&v, 712.5);
    value_set_int(&t, 650);
    tv.text[TEMPLATE_FIELD_SUBJECT] = "pegel-1";
    tv.text[TEMPLATE_FIELD_RULE] = "rhine-flood";
    assert_int_equal(template_check("{subject}: {value} ≥ {threshold} {{cm}}", why, sizeof(why)),
                     0);
    template_render("{subject}: {value} ≥ {threshold} {{cm}}", &tv, out);
    assert_string_equal(out, "pegel-1: 712.5 ≥ 650 {cm}");
    template_render("{rule}/{data.x}/{municipality}", &tv, out);
    assert_string_equal(out, "rhine-flood//"); /* no data, no municipality: empty */
    assert_int_equal(template_check("{nope}", why, sizeof(why)), -EINVAL);
    assert_int_equal(template_check("{data.}", why, sizeof(why)), -EINVAL);
    assert_int_equal(template_check("a}b", why, sizeof(why)), -EINVAL);
    assert_int_equal(template_check("{data.a.b_c-d}", why, sizeof(why)), 0);
    /* At most 1000 characters, cut on a character boundary. */
    big = malloc(3000);
    assert_non_null(big);
    big[0] = '\0';
    for (int i = 0; i < 1100; i++)
        strcat(big, "ü");
    template_render(big, &tv, out);
    assert_int_equal(strlen(out), 2000);
    free(big);
}

static void times_parsing(void **state)
{
    int64_t a, b;
    char text[TIMES_TEXT_MAX];

    (void)state;
    assert_int_equal(times_parse("2026-11-26T06:00:00Z", 20, &a), 0);
    assert_int_equal(a, 1795672800LL * NS_PER_S);
    assert_int_equal(times_parse("2026-11-26T07:00:00.5+01:00", 27, &b), 0);
    assert_int_equal(b, a + 500 * NS_PER_MS);
    assert_int_equal(times_parse("2026-11-26T06:00:00.123456789123Z", 33, &b), 0);
    assert_int_equal(b, a + 123456789);
    assert_int_equal(times_parse("1969-12-31T23:59:59Z", 20, &b), 0);
    assert_int_equal(b, -NS_PER_S);
    assert_int_equal(times_parse("2026-11-26 06:00:00Z", 20, &b), -EINVAL);
    assert_int_equal(times_parse("2026-02-30T06:00:00Z", 20, &b), -EINVAL);
    /* Valid RFC 3339, but beyond int64 nanoseconds: refused, not wrapped around. */
    assert_int_equal(times_parse("9999-12-31T23:59:59Z", 20, &b), -ERANGE);
    assert_int_equal(times_parse("0001-01-01T00:00:00Z", 20, &b), -ERANGE);
    assert_int_equal(times_parse("2262-04-11T23:47:16.854775807Z", 30, &b), 0);
    assert_int_equal(b, INT64_MAX);
    times_format_ms(a + 412 * NS_PER_MS + 999999, text);
    assert_string_equal(text, "2026-11-26T06:00:00.412Z");
    /* Before 1970 and at both ends of int64 nanoseconds: the milliseconds rounded down,
     * before 1970 too (INT64_MIN is ...43.145224192). */
    times_format_ms(-NS_PER_MS, text);
    assert_string_equal(text, "1969-12-31T23:59:59.999Z");
    times_format_ms(-1, text);
    assert_string_equal(text, "1969-12-31T23:59:59.999Z");
    times_format_ms(0, text);
    assert_string_equal(text, "1970-01-01T00:00:00.000Z");
    times_format_ms(INT64_MIN, text);
    assert_string_equal(text, "1677-09-21T00:12:43.145Z");
    times_format_ms(INT64_MAX, text);
    assert_string_equal(text, "2262-04-11T23:47:16.854Z");
}

static void values(void **state)
{
    struct value a, b, d;
    char text[64];

    (void)state;
    value_set_int(&a, 1);
    value_set_real(&b, 1.0);
    assert_true(value_equal(&a, &b));
    value_set_str(&b, "1", 1);
    assert_false(value_equal(&a, &b));
    value_set_int(&a, 545);
    value_set_int(&b, 510);
    assert_int_equal(value_subtract(&a, &b, &d), 0);
    assert_int_equal(d.kind, VALUE_INT);
    assert_int_equal(d.i, 35);
    value_set_real(&b, 0.5);
    assert_int_equal(value_subtract(&a, &b, &d), 0);
    assert_int_equal(d.kind, VALUE_REAL);
    value_format(&d, text, sizeof(text));
    assert_string_equal(text, "544.5");
    value_set_str(&b, "x", 1);
    assert_int_equal(value_subtract(&a, &b, &d), -EINVAL);
    assert_int_equal(value_utf8_prefix("aüb", 4, 2, 10), 1); /* ü does not fit in 2 bytes */
    assert_int_equal(value_utf8_prefix("aüb", 4, 10, 2), 3);
}

int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(alert_json_matches_the_schema),
        cmocka_unit_test(alert_ids),
        cmocka_unit_test(alert_envelope_for_storage),
        cmocka_unit_test(ack_examples),
        cmocka_unit_test(ack_refusals),
        cmocka_unit_test(ack_alert_id),
        cmocka_unit_test(template_rendering),
        cmocka_unit_test(times_parsing),
        cmocka_unit_test(values),
    };

    source_root = argc > 1 ? argv[1] : ".";
    return cmocka_run_group_tests_name("alerting_alert", tests, NULL, NULL);
}
