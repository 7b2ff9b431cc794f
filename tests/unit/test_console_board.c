// SPDX-License-Identifier: MIT
/*
 * Unit tests of the console's board: alerts kept by topic and moved to the recent list
 * when cleared, retained removals, aggregates per subject and window, and the event
 * ring as a stream reads it: the snapshot first, parking when nothing is there, a
 * wake per parked stream, reads split at any buffer size, a stream that falls a whole
 * ring behind ended, a session's streams ended at logout; the resync after a connect
 * (board_resync.c): what the replay does not name is removed once the SUBACK has come
 * and the replay has been quiet for BOARD_RESYNC_QUIET_MS, with a "removed" event each.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board.h"

static int parked, woken;

static void park(void *conn)
{
    (void)conn;
    parked++;
}

static void wake(void *conn)
{
    (void)conn;
    woken++;
}

static const char *alert_json(const char *state, const char *id, const char *cleared_at)
{
    static char buf[512];

    snprintf(buf, sizeof(buf),
             "{\"id\":\"%s\",\"rule\":\"rhine-flood\",\"severity\":\"warning\",\"state\":\"%s\","
             "\"municipality\":\"linz\",\"subject\":\"g1\",\"cleared_at\":%s%s%s}",
             id, state, cleared_at ? "\"" : "", cleared_at ? cleared_at : "null",
             cleared_at ? "\"" : "");
    return buf;
}

static void put(struct board *b, const char *topic, const char *payload)
{
    board_alert(b, topic, payload, strlen(payload));
}

/* Everything a client can read now, as a NUL-terminated string (at most size - 1). */
static size_t drain(struct board *b, struct board_client *c, char *out, size_t size, size_t step)
{
    size_t n = 0;
    ssize_t k;

    while (n + step < size && (k = board_read(b, c, out + n, step)) > 0)
        n += (size_t)k;
    out[n] = '\0';
    return n;
}

static void board_alerts_and_recent(void **state)
{
    struct board *b = board_new(park, wake);
    json_t *j;

    (void)state;
    put(b, "linz/alerts/rhine-flood/g1", alert_json("active", "a1", NULL));
    put(b, "linz/alerts/rhine-flood/g1/ack", "{\"by\":\"x\"}"); /* five levels: not an alert */
    put(b, "linz/alerts/rhine-flood/g2", "not json");
    put(b, "linz/alerts/rhine-flood/g3", "{\"no\":\"state\"}");
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g1", NULL), BOARD_ALERT_HELD);
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g1", "a1"), BOARD_ALERT_HELD);
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g1", "a0"), BOARD_ALERT_OTHER);
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g2", NULL), BOARD_ALERT_NONE);
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g2", "a1"), BOARD_ALERT_NONE);
    j = board_alerts_json(b);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "alerts"), 0), "topic")),
                        "linz/alerts/rhine-flood/g1");
    json_decref(j);

    put(b, "linz/alerts/rhine-flood/g1", alert_json("cleared", "a1", "2026-12-04T10:00:00Z"));
    put(b, "linz/alerts/rhine-flood/g1", alert_json("cleared", "a1", "2026-12-04T10:00:00Z"));
    put(b, "linz/alerts/rhine-flood/g9", alert_json("cleared", "a9", "2026-12-04T11:00:00Z"));
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g1", NULL), BOARD_ALERT_NONE);
    j = board_alerts_json(b);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 0);
    assert_int_equal(json_array_size(json_object_get(j, "recent")), 2); /* once each */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "recent"), 0), "id")), "a9");
    json_decref(j);

    put(b, "linz/alerts/rhine-flood/g4", alert_json("acknowledged", "a4", NULL));
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g4", "a4"), BOARD_ALERT_HELD);
    board_alert(b, "linz/alerts/rhine-flood/g4", "", 0); /* the retained state removed */
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g4", "a4"), BOARD_ALERT_NONE);
    board_free(b);
}

