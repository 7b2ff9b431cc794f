// SPDX-License-Identifier: MIT
/*
 * The source's MQTT client of our broker: publishes canonical events with QoS 1,
 * either on libmosquitto's own network thread (mosquitto_loop_start; publish from any
 * thread), or driven by the caller's own poll loop (publisher_start with threaded
 * false: the LoRaWAN sources, which read the network server in the same loop). A
 * persistent session (clean session off, a stable client id) and the library's
 * resend of unacknowledged messages after a reconnect carry events over a broker
 * restart. At most queue_max events wait for their PUBACK: publishing more blocks
 * the caller, which is how a slow broker slows the reading of the upstream.
 */
#ifndef RHEINHUB_PUBLISHER_H
#define RHEINHUB_PUBLISHER_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "source_metrics.h"

struct publisher {
    struct mosquitto *mosq;
    bool threaded;           /* the library's thread drives the connection */
    struct source_metrics *m;
    int queue_max;
    bool stopping;           /* under lock: publish no longer waits for room */
    pthread_mutex_t lock;
    pthread_cond_t cond;     /* signalled on every PUBACK */
    char client_id[CONFIG_NAME_MAX + 32];
};

/*
 * Sets up the client for the broker of hub.yaml's mqtt section, with the account of
 * its sources section, as "<sources.client_id>-<source>". Threaded: connects in the
 * background (the library retries until the broker answers). Not threaded: the
 * caller connects and drives p->mosq. Returns 0 or a negative errno.
 */
int publisher_start(struct publisher *p, const struct hub_config *cfg, const char *source,
                    struct source_metrics *m, bool threaded);

/* Publishes payload[0..len) on topic, QoS 1; threaded, it waits while queue_max are
 * unacknowledged (not threaded, the caller stops reading instead). Returns 0, or a
 * negative errno when the library refused it. */
int publisher_publish(struct publisher *p, const char *topic, const char *payload, size_t len);

/* Waits up to timeout_ms for every published event's PUBACK. Returns how many are left. */
int publisher_drain(struct publisher *p, int timeout_ms);

/* Disconnects and frees; what is still unacknowledged is lost (logged with its count). */
void publisher_stop(struct publisher *p);

#endif
