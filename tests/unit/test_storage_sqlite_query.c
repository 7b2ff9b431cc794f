// SPDX-License-Identifier: MIT
/*
 * Unit tests of the SQLite store's queries (rheinhub-storage query): events by every
 * filter, in time order, as JSON lines and CSV; alerts one row per state change.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storage_sqlite_fixture.h"

/* Runs a query in read mode and returns what it printed (the caller frees it). */
static char *query(struct fixture *f, const struct store_filter *filter, enum export_format fmt)
{
    struct store *s = open_store(f, STORE_READ);
    struct export x;
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);

    assert_non_null(out);
    export_init(&x, out, fmt, filter->table);
    assert_int_equal(store_query(s, filter, &x), 0);
    assert_int_equal(export_finish(&x), 0);
    assert_int_equal(fclose(out), 0);
    store_close(s);
    return text;
}

/* The ids of JSON lines, in order, comma-separated. */
static void ids_of(const char *lines, char *out, size_t size)
{
    const char *p = lines;
    size_t n = 0;

    out[0] = '\0';
    while ((p = strstr(p, "{\"id\":\""))) {
        const char *end;
        p += 7;
        end = strchr(p, '"');
        n += (size_t)snprintf(out + n, size - n, "%s%.*s", n ? "," : "", (int)(end - p), p);
        p = end;
    }
}

static void storage_sqlite_query_filters_and_orders(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    struct store_counts c;
    struct store_filter q = {.table = STORE_EVENTS};
    char ids[512], *text;

    /* inserted out of time order; one in another municipality, one with an offset */
    add_event(f, "c", "p1", "2026-11-26T06:00:02Z");
    add_event(f, "a", "p1", "2026-11-26T06:00:00Z");
    add_event(f, "b", "p2", "2026-11-26T06:00:01Z");
    add_event(f, "d", "p1", "2026-11-26T08:00:03+01:00"); /* 07:00:03Z */
    add_row(f, "sensor.waterlevel", "e", "kaiserslautern", "p1", "2026-11-26T06:00:04Z",
            "{\"value\":1}");
    add_row(f, "sensor.parking", "f", "linz", "p1", "2026-11-26T06:00:05Z",
            "{\"status\":\"free\"}");
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, 6);
    rows_clear(f);
    store_close(s);

    text = query(f, &q, EXPORT_JSONL);
    ids_of(text, ids, sizeof(ids));
    assert_string_equal(ids, "a,b,c,e,f,d");
    free(text);

    q.municipality = "linz";
    q.type = "sensor.waterlevel";
    text = query(f, &q, EXPORT_JSONL);
    ids_of(text, ids, sizeof(ids));
    assert_string_equal(ids, "a,b,c,d");
    free(text);

    q.subject = "p1";
    text = query(f, &q, EXPORT_JSONL);
    ids_of(text, ids, sizeof(ids));
    assert_string_equal(ids, "a,c,d");
    free(text);

    q.has_since = true;
    q.since_ns = 1795672801LL * 1000000000LL; /* 06:00:01Z, inclusive */
    q.has_until = true;
    q.until_ns = 1795676403LL * 1000000000LL; /* 07:00:03Z, exclusive */
    text = query(f, &q, EXPORT_JSONL);
    ids_of(text, ids, sizeof(ids));
    assert_string_equal(ids, "c");
    free(text);

    q = (struct store_filter){.table = STORE_EVENTS, .id = "e"};
    text = query(f, &q, EXPORT_JSONL);
    ids_of(text, ids, sizeof(ids));
    assert_string_equal(ids, "e");
    free(text);

    q = (struct store_filter){.table = STORE_EVENTS, .limit = 2};
    text = query(f, &q, EXPORT_CSV);
    assert_string_equal(text,
                        "id,municipality,category,type,subject,time,received,source,data\r\n"
                        "a,linz,sensor,sensor.waterlevel,p1,2026-11-26T06:00:00Z,"
                        "1795673188606123456,mqtt://127.0.0.1:1883/x,"
                        "\"{\"\"time\"\":\"\"2026-11-26T06:00:00Z\"\",\"\"value\"\":412,"
                        "\"\"unit\"\":\"\"cm\"\"}\"\r\n"
                        "b,linz,sensor,sensor.waterlevel,p2,2026-11-26T06:00:01Z,"
                        "1795673188606123456,mqtt://127.0.0.1:1883/x,"
                        "\"{\"\"time\"\":\"\"2026-11-26T06:00:01Z\"\",\"\"value\"\":412,"
                        "\"\"unit\"\":\"\"cm\"\"}\"\r\n");
    free(text);
}

