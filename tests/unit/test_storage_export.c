// SPDX-License-Identifier: MIT
/*
 * Unit tests of the query output: JSON lines with escaped strings and data as JSON,
 * RFC 4180 CSV (header, CRLF, quoting only where needed, quotes doubled), and alerts
 * and aggregates as documents or as one CSV field per schema member.
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

#include "export.h"

struct capture {
    char *text;
    size_t len;
    FILE *f;
};

static void capture_open(struct capture *c)
{
    c->text = NULL;
    c->len = 0;
    c->f = open_memstream(&c->text, &c->len);
    assert_non_null(c->f);
}

static void capture_close(struct capture *c)
{
    assert_int_equal(fclose(c->f), 0);
}

#define V(s) {s, sizeof(s) - 1}

static const struct export_value plain_event[EXPORT_EVENT_NCOLS] = {
    V("e1"), V("linz"), V("sensor"), V("sensor.waterlevel"), V("pegel-1"),
    V("2026-11-26T06:00:00Z"), V("1795672800000000001"), V("mqtt://127.0.0.1:1883/t"),
    V("{\"value\":412}"),
};

static const struct export_value tricky_event[EXPORT_EVENT_NCOLS] = {
    V("e2"), V("linz"), V("citizen"), V("citizen.report"), V("r,7"),
    V("2026-11-26T06:00:00+01:00"), V("5"), V("src \"q\""),
    V("{\"description\":\"a, \\\"b\\\"\\nc\"}"),
};

static void export_events_as_json_lines(void **state)
{
    struct capture c;
    struct export x;
    struct export_value ctl[EXPORT_EVENT_NCOLS];

    memcpy(ctl, plain_event, sizeof(ctl));
    ctl[EXPORT_EVENT_SUBJECT] = (struct export_value){"tab\there\x01\\", 10};
    capture_open(&c);
    export_init(&x, c.f, EXPORT_JSONL, STORE_EVENTS);
    assert_int_equal(export_row(&x, plain_event, EXPORT_EVENT_NCOLS), 0);
    assert_int_equal(export_row(&x, tricky_event, EXPORT_EVENT_NCOLS), 0);
    assert_int_equal(export_row(&x, ctl, EXPORT_EVENT_NCOLS), 0);
    assert_int_equal(export_finish(&x), 0);
    capture_close(&c);
    assert_string_equal(
        c.text,
        "{\"id\":\"e1\",\"municipality\":\"linz\",\"category\":\"sensor\","
        "\"type\":\"sensor.waterlevel\",\"subject\":\"pegel-1\",\"time\":\"2026-11-26T06:00:00Z\","
        "\"received\":1795672800000000001,\"source\":\"mqtt://127.0.0.1:1883/t\","
        "\"data\":{\"value\":412}}\n"
        "{\"id\":\"e2\",\"municipality\":\"linz\",\"category\":\"citizen\","
        "\"type\":\"citizen.report\",\"subject\":\"r,7\",\"time\":\"2026-11-26T06:00:00+01:00\","
        "\"received\":5,\"source\":\"src \\\"q\\\"\","
        "\"data\":{\"description\":\"a, \\\"b\\\"\\nc\"}}\n"
        "{\"id\":\"e1\",\"municipality\":\"linz\",\"category\":\"sensor\","
        "\"type\":\"sensor.waterlevel\",\"subject\":\"tab\\there\\u0001\\\\\","
        "\"time\":\"2026-11-26T06:00:00Z\",\"received\":1795672800000000001,"
        "\"source\":\"mqtt://127.0.0.1:1883/t\",\"data\":{\"value\":412}}\n");
    assert_int_equal(x.rows, 3);
    free(c.text);
}

static void export_events_as_csv(void **state)
{
    struct capture c;
    struct export x;

    capture_open(&c);
    export_init(&x, c.f, EXPORT_CSV, STORE_EVENTS);
    assert_int_equal(export_row(&x, plain_event, EXPORT_EVENT_NCOLS), 0);
    assert_int_equal(export_row(&x, tricky_event, EXPORT_EVENT_NCOLS), 0);
    assert_int_equal(export_finish(&x), 0);
    capture_close(&c);
    assert_string_equal(
        c.text,
        "id,municipality,category,type,subject,time,received,source,data\r\n"
        "e1,linz,sensor,sensor.waterlevel,pegel-1,2026-11-26T06:00:00Z,1795672800000000001,"
        "mqtt://127.0.0.1:1883/t,\"{\"\"value\"\":412}\"\r\n"
        "e2,linz,citizen,citizen.report,\"r,7\",2026-11-26T06:00:00+01:00,5,"
        "\"src \"\"q\"\"\",\"{\"\"description\"\":\"\"a, \\\"\"b\\\"\"\\nc\"\"}\"\r\n");
    free(c.text);
}

static void export_csv_quotes_line_breaks(void **state)
{
    struct capture c;
    struct export x;
    struct export_value v[EXPORT_EVENT_NCOLS];

    memcpy(v, plain_event, sizeof(v));
    v[EXPORT_EVENT_SUBJECT] = (struct export_value){"a\nb", 3};
    v[EXPORT_EVENT_SOURCE] = (struct export_value){"c\rd", 3};
    v[EXPORT_EVENT_TIME] = (struct export_value){NULL, 0};
    capture_open(&c);
    export_init(&x, c.f, EXPORT_CSV, STORE_EVENTS);
    assert_int_equal(export_row(&x, v, EXPORT_EVENT_NCOLS), 0);
    assert_int_equal(export_finish(&x), 0);
    capture_close(&c);
    assert_non_null(strstr(c.text, ",\"a\nb\",,1795672800000000001,\"c\rd\","));
    free(c.text);
}

static void export_empty_csv_has_a_header(void **state)
{
    struct capture c;
    struct export x;

    capture_open(&c);
    export_init(&x, c.f, EXPORT_CSV, STORE_AGGREGATES);
    assert_int_equal(export_finish(&x), 0);
    capture_close(&c);
    assert_string_equal(c.text,
                        "municipality,type,subject,window,start,end,count,subjects,stats,counts\r\n");
    free(c.text);

    capture_open(&c);
    export_init(&x, c.f, EXPORT_JSONL, STORE_EVENTS);
    assert_int_equal(export_finish(&x), 0);
    capture_close(&c);
    assert_string_equal(c.text, "");
    free(c.text);
}

static const char alert_doc[] =
    "{\"id\":\"linz:waterlevel_high:pegel-1:1\",\"rule\":\"waterlevel_high\","
    "\"severity\":\"critical\",\"state\":\"acknowledged\",\"municipality\":\"linz\","
    "\"type\":\"sensor.waterlevel\",\"subject\":\"pegel-1\",\"value\":712.5,\"threshold\":650,"
    "\"message\":\"Pegel pegel-1: 712 cm, \\\"hoch\\\"\",\"event_id\":\"e1\","
    "\"event_time\":\"2026-11-26T06:00:00Z\",\"raised_at\":\"2026-11-26T06:00:01Z\","
    "\"updated_at\":\"2026-11-26T06:05:00Z\",\"acked_by\":\"Leitstelle\",\"cleared_at\":null}";

static void export_alerts(void **state)
{
    struct export_value v = {alert_doc, sizeof(alert_doc) - 1};
    struct capture c;
    struct export x;

    capture_open(&c);
    export_init(&x, c.f, EXPORT_JSONL, STORE_ALERTS);
    assert_int_equal(export_row(&x, &v, 1), 0);
    assert_int_equal(export_finish(&x), 0);
    capture_close(&c);
    assert_int_equal(c.len, sizeof(alert_doc)); /* the document and its newline */
    assert_memory_equal(c.text, alert_doc, sizeof(alert_doc) - 1);
    free(c.text);

    capture_open(&c);
    export_init(&x, c.f, EXPORT_CSV, STORE_ALERTS);
    assert_int_equal(export_row(&x, &v, 1), 0);
    assert_int_equal(export_finish(&x), 0);
    capture_close(&c);
    assert_string_equal(c.text,
                        "id,rule,severity,state,municipality,type,subject,value,threshold,message,"
                        "event_id,event_time,raised_at,updated_at,acked_by,cleared_at\r\n"
                        "linz:waterlevel_high:pegel-1:1,waterlevel_high,critical,acknowledged,linz,"
                        "sensor.waterlevel,pegel-1,712.5,650,\"Pegel pegel-1: 712 cm, \"\"hoch\"\"\","
                        "e1,2026-11-26T06:00:00Z,2026-11-26T06:00:01Z,2026-11-26T06:05:00Z,"
                        "Leitstelle,\r\n");
    free(c.text);
}

