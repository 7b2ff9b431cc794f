// SPDX-License-Identifier: MIT
/*
 * The MQTT client of the load tools (rheinhub-loadgen, rheinhub-benchsub): libmosquitto
 * driven from the program's own poll() loop on one thread, MQTT v5, TCP_NODELAY. The
 * programs embed struct bench_client as their first member and get it back as the
 * userdata of their own callbacks. Errors are printed with the program's name; the
 * functions return 0 or -1.
 */
#ifndef RHEINHUB_BENCH_CLIENT_H
#define RHEINHUB_BENCH_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include <mosquitto.h>

#define NSEC_PER_SEC 1000000000LL

struct bench_client {
    struct mosquitto *mosq;
    const char *prog;         /* program name, first word of every message */
    bool connected;
    bool connack_seen;
    int connack_rc;           /* CONNACK reason code, 0 on success */
    bool failed;              /* the connection dropped, or the program gave up on it */
    const uint64_t *progress; /* a pump reads on while this counter moves; NULL: once */
    int64_t last_misc_ns;     /* monotonic time of the last keepalive check, ns */
};

/* The monotonic clock in ns (exits on the clock's failure, which cannot happen). */
int64_t bench_now_ns(void);

/* Parses a whole decimal number in [min, max]; returns false on anything else. */
bool bench_parse_u64(const char *text, uint64_t min, uint64_t max, uint64_t *out);

/*
 * Initialises libmosquitto and a clean-session client with this id; flow_option
 * (MOSQ_OPT_SEND_MAXIMUM or MOSQ_OPT_RECEIVE_MAXIMUM) is set to flow_value. On -1,
 * bench_client_close() must still be called.
 */
int bench_client_open(struct bench_client *c, const char *prog, const char *client_id,
                      enum mosq_opt_t flow_option, int flow_value);

/* Connects and waits (10 s at most) for a successful CONNACK. */
int bench_client_connect(struct bench_client *c, const char *host, int port);

/*
 * Waits up to timeout_ns for socket activity and lets libmosquitto read, write and
 * keep the connection alive. Returns -1 when the connection is gone or failed.
 */
int bench_client_pump(struct bench_client *c, int64_t timeout_ns);

/* Sends DISCONNECT and lets it reach the socket; errors only matter as a message. */
void bench_client_disconnect(struct bench_client *c);

/* Frees the client and libmosquitto's global state. */
void bench_client_close(struct bench_client *c);

#endif