static void storage_sqlite_alerts_one_row_per_change(void **state)
{
    struct fixture *f = *state;
    struct store *s = open_store(f, STORE_CREATE);
    struct store_counts c;
    struct store_filter q = {.table = STORE_ALERTS, .subject = "pegel-1"};
    static const char active[] =
        "{\"id\":\"A1\",\"rule\":\"waterlevel_high\",\"severity\":\"critical\","
        "\"state\":\"active\",\"municipality\":\"linz\",\"type\":\"sensor.waterlevel\","
        "\"subject\":\"pegel-1\",\"value\":712,\"threshold\":650,\"message\":\"hoch\","
        "\"event_id\":\"e1\",\"event_time\":\"2026-11-26T06:00:00Z\","
        "\"raised_at\":\"2026-11-26T06:00:01Z\",\"updated_at\":\"2026-11-26T06:00:01Z\","
        "\"acked_by\":null,\"cleared_at\":null}";
    static const char cleared[] =
        "{\"id\":\"A1\",\"rule\":\"waterlevel_high\",\"severity\":\"critical\","
        "\"state\":\"cleared\",\"municipality\":\"linz\",\"type\":\"sensor.waterlevel\","
        "\"subject\":\"pegel-1\",\"value\":600,\"threshold\":650,\"message\":\"ok\","
        "\"event_id\":\"e2\",\"event_time\":\"2026-11-26T07:00:00Z\","
        "\"raised_at\":\"2026-11-26T06:00:01Z\",\"updated_at\":\"2026-11-26T07:00:01Z\","
        "\"acked_by\":null,\"cleared_at\":\"2026-11-26T07:00:01Z\"}";
    char *text;

    add_row(f, ROW_TYPE_ALERT, "change-2", "linz", "waterlevel_high/pegel-1",
            "2026-11-26T07:00:01Z", cleared);
    add_row(f, ROW_TYPE_ALERT, "change-1", "linz", "waterlevel_high/pegel-1",
            "2026-11-26T06:00:01Z", active);
    add_row(f, ROW_TYPE_ALERT, "change-1", "linz", "waterlevel_high/pegel-1",
            "2026-11-26T06:00:01Z", active);
    assert_int_equal(store_write(s, f->rows, f->n, &c), 0);
    assert_int_equal(c.stored, 2);
    assert_int_equal(c.duplicates, 1);
    rows_clear(f);
    store_close(s);
    assert_int_equal(scalar(f, "SELECT count(*) FROM alerts WHERE id = 'A1'"), 2);
    assert_int_equal(scalar(f, "SELECT value FROM alerts WHERE change_id = 'change-1'"), 712);
    assert_int_equal(scalar(f, "SELECT cleared_at IS NULL FROM alerts"
                               " WHERE change_id = 'change-1'"), 1);
    text = query(f, &q, EXPORT_JSONL);
    /* by updated_at: the active one first; each line the alert document */
    assert_int_equal(strlen(text), strlen(active) + strlen(cleared) + 2);
    assert_memory_equal(text, active, strlen(active));
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
        T(storage_sqlite_query_filters_and_orders),
        T(storage_sqlite_alerts_one_row_per_change),
#undef T
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
