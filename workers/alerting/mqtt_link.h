// SPDX-License-Identifier: MIT
/*
 * The alerting worker's MQTT client: the adapter between libmosquitto and the worker.
 * It runs on the worker's own thread, without libmosquitto's: a publish is written to
 * the socket at once (no hand-over to another thread on the way to the broker), and
 * mqtt_link_run, called from the worker's tick, reads what came in (PUBACKs,
 * acknowledgement messages), writes what is left, keeps the connection alive and
 * reconnects with backoff. What the callbacks receive waits in two bounded queues for
 * the worker to take: acknowledgement messages (topic and payload copied) and the
 * message ids of publishes the broker confirmed. The session is persistent (MQTT 3.1.1,
 * clean session off), so acknowledgements published while the worker is away wait at
 * the broker.
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
    bool retained; /* from the broker's retained store at a subscription, not sent now */
};

struct mqtt_link;

/*
 * Makes the client and starts connecting (a broker that is not there yet is retried by
 * mqtt_link_run with backoff, 1 s doubling to 30 s). Returns the link, or NULL with
 * errno set (the reason is logged).
 */
struct mqtt_link *mqtt_link_new(const struct mqtt_link_config *cfg);

/*
 * Does the link's work without blocking: reads and handles what the broker sent,
 * writes what is queued, sends keep-alives, reconnects when due. Call it often (at
 * least every few seconds: the keep-alive is keepalive_s).
 */
void mqtt_link_run(struct mqtt_link *l);

/*
 * Disconnects (after up to timeout_ms for unconfirmed publishes to be confirmed) and
 * frees everything, the untaken messages too. Accepts NULL.
 */
void mqtt_link_free(struct mqtt_link *l, int timeout_ms);

/*
 * Publishes payload retained with QoS 1, written to the socket at once when connected;
 * *mid is its message id, reported by mqtt_link_take_pubacks once the broker confirmed
 * it. While the link is down, libmosquitto keeps the message and sends it after the
 * reconnect. Returns 0, or a negative errno (the message is not sent).
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
/*
 * What keeps the link from doing its work, in buf (size bytes), or NULL when nothing
 * does: not connected for grace_ms or longer (a start and a reconnect take a moment), or
 * the broker refused the acknowledgements' subscription.
 */
const char *mqtt_link_problem(struct mqtt_link *l, int64_t grace_ms, char *buf, size_t size);
/* Received messages dropped because the queue was full, so far. */
uint64_t mqtt_link_dropped(struct mqtt_link *l);
/* Publishes not yet confirmed by the broker. */
int mqtt_link_unconfirmed(struct mqtt_link *l);

#endif