/* A string with U+0000 (SQLite stores it, docs/storage.md): CSV prints its bytes. */
static void export_alert_with_nul_as_csv(void **state)
{
    static const char doc[] =
        "{\"id\":\"a1\",\"rule\":\"r\",\"severity\":null,\"state\":\"active\","
        "\"municipality\":\"linz\",\"type\":\"sensor.soil\",\"subject\":\"s1\","
        "\"value\":1,\"threshold\":2,\"message\":\"a\\u0000b\"}";
    static const char want[] =
        "id,rule,severity,state,municipality,type,subject,value,threshold,message,"
        "event_id,event_time,raised_at,updated_at,acked_by,cleared_at\r\n"
        "a1,r,,active,linz,sensor.soil,s1,1,2,a\0b,,,,,,\r\n";
    struct export_value v = {doc, sizeof(doc) - 1};
    struct capture c;
    struct export x;

    capture_open(&c);
    export_init(&x, c.f, EXPORT_CSV, STORE_ALERTS);
    assert_int_equal(export_row(&x, &v, 1), 0);
    assert_int_equal(export_finish(&x), 0);
    capture_close(&c);
    assert_int_equal(c.len, sizeof(want) - 1);
    assert_memory_equal(c.text, want, sizeof(want) - 1);
    free(c.text);
}

