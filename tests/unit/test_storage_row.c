// SPDX-License-Identifier: MIT
/*
 * Unit tests of rows from envelopes: the table by the envelope's type, event columns
 * and the payload's JSON text, alert and aggregate columns from their documents, and
 * the refusals (with their reasons) of envelopes that can never be stored.
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

#include "envelope.h"
#include "row.h"
#include "timestamp.h"

struct decoded {
    msgpack_sbuffer buf;
    msgpack_unpacked unpacked;
    struct envelope_view view;
};

/* Encodes an envelope with the given type, time and data (JSON text), and decodes it. */
static void decode(struct decoded *d, const char *type, const char *time, const char *data)
{
    json_t *json = json_loads(data, 0, NULL);
    struct envelope env = {
        .id = "0123456789abcdef0123456789abcdef",
        .source = "mqtt://127.0.0.1:1883/linz/sensor/waterlevel/pegel-1",
        .type = type,
        .subject = "pegel-1",
        .time = time,
        .municipality = "linz",
        .category = "sensor",
        .receivedtime_ns = 1795673188606123456ULL,
        .data = json,
    };
    const char *why = NULL;

    assert_non_null(json);
    msgpack_sbuffer_init(&d->buf);
    assert_int_equal(envelope_encode(&env, &d->buf), 0);
    json_decref(json);
    msgpack_unpacked_init(&d->unpacked);
    assert_int_equal(envelope_decode(d->buf.data, d->buf.size, &d->unpacked, &d->view, &why), 0);
}

static void decoded_free(struct decoded *d)
{
    msgpack_unpacked_destroy(&d->unpacked);
    msgpack_sbuffer_destroy(&d->buf);
}

static void assert_str(const struct row_str *s, const char *expect)
{
    if (!expect) {
        assert_null(s->ptr);
        return;
    }
    assert_non_null(s->ptr);
    assert_int_equal(s->len, strlen(expect));
    assert_memory_equal(s->ptr, expect, s->len);
}

static int64_t ns(const char *t)
{
    int64_t v;

    assert_int_equal(timestamp_parse(t, strlen(t), &v), 0);
    return v;
}

static void row_event_columns_and_text(void **state)
{
    static const char data[] =
        "{\"time\":\"2026-11-26T07:00:00.5+01:00\",\"value\":412,\"unit\":\"cm\",\"r\":0.25}";
    struct decoded d;
    struct row row;

    decode(&d, "sensor.waterlevel", "2026-11-26T07:00:00.5+01:00", data);
    assert_int_equal(row_build(&row, &d.view), 0);
    assert_int_equal(row.table, STORE_EVENTS);
    assert_false(row.failed);
    assert_str(&row.u.event.id, "0123456789abcdef0123456789abcdef");
    assert_str(&row.u.event.municipality, "linz");
    assert_str(&row.u.event.category, "sensor");
    assert_str(&row.u.event.type, "sensor.waterlevel");
    assert_str(&row.u.event.subject, "pegel-1");
    assert_str(&row.u.event.time, "2026-11-26T07:00:00.5+01:00");
    assert_str(&row.u.event.source, "mqtt://127.0.0.1:1883/linz/sensor/waterlevel/pegel-1");
    assert_int_equal(row.u.event.time_ns, ns("2026-11-26T06:00:00.5Z"));
    assert_int_equal(row.received_ns, 1795673188606123456ULL);
    assert_string_equal(row.data, data); /* compact, in the publisher's key order */
    assert_int_equal(row.data_len, strlen(data));
    assert_null(row.json);
    row_clear(&row);
    row_clear(&row); /* a cleared row clears again */
    decoded_free(&d);
}

static void row_event_with_bad_time_is_refused(void **state)
{
    struct decoded d;
    struct row row;

    decode(&d, "sensor.waterlevel", "yesterday", "{\"value\":1}");
    assert_int_equal(row_build(&row, &d.view), -EINVAL);
    assert_true(row.failed);
    assert_string_equal(row.error, "event time is not an RFC 3339 date-time");
    row_clear(&row);
    decoded_free(&d);
}

static const char alert_doc[] =
    "{\"id\":\"linz:waterlevel_high:pegel-1:1\",\"rule\":\"waterlevel_high\","
    "\"severity\":\"critical\",\"state\":\"cleared\",\"municipality\":\"linz\","
    "\"type\":\"sensor.waterlevel\",\"subject\":\"pegel-1\",\"value\":712,\"threshold\":650,"
    "\"message\":\"Pegel pegel-1: 712 cm\",\"event_id\":\"e1\","
    "\"event_time\":\"2026-11-26T06:00:00.000012345Z\",\"raised_at\":\"2026-11-26T06:00:01Z\","
    "\"updated_at\":\"2026-11-26T06:30:00.250Z\",\"acked_by\":null,"
    "\"cleared_at\":\"2026-11-26T06:30:00.250Z\"}";

