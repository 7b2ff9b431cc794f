// SPDX-License-Identifier: MIT
/*
 * The source's MQTT client of our broker: publishes canonical events with QoS 1,
 * driven by the source's own poll loop (p->link, mqtt_link.h) on the source's one
 * thread. A
 * persistent session (clean session off, a stable client id) and the library's
 * resend of unacknowledged messages after a reconnect carry events over a broker
 * restart; what is published while the broker is away waits in libmosquitto's
 * outgoing queue for the next connection. A source reads no more input while queue_max events wait for
 * their PUBACK: a slow broker slows the reading of the upstream.
 */
#ifndef RHEINHUB_PUBLISHER_H
#define RHEINHUB_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "mqtt_link.h"
#include "source_metrics.h"

struct publisher {
    struct mosquitto *mosq;
    struct mqtt_link link;   /* connecting and polling, by the source's loop */
    struct source_metrics *m;
    int queue_max;
    char client_id[CONFIG_NAME_MAX + 32];
};

/*
 * Sets up the client for the broker of hub.yaml's mqtt section, with the account of
 * its sources section, as "<sources.client_id>-<source>"; the source's loop connects
 * it (p->link). Returns 0 or a negative errno.
 */
int publisher_start(struct publisher *p, const struct hub_config *cfg, const char *source,
                    struct source_metrics *m);

/* Whether the source may take more input: connected, fewer than queue_max waiting. */
bool publisher_ready(const struct publisher *p);

/* Publishes payload[0..len) on topic, QoS 1 (queued while our broker is away). Returns 0,
 * or a negative errno when it could not be queued. */
int publisher_publish(struct publisher *p, const char *topic, const char *payload, size_t len);

/* Drives the link alone until every published event's PUBACK came, at most timeout_ms.
 * Returns how many are left. */
int publisher_drain(struct publisher *p, int timeout_ms);

/* Disconnects and frees; what is still unacknowledged is lost (logged with its count). */
void publisher_stop(struct publisher *p);

#endif