static void board_recent_is_bounded(void **state)
{
    struct board *b = board_new(park, wake);
    json_t *j;

    (void)state;
    for (int i = 0; i < BOARD_RECENT_MAX + 20; i++) {
        char topic[64], id[16], when[32];
        snprintf(topic, sizeof(topic), "linz/alerts/r/s%d", i);
        snprintf(id, sizeof(id), "id%d", i);
        snprintf(when, sizeof(when), "2026-12-04T10:%02d:00Z", i);
        put(b, topic, alert_json("cleared", id, when));
    }
    j = board_alerts_json(b);
    assert_int_equal(json_array_size(json_object_get(j, "recent")), BOARD_RECENT_MAX);
    /* newest first: the last one cleared (minute 69 sorts as text after 59) is on top */
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "recent"), 0), "id")), "id69");
    json_decref(j);
    board_free(b);
}

static void board_aggregates(void **state)
{
    struct board *b = board_new(park, wake);
    const char *agg = "{\"window\":\"15m\",\"stats\":{\"value\":{\"last\":412}}}";
    json_t *g;

    (void)state;
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g1/15m", agg, strlen(agg));
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g1/1h", agg, strlen(agg));
    board_aggregate(b, "linz/analytics/sensor.waterlevel/_all/15m", agg, strlen(agg));
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g2", agg, strlen(agg));
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g3/1h", "[1]", 3);
    g = board_gauges_json(b);
    assert_int_equal(json_array_size(g), 1);
    assert_string_equal(json_string_value(json_object_get(json_array_get(g, 0), "subject")), "g1");
    assert_int_equal(json_object_size(json_object_get(json_array_get(g, 0), "windows")), 2);
    json_decref(g);
    board_free(b);
}

/*
 * BOARD_GAUGES_MAX bounds the (subject, window) aggregates held, not only the
 * subjects: one subject's windows, each a topic level a publisher chooses, are
 * counted too, so that a publisher looping over window names cannot grow the board.
 */
static void board_aggregate_windows_are_bounded(void **state)
{
    struct board *b = board_new(park, wake);
    const char *agg = "{\"stats\":{\"value\":{\"last\":1}}}";
    size_t held = 0, i;
    json_t *g, *one;

    (void)state;
    for (int k = 0; k < BOARD_GAUGES_MAX + 10; k++) {
        char topic[96];
        snprintf(topic, sizeof(topic), "linz/analytics/sensor.waterlevel/g1/w%d", k);
        board_aggregate(b, topic, agg, strlen(agg));
    }
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g2/1h", agg, strlen(agg));
    g = board_gauges_json(b);
    json_array_foreach(g, i, one)
        held += json_object_size(json_object_get(one, "windows"));
    assert_int_equal(held, BOARD_GAUGES_MAX);
    /* a window already held is still updated */
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g1/w0", "{\"n\":2}", 7);
    json_decref(g);
    g = board_gauges_json(b);
    one = json_object_get(json_object_get(json_array_get(g, 0), "windows"), "w0");
    assert_int_equal(json_integer_value(json_object_get(one, "n")), 2);
    json_decref(g);
    board_free(b);
}

static void board_stream_reads_parks_and_wakes(void **state)
{
    struct board *b = board_new(park, wake);
    struct board_client *c;
    char buf[8192];
    int conn;

    (void)state;
    parked = woken = 0;
    put(b, "linz/alerts/rhine-flood/g1", alert_json("active", "a1", NULL));
    c = board_attach(b, &conn, "session-1");
    assert_non_null(c);
    assert_int_equal(board_clients(b), 1);
    /* 7-byte reads: the snapshot and events are split anywhere and come out whole */
    drain(b, c, buf, sizeof(buf), 7);
    assert_non_null(strstr(buf, "retry: 1000\nevent: snapshot\ndata: {\"alerts\":[{"));
    assert_non_null(strstr(buf, "\"id\":\"a1\""));
    assert_int_equal(parked, 1);
    assert_int_equal(woken, 0);

    put(b, "linz/alerts/rhine-flood/g2", alert_json("active", "a2", NULL));
    assert_int_equal(woken, 1);
    put(b, "linz/alerts/rhine-flood/g3", alert_json("active", "a3", NULL));
    assert_int_equal(woken, 1); /* woken once until it parks again */
    drain(b, c, buf, sizeof(buf), 4096);
    assert_non_null(strstr(buf, "event: alert\ndata: {\"id\":\"a2\""));
    assert_non_null(strstr(buf, "event: alert\ndata: {\"id\":\"a3\""));
    assert_int_equal(strncmp(buf, "event: alert", 12), 0);
    assert_int_equal(parked, 2);

    board_ping(b);
    assert_int_equal(woken, 2);
    drain(b, c, buf, sizeof(buf), 4096);
    assert_string_equal(buf, ": ping\n\n");

    board_end_session(b, "other-session");
    assert_int_equal(woken, 2);
    board_end_session(b, "session-1");
    assert_int_equal(woken, 3);
    assert_int_equal(board_read(b, c, buf, sizeof(buf)), -1);
    board_detach(b, c);
    assert_int_equal(board_clients(b), 0);
    board_free(b);
}