static void export_aggregates_as_csv(void **state)
{
    static const char doc[] =
        "{\"municipality\":\"linz\",\"type\":\"sensor.parking\",\"subject\":\"_all\","
        "\"window\":\"1h\",\"start\":\"2026-11-26T06:00:00Z\",\"end\":\"2026-11-26T07:00:00Z\","
        "\"count\":120,\"subjects\":3,\"counts\":{\"status\":{\"free\":41,\"occupied\":79}}}";
    struct export_value v = {doc, sizeof(doc) - 1};
    struct capture c;
    struct export x;

    capture_open(&c);
    export_init(&x, c.f, EXPORT_CSV, STORE_AGGREGATES);
    assert_int_equal(export_row(&x, &v, 1), 0);
    assert_int_equal(export_finish(&x), 0);
    capture_close(&c);
    assert_string_equal(c.text,
                        "municipality,type,subject,window,start,end,count,subjects,stats,counts\r\n"
                        "linz,sensor.parking,_all,1h,2026-11-26T06:00:00Z,2026-11-26T07:00:00Z,"
                        "120,3,,\"{\"\"status\"\":{\"\"free\"\":41,\"\"occupied\"\":79}}\"\r\n");
    free(c.text);
}

static void export_refuses_bad_rows(void **state)
{
    struct export_value v = {"not json", 8};
    struct capture c;
    struct export x;

    capture_open(&c);
    export_init(&x, c.f, EXPORT_CSV, STORE_ALERTS);
    assert_int_equal(export_row(&x, &v, 1), -EINVAL);
    assert_int_equal(export_row(&x, plain_event, EXPORT_EVENT_NCOLS), -EINVAL);
    export_init(&x, c.f, EXPORT_JSONL, STORE_EVENTS);
    assert_int_equal(export_row(&x, &v, 1), -EINVAL);
    capture_close(&c);
    free(c.text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(export_events_as_json_lines),
        cmocka_unit_test(export_events_as_csv),
        cmocka_unit_test(export_csv_quotes_line_breaks),
        cmocka_unit_test(export_empty_csv_has_a_header),
        cmocka_unit_test(export_alerts),
        cmocka_unit_test(export_alert_with_nul_as_csv),
        cmocka_unit_test(export_aggregates_as_csv),
        cmocka_unit_test(export_refuses_bad_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