static void row_alert_columns(void **state)
{
    struct decoded d;
    struct row row;

    decode(&d, ROW_TYPE_ALERT, "2026-11-26T06:30:00.250Z", alert_doc);
    assert_int_equal(row_build(&row, &d.view), 0);
    assert_int_equal(row.table, STORE_ALERTS);
    assert_str(&row.u.alert.change_id, "0123456789abcdef0123456789abcdef");
    assert_str(&row.u.alert.id, "linz:waterlevel_high:pegel-1:1");
    assert_str(&row.u.alert.rule, "waterlevel_high");
    assert_str(&row.u.alert.severity, "critical");
    assert_str(&row.u.alert.state, "cleared");
    assert_str(&row.u.alert.type, "sensor.waterlevel");
    assert_str(&row.u.alert.subject, "pegel-1");
    assert_str(&row.u.alert.event_time, "2026-11-26T06:00:00.000012345Z");
    assert_str(&row.u.alert.acked_by, NULL);
    assert_str(&row.u.alert.cleared_at, "2026-11-26T06:30:00.250Z");
    assert_int_equal(row.u.alert.updated_ns, ns("2026-11-26T06:30:00.250Z"));
    assert_int_equal(row.u.alert.cleared_ns, ns("2026-11-26T06:30:00.250Z"));
    assert_int_equal(row.u.alert.raised_ns, ns("2026-11-26T06:00:01Z"));
    assert_int_equal(json_integer_value(row.u.alert.value), 712);
    assert_string_equal(row.data, alert_doc);
    row_clear(&row);
    decoded_free(&d);
}

static void row_alert_without_fields_is_refused(void **state)
{
    static const struct {
        const char *doc, *why;
    } cases[] = {
        {"{\"rule\":\"r\",\"state\":\"active\",\"municipality\":\"linz\",\"type\":\"t\","
         "\"subject\":\"s\",\"raised_at\":\"2026-11-26T06:00:00Z\","
         "\"updated_at\":\"2026-11-26T06:00:00Z\"}",
         "alerts: id is missing"},
        {"{\"id\":7,\"rule\":\"r\",\"state\":\"active\",\"municipality\":\"linz\",\"type\":\"t\","
         "\"subject\":\"s\",\"raised_at\":\"2026-11-26T06:00:00Z\","
         "\"updated_at\":\"2026-11-26T06:00:00Z\"}",
         "alerts: id is not a string"},
        {"{\"id\":\"a\",\"rule\":\"r\",\"state\":\"active\",\"municipality\":\"linz\","
         "\"type\":\"t\",\"subject\":\"s\",\"raised_at\":\"2026-11-26T06:00:00Z\","
         "\"updated_at\":\"soon\"}",
         "alerts: updated_at is not an RFC 3339 date-time"},
    };
    struct decoded d;
    struct row row;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        decode(&d, ROW_TYPE_ALERT, "2026-11-26T06:00:00Z", cases[i].doc);
        assert_int_equal(row_build(&row, &d.view), -EINVAL);
        assert_true(row.failed);
        assert_string_equal(row.error, cases[i].why);
        row_clear(&row);
        decoded_free(&d);
    }
}

static void row_aggregate_columns(void **state)
{
    static const char doc[] =
        "{\"municipality\":\"linz\",\"type\":\"sensor.parking\",\"subject\":\"_all\","
        "\"window\":\"1h\",\"start\":\"2026-11-26T06:00:00Z\",\"end\":\"2026-11-26T07:00:00Z\","
        "\"count\":120,\"subjects\":3}";
    static const char single[] =
        "{\"municipality\":\"linz\",\"type\":\"sensor.parking\",\"subject\":\"p1\","
        "\"window\":\"15m\",\"start\":\"2026-11-26T06:00:00Z\",\"end\":\"2026-11-26T06:15:00Z\","
        "\"count\":0}";
    struct decoded d;
    struct row row;

    decode(&d, ROW_TYPE_AGGREGATE, "2026-11-26T07:00:00Z", doc);
    assert_int_equal(row_build(&row, &d.view), 0);
    assert_int_equal(row.table, STORE_AGGREGATES);
    assert_str(&row.u.aggregate.municipality, "linz");
    assert_str(&row.u.aggregate.subject, "_all");
    assert_str(&row.u.aggregate.window, "1h");
    assert_int_equal(row.u.aggregate.start_ns, ns("2026-11-26T06:00:00Z"));
    assert_int_equal(row.u.aggregate.end_ns, ns("2026-11-26T07:00:00Z"));
    assert_int_equal(row.u.aggregate.count, 120);
    assert_true(row.u.aggregate.has_subjects);
    assert_int_equal(row.u.aggregate.subjects, 3);
    row_clear(&row);
    decoded_free(&d);

    decode(&d, ROW_TYPE_AGGREGATE, "2026-11-26T06:15:00Z", single);
    assert_int_equal(row_build(&row, &d.view), 0);
    assert_false(row.u.aggregate.has_subjects);
    row_clear(&row);
    decoded_free(&d);

    decode(&d, ROW_TYPE_AGGREGATE, "2026-11-26T06:15:00Z", "{\"municipality\":\"linz\"}");
    assert_int_equal(row_build(&row, &d.view), -EINVAL);
    assert_string_equal(row.error, "aggregates: type is missing");
    row_clear(&row);
    decoded_free(&d);
}

static void row_tables_by_name(void **state)
{
    enum store_table t;

    assert_int_equal(store_table_parse("alerts", &t), 0);
    assert_int_equal(t, STORE_ALERTS);
    assert_int_equal(store_table_parse("events", &t), 0);
    assert_int_equal(t, STORE_EVENTS);
    assert_int_equal(store_table_parse("aggregates", &t), 0);
    assert_int_equal(t, STORE_AGGREGATES);
    assert_int_equal(store_table_parse("event", &t), -EINVAL);
    assert_string_equal(store_table_name(STORE_ALERTS), "alerts");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(row_event_columns_and_text),
        cmocka_unit_test(row_event_with_bad_time_is_refused),
        cmocka_unit_test(row_alert_columns),
        cmocka_unit_test(row_alert_without_fields_is_refused),
        cmocka_unit_test(row_aggregate_columns),
        cmocka_unit_test(row_tables_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
