// SPDX-License-Identifier: MIT
/*
 * rheinhub-bench-boardmem: the memory of the operations console's board per alert and
 * per aggregate. Feeds a board N alerts (argument 1, 6,700 by default) and then M
 * aggregates (argument 2, 20,000 by default) through board_alert and board_aggregate,
 * the entry points of the console's MQTT thread, with payloads as the alerting and
 * analytics workers publish them (docs/design.md "Alert JSON", docs/analytics.md):
 * an active rhine-flood alert of gauge-<i> on linz/alerts/rhine-flood/gauge-<i>, and a
 * water level aggregate (stats of value and trend, counts of unit) of gauge-<i / 4> and
 * the window 1m, 15m, 1h or 1d on linz/analytics/sensor.waterlevel/gauge-<i / 4>/<w>.
 * Prints the bytes per alert and per aggregate that the C library's allocator holds in
 * use (mallinfo2: arena and mmapped bytes, after minus before) and the process's RSS
 * growth, then what one snapshot for the live streams costs while a stream holds it
 * (board_attach), and what the API's reads of the board cost while their reply is built
 * (/api/alerts and /api/gauges, as api.c builds them). The figures include the event
 * ring (BOARD_RING events, the newest changes), which is full after the first 1,024
 * messages. Meaningful in a release or debugoptimized build only: AddressSanitizer
 * keeps its own allocator and red zones.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench_mem.h"
#include "board.h"

#define ALERTS_DEFAULT 6700
#define AGGREGATES_DEFAULT 20000

static const char *const windows[] = {"1m", "15m", "1h", "1d"};

static void conn_cb(void *conn)
{
    (void)conn;
}

/* Alert i as rheinhub-alerting publishes it (alert_to_json, compact). */
static int alert_payload(char *buf, size_t size, size_t i)
{
    long long ms = 1795651200000LL + (long long)i * 37;

    return snprintf(buf, size,
                    "{\"id\":\"linz:rhine-flood:gauge-%zu:%lld\",\"rule\":\"rhine-flood\","
                    "\"severity\":\"warning\",\"state\":\"active\",\"municipality\":\"linz\","
                    "\"type\":\"sensor.waterlevel\",\"subject\":\"gauge-%zu\",\"value\":%zu,"
                    "\"threshold\":700,\"message\":\"Water level above 700 cm\","
                    "\"event_id\":\"%032zx\",\"event_time\":\"2026-11-26T08:%02zu:%02zu.%03zuZ\","
                    "\"raised_at\":\"2026-11-26T08:%02zu:%02zu.%03zuZ\","
                    "\"updated_at\":\"2026-11-26T08:%02zu:%02zu.%03zuZ\","
                    "\"acked_by\":null,\"cleared_at\":null}",
                    i, ms, i, 700 + i % 90, i * 2654435761u, i / 60 % 60, i % 60, i % 1000,
                    i / 60 % 60, i % 60, (i + 2) % 1000, i / 60 % 60, i % 60, (i + 2) % 1000);
}

/* Aggregate i as rheinhub-analytics publishes it: one event in the window. */
static int aggregate_payload(char *buf, size_t size, size_t i)
{
    double v = 300.0 + (double)(i % 400) + 0.25;

    return snprintf(buf, size,
                    "{\"municipality\":\"linz\",\"type\":\"sensor.waterlevel\","
                    "\"subject\":\"gauge-%zu\",\"window\":\"%s\","
                    "\"start\":\"2026-11-26T08:00:00Z\",\"end\":\"2026-11-26T08:15:00Z\","
                    "\"count\":1,\"stats\":{\"value\":{\"count\":1,\"min\":%.15g,\"max\":%.15g,"
                    "\"mean\":%.15g,\"sum\":%.15g,\"last\":%.15g,\"stddev\":0.0},"
                    "\"trend\":{\"count\":1,\"min\":0.0,\"max\":0.0,\"mean\":0.0,\"sum\":0.0,"
                    "\"last\":0.0,\"stddev\":0.0}},\"counts\":{\"unit\":{\"cm\":1}}}",
                    i / 4, windows[i % 4], v, v, v, v, v);
}

