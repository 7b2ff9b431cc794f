// SPDX-License-Identifier: MIT
/*
 * One libmosquitto client driven by the caller's own poll loop (no library thread):
 * connecting and reconnecting with a backoff of 1..30 s, the poll events it needs,
 * and the reads, writes and keepalive work after a poll. libmosquitto's own threaded
 * loop is not used: in 2.0.11 it never retries when the first connection attempt is
 * refused.
 *
 * An MQTT v5 link (session_expiry_s >= 0) connects with mosquitto_connect_bind_v5 every
 * time: libmosquitto 2.0.11's mosquitto_reconnect sends no CONNECT properties, and
 * without its session expiry interval a v5 session ends with the connection.
 */
#ifndef RHEINHUB_MQTT_LINK_H
#define RHEINHUB_MQTT_LINK_H

#include <poll.h>
#include <stdbool.h>
#include <stdint.h>

struct mosquitto;

struct mqtt_link {
    struct mosquitto *mosq;
    const char *name;           /* for the log */
    const char *host;           /* borrowed */
    int port;
    int keepalive_s;
    int session_expiry_s;       /* MQTT v5: sent with every CONNECT; -1: an MQTT 3.1.1 link */
    bool connected_once;        /* mosquitto_reconnect from now on */
    unsigned backoff_s;
    int64_t retry_ms;           /* no attempt before this (monotonic) */
    int64_t misc_ms;            /* next mosquitto_loop_misc (keepalive) */
};

/* Monotonic clock in ms. */
int64_t mqtt_link_now_ms(void);

/* An MQTT 3.1.1 link; set session_expiry_s afterwards for a v5 one. */
void mqtt_link_init(struct mqtt_link *l, struct mosquitto *mosq, const char *name,
                    const char *host, int port, int keepalive_s);

/* Connects when the socket is gone and the backoff allows (a blocking connect), and
 * does the keepalive work once a second. */
void mqtt_link_service(struct mqtt_link *l, int64_t now_ms);

/* The pollfd for the link: fd -1 when not connected; POLLIN when read is true. */
struct pollfd mqtt_link_pollfd(const struct mqtt_link *l, bool read);

/* After poll: reads when revents say so (callbacks run here), then writes what waits. */
void mqtt_link_after_poll(struct mqtt_link *l, short revents);

#endif