static void board_slow_stream_is_ended(void **state)
{
    struct board *b = board_new(park, wake);
    struct board_client *c;
    char buf[65536];
    int conn;

    (void)state;
    c = board_attach(b, &conn, "s");
    drain(b, c, buf, sizeof(buf), sizeof(buf) - 1); /* the snapshot; parked */
    for (int i = 0; i < BOARD_RING; i++)
        board_ping(b);
    assert_true(board_read(b, c, buf, 16) > 0); /* a whole ring behind: still readable */
    board_detach(b, c);
    c = board_attach(b, &conn, "s");
    drain(b, c, buf, sizeof(buf), sizeof(buf) - 1);
    for (int i = 0; i < BOARD_RING + 1; i++)
        board_ping(b);
    assert_int_equal(board_read(b, c, buf, sizeof(buf)), -1); /* more: it must resync */
    board_detach(b, c);
    board_free(b);
}

static const char *agg_json = "{\"window\":\"15m\",\"stats\":{\"value\":{\"last\":412}}}";

static void agg(struct board *b, const char *topic)
{
    board_aggregate(b, topic, agg_json, strlen(agg_json));
}

static bool has_window(struct board *b, const char *subject, const char *window)
{
    json_t *g = board_gauges_json(b), *one;
    bool found = false;
    size_t i;

    json_array_foreach(g, i, one) {
        if (strcmp(json_string_value(json_object_get(one, "subject")), subject) == 0)
            found = json_object_get(json_object_get(one, "windows"), window) != NULL;
    }
    json_decref(g);
    return found;
}

static bool held(struct board *b, const char *topic)
{
    return board_alert_match(b, topic, NULL) == BOARD_ALERT_HELD;
}

