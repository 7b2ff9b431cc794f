// SPDX-License-Identifier: MIT
/*
 * The hub's MQTT input: one persistent MQTT v5 session (libmosquitto) driven from the
 * libuv loop, subscribed at QoS 1 to the inbound topics, with reconnects, and a
 * pause switch that stops reading the socket so that the broker keeps what the hub
 * cannot take yet.
 */
#ifndef RHEINHUB_MQTT_IN_H
#define RHEINHUB_MQTT_IN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <uv.h>

#include "config.h"
#include "metrics.h"

struct mqtt_in;

/* One inbound message. topic and payload are borrowed for the call only. */
typedef void (*mqtt_in_message_cb)(void *data, const char *topic, const void *payload,
                                   size_t len);
typedef void (*mqtt_in_stopped_cb)(void *data);
/*
 * After each read pass, before any acknowledgement of its messages is written: 0 lets
 * them go; a negative errno holds every acknowledgement (and reading) back until
 * mqtt_in_release.
 */
typedef int (*mqtt_in_flush_cb)(void *data);

/* Creates the input and starts connecting. Returns NULL with errno set. */
struct mqtt_in *mqtt_in_new(uv_loop_t *loop, const struct hub_config *cfg, struct metrics *m,
                            mqtt_in_message_cb on_message, void *data);

/* Sets the hook that runs after each read pass (NULL: none). */
void mqtt_in_set_flush(struct mqtt_in *in, mqtt_in_flush_cb flush);

/* The flush hook succeeded again: acknowledgements and reading may go on. */
void mqtt_in_release(struct mqtt_in *in);

/* Stops or resumes reading messages (backpressure). */
void mqtt_in_pause(struct mqtt_in *in, bool paused);
bool mqtt_in_paused(const struct mqtt_in *in);
bool mqtt_in_connected(const struct mqtt_in *in);
/* Connected, and the broker has not yet answered this connection's SUBSCRIBE: events
 * published meanwhile may still go to no subscription (a new session). */
bool mqtt_in_subscribing(const struct mqtt_in *in);

/*
 * Topic filters not subscribed: the broker refused them at the last SUBACK (e.g. its ACL
 * does not let the account read them), or the SUBSCRIBE could not be sent. A later
 * SUBACK that grants a filter clears it.
 */
int mqtt_in_refused(const struct mqtt_in *in);

/* /healthz detail: a JSON object of each such filter to its reason; in may be NULL. */
void mqtt_in_render_refused(const struct mqtt_in *in, FILE *out);

/*
 * Stops reading, disconnects cleanly (the broker keeps the session and what is
 * queued for it), closes every handle and then calls stopped.
 */
void mqtt_in_stop(struct mqtt_in *in, mqtt_in_stopped_cb stopped, void *data);

/* Frees a stopped input. */
void mqtt_in_free(struct mqtt_in *in);

#endif
