// SPDX-License-Identifier: MIT
/*
 * rheinhub-bench-console: publish-to-browser latency of the operations console. It
 * opens N Server-Sent-Events streams (GET /api/events with a session cookie) on one
 * epoll loop, waits until each has its snapshot, then publishes R alert changes on
 * one MQTT topic, one at a time, each with its sequence number in the message, and
 * times every stream's receipt of each change from the moment just before the
 * publish. Prints the count, p50, p90, p99 and max in milliseconds and how many
 * receipts were missing; exit status 1 when any was.
 *
 * usage: rheinhub-bench-console -p HTTP_PORT -m MQTT_PORT -k COOKIE [-n CLIENTS]
 *        [-r ROUNDS] [-i INTERVAL_MS]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#define BUF_MAX 65536
#define TOPIC "linz/alerts/bench-console/bench-gauge-1"
#define ROUND_TIMEOUT_MS 5000

struct client {
    int fd;
    char buf[BUF_MAX];
    size_t len;
    bool snapshot;
    bool in_snapshot;   /* the buffer holds the rest of a snapshot larger than it */
    long last_seq;      /* highest change seen */
};

static struct client *clients;
static int n_clients;
static double *lat_ms; /* [round * n_clients + client] */
static long current_seq = -1;
static int64_t t0_ns;
static int got_current;

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int open_stream(int port, const char *cookie)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[1024];
    int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1, n;

    if (fd < 0)
        return -1;
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    n = snprintf(req, sizeof(req),
                 "GET /api/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nCookie: %s\r\n"
                 "Accept: text/event-stream\r\n\r\n", port, cookie);
    if (write(fd, req, (size_t)n) != n) {
        close(fd);
        return -1;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

/* Looks at the complete events in c->buf; keeps the incomplete rest. */
static void scan(struct client *c, int64_t t)
{
    char *p = c->buf, *end;

    c->buf[c->len] = '\0';
    while ((end = strstr(p, "\n\n"))) {
        *end = '\0';
        if (c->in_snapshot || strstr(p, "event: snapshot")) {
            c->snapshot = true;
            c->in_snapshot = false;
        }
        else if (strstr(p, "event: alert")) {
            const char *m = strstr(p, "\"message\":\"bench ");
            if (m) {
                long seq = strtol(m + 17, NULL, 10);
                if (seq > c->last_seq) {
                    c->last_seq = seq;
                    if (seq == current_seq) {
                        lat_ms[seq * n_clients + (c - clients)] = (double)(t - t0_ns) / 1e6;
                        got_current++;
                    }
                }
            }
        }
        p = end + 2;
    }
    c->len = strlen(p);
    memmove(c->buf, p, c->len);
}

/* Reads what is there; returns false when a stream ended. */
static bool pump(int ep, int timeout_ms)
{
    struct epoll_event ev[64];
    int n = epoll_wait(ep, ev, 64, timeout_ms);
    int64_t t = now_ns();

    for (int i = 0; i < n; i++) {
        struct client *c = ev[i].data.ptr;
        for (;;) {
            ssize_t k = read(c->fd, c->buf + c->len, BUF_MAX - 1 - c->len);
            if (k > 0) {
                c->len += (size_t)k;
                scan(c, t);
                if (c->len >= BUF_MAX - 1) { /* one event larger than the buffer: drop it */
                    c->buf[c->len] = '\0';
                    if (strstr(c->buf, "event: snapshot"))
                        c->in_snapshot = true; /* it counts once its end has come */
                    c->len = 0;
                }
                continue;
            }
            if (k == 0 || (errno != EAGAIN && errno != EINTR)) {
                fprintf(stderr, "bench-console: stream %d ended\n", (int)(c - clients));
                return false;
            }
            break;
        }
    }
    return true;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    int http_port = 0, mqtt_port = 0, rounds = 50, interval_ms = 200, opt, ep, missing = 0;
    const char *cookie = NULL;
    struct mosquitto *mosq;
    size_t n_lat = 0;
    double *sorted;

    n_clients = 500;
    while ((opt = getopt(argc, argv, "p:m:k:n:r:i:")) != -1) {
        switch (opt) {
        case 'p': http_port = atoi(optarg); break;
        case 'm': mqtt_port = atoi(optarg); break;
        case 'k': cookie = optarg; break;
        case 'n': n_clients = atoi(optarg); break;
        case 'r': rounds = atoi(optarg); break;
        case 'i': interval_ms = atoi(optarg); break;
        default: return 2;
        }
    }
    if (!http_port || !mqtt_port || !cookie || n_clients < 1 || rounds < 1 || interval_ms < 0) {
        fprintf(stderr, "usage: %s -p HTTP_PORT -m MQTT_PORT -k COOKIE [-n CLIENTS] "
                        "[-r ROUNDS] [-i INTERVAL_MS]\n", argv[0]);
        return 2;
    }
    clients = calloc((size_t)n_clients, sizeof(*clients));
    lat_ms = calloc((size_t)rounds * (size_t)n_clients, sizeof(*lat_ms));
    if (!clients || !lat_ms || (ep = epoll_create1(0)) < 0)
        return 1;
    for (int i = 0; i < n_clients; i++) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &clients[i]};
        clients[i].last_seq = -1;
        if ((clients[i].fd = open_stream(http_port, cookie)) < 0 ||
            epoll_ctl(ep, EPOLL_CTL_ADD, clients[i].fd, &ev) < 0) {
            fprintf(stderr, "bench-console: stream %d: %s\n", i, strerror(errno));
            return 1;
        }
    }
    for (int64_t until = now_ns() + 30 * 1000000000LL;;) {
        int ready = 0;
        for (int i = 0; i < n_clients; i++)
            ready += clients[i].snapshot;
        if (ready == n_clients)
            break;
        if (now_ns() > until) {
            fprintf(stderr, "bench-console: only %d of %d streams had their snapshot\n", ready,
                    n_clients);
            return 1;
        }
        if (!pump(ep, 100))
            return 1;
    }

    mosquitto_lib_init();
    if (!(mosq = mosquitto_new(NULL, true, NULL)))
        return 1;
    mosquitto_int_option(mosq, MOSQ_OPT_TCP_NODELAY, 1);
    if (mosquitto_connect(mosq, "127.0.0.1", mqtt_port, 30) != MOSQ_ERR_SUCCESS ||
        mosquitto_loop_start(mosq) != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "bench-console: cannot connect to the broker\n");
        return 1;
    }
    for (long r = 0; r < rounds; r++) {
        char payload[512];
        int64_t deadline;
        int len = snprintf(payload, sizeof(payload),
                           "{\"id\":\"linz:bench-console:bench-gauge-1:1\",\"rule\":\"bench-console\","
                           "\"severity\":\"%s\",\"state\":\"active\",\"municipality\":\"linz\","
                           "\"type\":\"sensor.waterlevel\",\"subject\":\"bench-gauge-1\","
                           "\"value\":%ld,\"threshold\":650,\"message\":\"bench %ld\","
                           "\"raised_at\":\"2026-12-04T10:00:00Z\",\"updated_at\":\"2026-12-04T10:00:00Z\","
                           "\"acked_by\":null,\"cleared_at\":null}",
                           r % 2 ? "critical" : "warning", 650 + r, r);
        current_seq = r;
        got_current = 0;
        t0_ns = now_ns();
        if (mosquitto_publish(mosq, NULL, TOPIC, len, payload, 1, true) != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "bench-console: publish failed\n");
            return 1;
        }
        deadline = t0_ns + (int64_t)ROUND_TIMEOUT_MS * 1000000;
        while (got_current < n_clients && now_ns() < deadline)
            if (!pump(ep, 20))
                return 1;
        missing += n_clients - got_current;
        for (int64_t pause_until = now_ns() + (int64_t)interval_ms * 1000000; now_ns() < pause_until;)
            if (!pump(ep, interval_ms))
                return 1;
    }
    mosquitto_publish(mosq, NULL, TOPIC, 0, "", 1, true);
    mosquitto_disconnect(mosq);
    mosquitto_loop_stop(mosq, false);
    mosquitto_destroy(mosq);
    mosquitto_lib_cleanup();

    sorted = malloc((size_t)rounds * (size_t)n_clients * sizeof(*sorted));
    for (size_t i = 0; sorted && i < (size_t)rounds * (size_t)n_clients; i++)
        if (lat_ms[i] > 0)
            sorted[n_lat++] = lat_ms[i];
    if (!sorted || n_lat == 0) {
        fprintf(stderr, "bench-console: no change arrived\n");
        return 1;
    }
    qsort(sorted, n_lat, sizeof(*sorted), cmp);
    printf("clients %d  changes %d  receipts %zu  missing %d\n", n_clients, rounds, n_lat, missing);
    printf("publish-to-client latency ms: p50 %.1f  p90 %.1f  p99 %.1f  max %.1f\n",
           sorted[n_lat / 2], sorted[n_lat * 90 / 100], sorted[n_lat * 99 / 100],
           sorted[n_lat - 1]);
    for (int i = 0; i < n_clients; i++)
        close(clients[i].fd);
    free(sorted);
    free(lat_ms);
    free(clients);
    return missing ? 1 : 0;
}