/* Counts the occurrences of needle in haystack. */
static int count(const char *haystack, const char *needle)
{
    int n = 0;

    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void board_resync_removes_what_the_replay_lacks(void **state)
{
    struct board *b = board_new(park, wake);
    struct board_client *c;
    char buf[16384];
    int conn;

    (void)state;
    put(b, "linz/alerts/rhine-flood/g1", alert_json("active", "a1", NULL));
    put(b, "linz/alerts/rhine-flood/g2", alert_json("active", "a2", NULL));
    put(b, "linz/alerts/rhine-flood/g3", alert_json("acknowledged", "a3", NULL));
    agg(b, "linz/analytics/sensor.waterlevel/g1/15m");
    agg(b, "linz/analytics/sensor.waterlevel/g1/1h");
    agg(b, "linz/analytics/sensor.waterlevel/g2/15m");
    c = board_attach(b, &conn, "s");
    drain(b, c, buf, sizeof(buf), sizeof(buf) - 1);

    assert_int_equal(board_resync_begin(b), 0);
    board_resync_subscribed(b, 10000);
    /* the replay: g1's alert, g1's 15m window; a live update of g3 confirms it too */
    put(b, "linz/alerts/rhine-flood/g1", alert_json("active", "a1", NULL));
    board_resync_retained(b, 10100);
    agg(b, "linz/analytics/sensor.waterlevel/g1/15m");
    board_resync_retained(b, 10200);
    put(b, "linz/alerts/rhine-flood/g3", alert_json("acknowledged", "a3", NULL));
    /* raised after the connect: never unconfirmed */
    put(b, "linz/alerts/rhine-flood/g4", alert_json("active", "a4", NULL));

    board_resync_tick(b, 10200 + BOARD_RESYNC_QUIET_MS - 1); /* not quiet long enough */
    assert_true(held(b, "linz/alerts/rhine-flood/g2"));
    assert_true(has_window(b, "g2", "15m"));
    board_resync_tick(b, 10200 + BOARD_RESYNC_QUIET_MS);
    assert_false(held(b, "linz/alerts/rhine-flood/g2"));
    assert_false(has_window(b, "g2", "15m"));
    assert_false(has_window(b, "g1", "1h"));
    assert_true(held(b, "linz/alerts/rhine-flood/g1"));
    assert_true(held(b, "linz/alerts/rhine-flood/g3"));
    assert_true(held(b, "linz/alerts/rhine-flood/g4"));
    assert_true(has_window(b, "g1", "15m"));

    drain(b, c, buf, sizeof(buf), sizeof(buf) - 1);
    assert_non_null(strstr(buf, "event: removed\ndata: {\"topic\":"
                                "\"linz/alerts/rhine-flood/g2\"}\n\n"));
    assert_non_null(strstr(buf, "event: removed\ndata: {\"topic\":"
                                "\"linz/analytics/sensor.waterlevel/g2/15m\"}\n\n"));
    assert_non_null(strstr(buf, "event: removed\ndata: {\"topic\":"
                                "\"linz/analytics/sensor.waterlevel/g1/1h\"}\n\n"));
    assert_int_equal(count(buf, "event: removed"), 3);

    /* the resync is over: later ticks remove nothing */
    board_resync_tick(b, 99999);
    assert_true(held(b, "linz/alerts/rhine-flood/g1"));
    /* a sweep that came too early: the late retained message adds the alert back */
    put(b, "linz/alerts/rhine-flood/g2", alert_json("active", "a2", NULL));
    assert_true(held(b, "linz/alerts/rhine-flood/g2"));
    board_detach(b, c);
    board_free(b);
}

static void board_resync_waits_for_the_suback_and_stops_at_a_disconnect(void **state)
{
    struct board *b = board_new(park, wake);

    (void)state;
    put(b, "linz/alerts/rhine-flood/g1", alert_json("active", "a1", NULL));
    put(b, "linz/alerts/rhine-flood/g2", alert_json("active", "a2", NULL));
    assert_int_equal(board_resync_begin(b), 0);
    board_resync_retained(b, 1000);
    board_resync_tick(b, 50000); /* no SUBACK yet: the replay may not have begun */
    assert_true(held(b, "linz/alerts/rhine-flood/g1"));

    board_resync_cancel(b); /* disconnected: nothing is removed, not even later */
    board_resync_subscribed(b, 60000);
    board_resync_tick(b, 90000);
    assert_true(held(b, "linz/alerts/rhine-flood/g1"));

    /* a connect during a resync starts it over: what the first replay named counts no more */
    assert_int_equal(board_resync_begin(b), 0);
    put(b, "linz/alerts/rhine-flood/g1", alert_json("active", "a1", NULL));
    assert_int_equal(board_resync_begin(b), 0);
    board_resync_subscribed(b, 100000);
    put(b, "linz/alerts/rhine-flood/g2", alert_json("active", "a2", NULL));
    board_resync_retained(b, 100100);
    board_resync_tick(b, 100100 + BOARD_RESYNC_QUIET_MS);
    assert_false(held(b, "linz/alerts/rhine-flood/g1"));
    assert_true(held(b, "linz/alerts/rhine-flood/g2"));
    board_free(b);
}

/* An empty message removes an aggregate as it removes an alert: once, with one event. */
static void board_empty_messages_remove_once(void **state)
{
    struct board *b = board_new(park, wake);
    struct board_client *c;
    char buf[8192];
    json_t *g;
    int conn;

    (void)state;
    put(b, "linz/alerts/rhine-flood/g1", alert_json("active", "a1", NULL));
    agg(b, "linz/analytics/sensor.waterlevel/g1/15m");
    agg(b, "linz/analytics/sensor.waterlevel/g1/1h");
    c = board_attach(b, &conn, "s");
    drain(b, c, buf, sizeof(buf), sizeof(buf) - 1);
    assert_int_equal(board_resync_begin(b), 0);
    board_resync_subscribed(b, 0);
    board_alert(b, "linz/alerts/rhine-flood/g1", "", 0);
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g1/15m", "", 0);
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g1/15m", "", 0);
    assert_false(has_window(b, "g1", "15m"));
    assert_true(has_window(b, "g1", "1h"));
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g1/1h", "", 0);
    board_resync_tick(b, BOARD_RESYNC_QUIET_MS);
    drain(b, c, buf, sizeof(buf), sizeof(buf) - 1);
    assert_int_equal(count(buf, "event: removed"), 3);
    assert_int_equal(count(buf, "\"linz/analytics/sensor.waterlevel/g1/15m\""), 1);
    g = board_gauges_json(b);
    assert_int_equal(json_array_size(g), 0); /* no window left: the subject is gone too */
    json_decref(g);
    /* the cap counts what is held: the removed windows' places are free again */
    for (int k = 0; k < BOARD_GAUGES_MAX; k++) {
        char topic[96];
        snprintf(topic, sizeof(topic), "linz/analytics/sensor.waterlevel/g9/w%d", k);
        agg(b, topic);
    }
    assert_true(has_window(b, "g9", "w0"));
    assert_true(has_window(b, "g9", "w19999"));
    board_detach(b, c);
    board_free(b);
}

/* An empty message on a cleared alert's topic (its track forgotten by the alerting
 * worker) drops it from the recent list with one "removed" event; not counted as a
 * malformed payload. */
static void board_empty_message_drops_a_recent_alert(void **state)
{
    struct board *b = board_new(park, wake);
    struct board_client *c;
    char buf[8192];
    uint64_t dropped;
    size_t alerts;
    json_t *j;
    int conn;

    (void)state;
    put(b, "linz/alerts/rhine-flood/g1", alert_json("cleared", "a1", "2026-12-04T10:00:00Z"));
    put(b, "linz/alerts/rhine-flood/g2", alert_json("cleared", "a2", "2026-12-04T11:00:00Z"));
    c = board_attach(b, &conn, "s");
    drain(b, c, buf, sizeof(buf), sizeof(buf) - 1);
    board_alert(b, "linz/alerts/rhine-flood/g1", "", 0);
    board_alert(b, "linz/alerts/rhine-flood/g1", "", 0); /* nothing left: no event */
    drain(b, c, buf, sizeof(buf), sizeof(buf) - 1);
    assert_int_equal(count(buf, "event: removed"), 1);
    assert_int_equal(count(buf, "\"linz/alerts/rhine-flood/g1\""), 1);
    j = board_alerts_json(b);
    assert_int_equal(json_array_size(json_object_get(j, "recent")), 1);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(j, "recent"), 0), "id")), "a2");
    json_decref(j);
    board_stats(b, &alerts, &dropped);
    assert_int_equal(dropped, 0);
    board_detach(b, c);
    board_free(b);
}

