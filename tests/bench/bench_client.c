// SPDX-License-Identifier: MIT
#include "bench_client.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mqtt_protocol.h>

#define CONNECT_TIMEOUT_NS (10 * NSEC_PER_SEC)
#define KEEPALIVE_S 60
/* Reads in one pump at most while messages keep arriving (struct bench_client.progress). */
#define MAX_READS 256

int64_t bench_now_ns(void)
{
    struct timespec ts;

    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        perror("clock_gettime");
        exit(1);
    }
    return (int64_t)ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

bool bench_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (text[0] == '\0' || text[0] == '-' || text[0] == '+')
        return false;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static void on_connect(struct mosquitto *mosq, void *arg, int rc, int flags,
                       const mosquitto_property *props)
{
    struct bench_client *c = arg;

    c->connack_seen = true;
    c->connack_rc = rc;
    c->connected = rc == 0;
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc,
                          const mosquitto_property *props)
{
    struct bench_client *c = arg;

    if (rc != 0 && c->connected) {
        fprintf(stderr, "%s: connection lost: %s\n", c->prog, mosquitto_strerror(rc));
        c->failed = true;
    }
    c->connected = false;
}

int bench_client_open(struct bench_client *c, const char *prog, const char *client_id,
                      enum mosq_opt_t flow_option, int flow_value)
{
    int rc;

    c->prog = prog;
    rc = mosquitto_lib_init();
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "%s: mosquitto_lib_init: %s\n", prog, mosquitto_strerror(rc));
        return -1;
    }
    c->mosq = mosquitto_new(client_id, true, c);
    if (c->mosq == NULL) {
        fprintf(stderr, "%s: mosquitto_new: %s\n", prog, strerror(errno));
        return -1;
    }
    if ((rc = mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5)) ||
        (rc = mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1)) ||
        (rc = mosquitto_int_option(c->mosq, flow_option, flow_value))) {
        fprintf(stderr, "%s: option: %s\n", prog, mosquitto_strerror(rc));
        return -1;
    }
    mosquitto_connect_v5_callback_set(c->mosq, on_connect);
    mosquitto_disconnect_v5_callback_set(c->mosq, on_disconnect);
    return 0;
}

int bench_client_connect(struct bench_client *c, const char *host, int port)
{
    int64_t deadline;
    int rc;

    rc = mosquitto_connect(c->mosq, host, port, KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "%s: connect %s:%d: %s\n", c->prog, host, port,
                rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
        return -1;
    }
    deadline = bench_now_ns() + CONNECT_TIMEOUT_NS;
    while (!c->connack_seen) {
        if (bench_now_ns() >= deadline) {
            fprintf(stderr, "%s: no CONNACK from %s:%d\n", c->prog, host, port);
            return -1;
        }
        if (bench_client_pump(c, NSEC_PER_SEC / 10) != 0) {
            fprintf(stderr, "%s: connection to %s:%d closed\n", c->prog, host, port);
            return -1;
        }
    }
    if (c->connack_rc != 0) {
        fprintf(stderr, "%s: broker refused: %s\n", c->prog, mosquitto_reason_string(c->connack_rc));
        return -1;
    }
    return 0;
}

/* Reads what arrived: once, or on while c->progress moves, as the hub does (one poll per
 * message would make a subscriber's ceiling measure poll(), not the broker). */
static int read_some(struct bench_client *c)
{
    for (int i = 0; i < MAX_READS; i++) {
        uint64_t before = c->progress ? *c->progress : 0;
        int rc = mosquitto_loop_read(c->mosq, 1);

        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "%s: read: %s\n", c->prog, mosquitto_strerror(rc));
            return -1;
        }
        if (c->progress == NULL || *c->progress == before)
            break;
    }
    return 0;
}

int bench_client_pump(struct bench_client *c, int64_t timeout_ns)
{
    struct pollfd pfd;
    struct timespec ts;
    int fd = mosquitto_socket(c->mosq);
    int rc;

    if (fd < 0)
        return -1;
    if (timeout_ns < 0)
        timeout_ns = 0;
    pfd.fd = fd;
    pfd.events = POLLIN | (mosquitto_want_write(c->mosq) ? POLLOUT : 0);
    pfd.revents = 0;
    ts.tv_sec = (time_t)(timeout_ns / NSEC_PER_SEC);
    ts.tv_nsec = (long)(timeout_ns % NSEC_PER_SEC);
    rc = ppoll(&pfd, 1, &ts, NULL);
    if (rc < 0 && errno != EINTR) {
        fprintf(stderr, "%s: ppoll: %s\n", c->prog, strerror(errno));
        return -1;
    }
    if (rc > 0 && (pfd.revents & (POLLIN | POLLERR | POLLHUP)) && read_some(c) != 0)
        return -1;
    /* What the reads queued (PUBACKs) is written here, not by the library. */
    if (mosquitto_socket(c->mosq) >= 0 && mosquitto_want_write(c->mosq)) {
        rc = mosquitto_loop_write(c->mosq, 1);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "%s: write: %s\n", c->prog, mosquitto_strerror(rc));
            return -1;
        }
    }
    if (bench_now_ns() - c->last_misc_ns >= NSEC_PER_SEC) {
        c->last_misc_ns = bench_now_ns();
        rc = mosquitto_loop_misc(c->mosq);
        if (rc != MOSQ_ERR_SUCCESS) {
            fprintf(stderr, "%s: keepalive: %s\n", c->prog, mosquitto_strerror(rc));
            return -1;
        }
    }
    return c->failed ? -1 : 0;
}

void bench_client_disconnect(struct bench_client *c)
{
    int64_t deadline = bench_now_ns() + NSEC_PER_SEC;
    int rc;

    if (!c->connected)
        return;
    rc = mosquitto_disconnect_v5(c->mosq, MQTT_RC_NORMAL_DISCONNECTION, NULL);
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
        fprintf(stderr, "%s: disconnect: %s\n", c->prog, mosquitto_strerror(rc));
        return;
    }
    while (mosquitto_socket(c->mosq) >= 0 && mosquitto_want_write(c->mosq) &&
           bench_now_ns() < deadline) {
        if (mosquitto_loop_write(c->mosq, 1) != MOSQ_ERR_SUCCESS)
            break;
    }
}

void bench_client_close(struct bench_client *c)
{
    mosquitto_destroy(c->mosq);
    c->mosq = NULL;
    mosquitto_lib_cleanup();
}