/* Milliseconds since t0. */
static double since_ms(const struct timespec *t0)
{
    struct timespec t1;

    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

static size_t fullest; /* bench_mem_in_use() when an API read held the most */

static void count_alert(const json_t *alert, void *data)
{
    (void)alert;
    (*(size_t *)data)++;
}

/* The reply of /api/alerts (api.c): the board's text as it is. */
static char *alerts_reply(struct board *b)
{
    char *text = board_alerts_text(b, NULL);

    fullest = bench_mem_in_use();
    return text;
}

/* The reply of /api/gauges (api.c): the alerts visited one by one, then the text. */
static char *gauges_reply(struct board *b)
{
    json_t *silent = json_object();
    size_t n = 0;
    char *text;

    if (!silent || board_alerts_each(b, count_alert, &n) < 0) {
        json_decref(silent);
        return NULL;
    }
    text = board_gauges_text(b, silent, NULL);
    fullest = bench_mem_in_use();
    json_decref(silent);
    return text;
}

/* What one API read of the board costs: memory held while its reply is built, time. */
static int api_read(const char *what, struct board *b, char *(*read)(struct board *))
{
    struct timespec t0;
    size_t used0 = bench_mem_in_use();
    char *text;

    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (!(text = read(b)))
        return -1;
    printf("%-12s reply %.1f MiB of JSON, %.1f MiB in use while built, %.1f ms\n", what,
           (double)strlen(text) / 1048576, (double)(fullest - used0) / 1048576, since_ms(&t0));
    free(text);
    return 0;
}

static void report(const char *what, size_t n, size_t used0, size_t used1, long rss0, long rss1)
{
    if (used1 >= used0)
        printf("%-12s %6zu: allocator in use %6.1f MiB, %5.0f bytes each; ", what, n,
               (double)(used1 - used0) / 1048576, (double)(used1 - used0) / (double)n);
    else
        printf("%-12s %6zu: allocator in use not known; ", what, n);
    printf("RSS %6.1f MiB, %5.0f bytes each\n", (double)(rss1 - rss0) / 1024,
           (double)(rss1 - rss0) * 1024 / (double)n);
}

int main(int argc, char **argv)
{
    size_t n = ALERTS_DEFAULT, m = AGGREGATES_DEFAULT, used0, used1, held;
    long rss0, rss1;
    char topic[256], payload[2048];
    struct board *b;
    struct board_client *c;
    uint64_t dropped;
    struct timespec t0, t1;

    if ((argc > 1 && (n = strtoul(argv[1], NULL, 10)) == 0) ||
        (argc > 2 && (m = strtoul(argv[2], NULL, 10)) == 0)) {
        fprintf(stderr, "usage: rheinhub-bench-boardmem [alerts [aggregates]]\n");
        return 2;
    }
    if (!(b = board_new(conn_cb, conn_cb)))
        return 1;
    used0 = bench_mem_in_use();
    rss0 = bench_mem_rss_kib();
    for (size_t i = 0; i < n; i++) {
        int len = alert_payload(payload, sizeof(payload), i);
        snprintf(topic, sizeof(topic), "linz/alerts/rhine-flood/gauge-%zu", i);
        board_alert(b, topic, payload, (size_t)len);
    }
    used1 = bench_mem_in_use();
    rss1 = bench_mem_rss_kib();
    report("alerts", n, used0, used1, rss0, rss1);
    used0 = used1;
    rss0 = rss1;
    for (size_t i = 0; i < m; i++) {
        int len = aggregate_payload(payload, sizeof(payload), i);
        snprintf(topic, sizeof(topic), "linz/analytics/sensor.waterlevel/gauge-%zu/%s", i / 4,
                 windows[i % 4]);
        board_aggregate(b, topic, payload, (size_t)len);
    }
    used1 = bench_mem_in_use();
    rss1 = bench_mem_rss_kib();
    report("aggregates", m, used0, used1, rss0, rss1);
    board_stats(b, &held, &dropped);
    printf("held alerts %zu, dropped %llu (alert payload %d bytes, aggregate %d bytes)\n", held,
           (unsigned long long)dropped, alert_payload(payload, sizeof(payload), n - 1),
           aggregate_payload(payload, sizeof(payload), m - 1));
    used0 = bench_mem_in_use();
    rss0 = bench_mem_rss_kib();
    clock_gettime(CLOCK_MONOTONIC, &t0);
    c = board_attach(b, NULL, "bench");
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (!c)
        return 1;
    used1 = bench_mem_in_use();
    rss1 = bench_mem_rss_kib();
    printf("snapshot     %.1f MiB in use (%.0f bytes per alert), RSS %+.1f MiB, built in %.1f ms\n",
           (double)(used1 - used0) / 1048576, (double)(used1 - used0) / (double)n,
           (double)(rss1 - rss0) / 1024,
           (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    board_detach(b, c);
    if (api_read("/api/alerts", b, alerts_reply) < 0 ||
        api_read("/api/gauges", b, gauges_reply) < 0)
        return 1;
    board_free(b);
    return 0;
}
