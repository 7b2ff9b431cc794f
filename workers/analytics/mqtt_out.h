// SPDX-License-Identifier: MIT
/*
 * The analytics worker's MQTT link, the one adapter to libmosquitto: QoS 1 retained
 * publishes from the worker's thread, with libmosquitto's own network thread
 * (mosquitto_loop_start) connecting, reconnecting (1 s doubling to 30 s) and
 * receiving PUBACKs. Acknowledged message ids and (re)connects are queued under a
 * mutex and taken by the worker's thread, so that no worker state is touched from the
 * network thread.
 */
#ifndef RHEINHUB_ANALYTICS_MQTT_OUT_H
#define RHEINHUB_ANALYTICS_MQTT_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mqtt_out;

/*
 * Connects (in the background) to host:port as client_id, with username and password
 * when username is not empty, clean session, TCP_NODELAY. Returns NULL with errno set
 * when the library cannot start (a host that is merely down is not an error: the
 * network thread keeps trying). log_component names the log lines.
 */
struct mqtt_out *mqtt_out_new(const char *host, int port, const char *client_id,
                              const char *username, const char *password,
                              const char *log_component);
/*
 * Disconnects, stops the network thread and frees. Messages not acknowledged yet are
 * the caller's to publish again (the worker keeps them in its outbox). Accepts NULL.
 */
void mqtt_out_free(struct mqtt_out *m);

/*
 * Publishes payload[0..len) to topic, QoS 1, retained. Returns the message id (> 0),
 * or a negative errno (-ENOTCONN while the link is down: publish again after the next
 * connect).
 */
int mqtt_out_publish(struct mqtt_out *m, const char *topic, const void *payload, size_t len);

/* True once after each successful connect (to publish what is waiting again). */
bool mqtt_out_take_connect(struct mqtt_out *m);
/* Whether the link is up now. */
bool mqtt_out_connected(struct mqtt_out *m);
/*
 * What keeps the link from doing its work, in buf (size bytes), or NULL when nothing
 * does: not connected for grace_ms or longer (a start and a reconnect take a moment),
 * so that the aggregates wait in the outbox.
 */
const char *mqtt_out_problem(struct mqtt_out *m, int64_t grace_ms, char *buf, size_t size);

/* Moves up to max acknowledged message ids into mids; returns how many. */
size_t mqtt_out_take_acks(struct mqtt_out *m, int *mids, size_t max);

#endif