/*
 * The board holds alerts and aggregates as their texts (board_internal.h): what the
 * API, the snapshot and the events show is still what was published, key order,
 * numbers, escapes and non-ASCII text included; the snapshot and board_alerts_text are
 * byte for byte the compact JSON of board_alerts_json, board_gauges_text that of
 * board_gauges_json with "silent" added.
 */
static void board_shows_what_was_published(void **state)
{
    static const char a1[] =
        "{\"id\":\"a1\",\"state\":\"active\",\"value\":712.25,\"threshold\":700,"
        "\"message\":\"Pegel \\u00fcber 700 cm \\\"hoch\\\"\\n</script>\",\"acked_by\":null}";
    static const char a2[] = "{\"state\":\"acknowledged\",\"id\":\"a2\",\"value\":1e-7,"
                             "\"subject\":\"Brücke/Ost\",\"x\":[1,{\"y\":true}]}";
    static const char g[] =
        "{\"window\":\"15m\",\"count\":3,\"stats\":{\"value\":{\"min\":35.0,"
        "\"mean\":37.6666666666667,\"last\":37}},\"counts\":{\"unit\":{\"cm\":3}}}";
    struct board *b = board_new(park, wake);
    struct board_client *c;
    char out[8192], *dump, *gdump, *text, expect[8192];
    json_t *j, *want, *got;
    size_t len;

    (void)state;
    put(b, "linz/alerts/rhine-flood/g1", a1);
    put(b, "linz/alerts/rhine-flood/g2", a2);
    put(b, "linz/alerts/rhine-flood/g1", a1); /* replaced: keeps its place */
    put(b, "linz/alerts/rhine-flood/g3", alert_json("cleared", "a3", "2026-12-04T10:00:00Z"));
    j = board_alerts_json(b);
    assert_int_equal(json_array_size(json_object_get(j, "alerts")), 2);
    want = json_loads(a1, 0, NULL);
    json_object_set_new(want, "topic", json_string("linz/alerts/rhine-flood/g1"));
    assert_true(json_equal(json_array_get(json_object_get(j, "alerts"), 0), want));
    got = board_alert_copy(b, "linz/alerts/rhine-flood/g1");
    assert_true(json_equal(got, want));
    json_decref(got);
    json_decref(want);
    want = json_loads(a2, 0, NULL);
    json_object_set_new(want, "topic", json_string("linz/alerts/rhine-flood/g2"));
    assert_true(json_equal(json_array_get(json_object_get(j, "alerts"), 1), want));
    json_decref(want);
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g2", "a2"), BOARD_ALERT_HELD);
    assert_int_equal(board_alert_match(b, "linz/alerts/rhine-flood/g2", "a1"), BOARD_ALERT_OTHER);

    dump = json_dumps(j, JSON_COMPACT);
    snprintf(expect, sizeof(expect), "retry: 1000\nevent: snapshot\ndata: %s\n\n", dump);
    c = board_attach(b, NULL, "s");
    drain(b, c, out, sizeof(out), 7);
    assert_string_equal(out, expect);
    text = board_alerts_text(b, &len);
    assert_string_equal(text, dump);
    assert_int_equal(len, strlen(dump));
    free(text);
    free(dump);
    json_decref(j);

    put(b, "linz/alerts/rhine-flood/g2", a2);
    want = json_loads(a2, 0, NULL);
    json_object_set_new(want, "topic", json_string("linz/alerts/rhine-flood/g2"));
    dump = json_dumps(want, JSON_COMPACT);
    snprintf(expect, sizeof(expect), "event: alert\ndata: %s\n\n", dump);
    drain(b, c, out, sizeof(out), 5);
    assert_string_equal(out, expect);
    free(dump);
    json_decref(want);
    board_detach(b, c);

    board_aggregate(b, "linz/analytics/sensor.waterlevel/g1/15m", g, strlen(g));
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g1/1h", agg_json, strlen(agg_json));
    board_aggregate(b, "linz/analytics/sensor.waterlevel/g1/15m", g, strlen(g));
    j = board_gauges_json(b);
    dump = json_dumps(j, JSON_COMPACT);
    want = json_loads(g, 0, NULL);
    gdump = json_dumps(want, JSON_COMPACT);
    snprintf(expect, sizeof(expect),
             "[{\"municipality\":\"linz\",\"type\":\"sensor.waterlevel\",\"subject\":\"g1\","
             "\"windows\":{\"15m\":%s,\"1h\":%s}}]",
             gdump, agg_json);
    assert_true(
        json_equal(json_object_get(json_object_get(json_array_get(j, 0), "windows"), "15m"), want));
    assert_string_equal(dump, expect);
    free(dump);
    free(gdump);
    json_decref(want);
    json_decref(j);

    /* /api/gauges: the same with "silent" per gauge, escapes in a subject included */
    board_aggregate(b, "linz/analytics/sensor.waterlevel/Brücke \"Ost\"/1h", g, strlen(g));
    j = board_gauges_json(b);
    json_object_set_new(json_array_get(j, 0), "silent", json_false());
    json_object_set_new(json_array_get(j, 1), "silent", json_true());
    dump = json_dumps(j, JSON_COMPACT);
    want = json_pack("{s:b}", "linz/sensor.waterlevel/Brücke \"Ost\"", 1);
    text = board_gauges_text(b, want, &len);
    assert_string_equal(text, dump);
    assert_int_equal(len, strlen(dump));
    free(text);
    free(dump);
    json_decref(want);
    json_decref(j);
    board_free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(board_alerts_and_recent),
        cmocka_unit_test(board_recent_is_bounded),
        cmocka_unit_test(board_aggregates),
        cmocka_unit_test(board_aggregate_windows_are_bounded),
        cmocka_unit_test(board_stream_reads_parks_and_wakes),
        cmocka_unit_test(board_slow_stream_is_ended),
        cmocka_unit_test(board_resync_removes_what_the_replay_lacks),
        cmocka_unit_test(board_resync_waits_for_the_suback_and_stops_at_a_disconnect),
        cmocka_unit_test(board_empty_messages_remove_once),
        cmocka_unit_test(board_empty_message_drops_a_recent_alert),
        cmocka_unit_test(board_shows_what_was_published),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
