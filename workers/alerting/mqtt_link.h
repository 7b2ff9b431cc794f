// SPDX-License-Identifier: MIT
/*
 * The alerting worker's MQTT client: the adapter between libmosquitto and the worker.
 * libmosquitto runs its own thread (mosquitto_loop_start), which reconnects with
 * backoff; the worker thread publishes alerts through it (QoS 1, retained) and takes
 * from it, through two bounded queues, what that thread received: acknowledgement
 * messages (topic and payload copied) and the message ids of publishes the broker
 * confirmed (PUBACK). The session is persistent (MQTT 3.1.1, clean session off), so
 * acknowledgements published while the worker is away wait at the broker.
 */
#ifndef RHEINHUB_ALERTING_MQTT_LINK_H
#define RHEINHUB_ALERTING_MQTT_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MQTT_LINK_ACKS_MAX 1024    /* received acknowledgements waiting; more are dropped */
#define MQTT_LINK_PUBACKS_MAX 65536

struct mqtt_link_config {
    const char *host;              /* an IP literal */
    int port;
    const char *client_id;
    const char *username;          /* "" or NULL: none */
    const char *password;
    int keepalive_s;
    const char *subscription;      /* topic filter for acknowledgements, QoS 1 */
    const char *component;         /* for the log */
};

/* One message received on the subscription. Owned by the caller once taken. */
struct mqtt_link_message {
    char *topic;
    char *payload;
    size_t len;
};

struct mqtt_link;

/*
 * Makes the client and starts connecting in its own thread (a broker that is not there
 * yet is retried with backoff, 1 s doubling to 30 s). Returns the link, or NULL with
 * errno set (the reason is logged).
 */
struct mqtt_link *mqtt_link_new(const struct mqtt_link_config *cfg);

/*
 * Disconnects (after up to timeout_ms for unconfirmed publishes to be confirmed),
 * stops the thread and frees everything, the untaken messages too. Accepts NULL.
 */
void mqtt_link_free(struct mqtt_link *l, int timeout_ms);

/*
 * Publishes payload retained with QoS 1; *mid is its message id, reported by
 * mqtt_link_take_pubacks once the broker confirmed it. While the link is down,
 * libmosquitto keeps the message and sends it after the reconnect. Returns 0, or a
 * negative errno (the message is not sent).
 */
int mqtt_link_publish(struct mqtt_link *l, const char *topic, const void *payload, size_t len,
                      int *mid);

/* Takes up to max received messages into out (the caller frees each with _message_free). */
size_t mqtt_link_take_messages(struct mqtt_link *l, struct mqtt_link_message *out, size_t max);
void mqtt_link_message_free(struct mqtt_link_message *m);

/* Takes up to max confirmed message ids. */
size_t mqtt_link_take_pubacks(struct mqtt_link *l, int *mids, size_t max);

/* Whether the client is connected now; how many times it has connected so far. */
bool mqtt_link_connected(struct mqtt_link *l);
uint64_t mqtt_link_connects(struct mqtt_link *l);
/* Received messages dropped because the queue was full, so far. */
uint64_t mqtt_link_dropped(struct mqtt_link *l);
/* Publishes not yet confirmed by the broker. */
int mqtt_link_unconfirmed(struct mqtt_link *l);

#endif
