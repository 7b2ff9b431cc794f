// SPDX-License-Identifier: MIT
/*
 * The source's MQTT client of our broker: publishes canonical events with QoS 1 over
 * MQTT v5, driven by the source's own poll loop (p->link, mqtt_link.h) on the source's
 * one thread. A persistent session (clean start off, a stable client id, the session
 * expiry interval of hub.yaml's mqtt.session_expiry_s sent with every CONNECT) and the
 * library's resend of unacknowledged messages after a reconnect carry events over a
 * broker restart; what is published while the broker is away waits in libmosquitto's
 * outgoing queue for the next connection.
 *
 * An event counts as taken by our broker only when its PUBACK carries reason code 0.
 * Mosquitto 2.0.11 answers 0x10 (no matching subscribers) and drops the message when
 * no one subscribes to its topic, as after a restart with hubs on a shared
 * subscription, which it does not restore (docs/reliability.md, "The broker
 * restart"). Such an event, or one refused with any other code, is kept (outbox.h)
 * and sent again after 200 ms, doubling up to 5 s per round while refusals go on;
 * meanwhile the source reads no more input, so that what it reads next does not
 * overtake the refused events by more than what was already in flight. Refused events
 * go out again in the order they were first published. A source reads no more input
 * either while queue_max events wait for their PUBACK: a slow broker slows the
 * reading of the upstream.
 */
#ifndef RHEINHUB_PUBLISHER_H
#define RHEINHUB_PUBLISHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "mqtt_link.h"
#include "outbox.h"
#include "source_metrics.h"

struct publisher {
    struct mosquitto *mosq;
    struct mqtt_link link;   /* connecting and polling, by the source's loop */
    struct source_metrics *m;
    int queue_max;
    char client_id[CONFIG_NAME_MAX + 32];
    struct outbox out;       /* every event not yet taken, with its copy */
    int64_t resend_ms;       /* the next round of re-sends (monotonic); 0: none due */
    int resend_delay_ms;     /* the wait before the next round: 200 ms doubling to 5 s */
    int64_t drain_until_ms;  /* the stop's drain deadline (monotonic); 0: not draining */
    /* The refusal episode, from the first refusal until every refused event is taken;
     * logged once at each end. */
    bool refusing;
    int64_t episode_ms;      /* its start */
    uint64_t episode_refused, episode_resent;
};

/*
 * Sets up the client for the broker of hub.yaml's mqtt section, with the account of
 * its sources section, as "<sources.client_id>-<source>"; the source's loop connects
 * it (p->link). Returns 0 or a negative errno.
 */
int publisher_start(struct publisher *p, const struct hub_config *cfg, const char *source,
                    struct source_metrics *m);

/* The link's connection and keepalive work (mqtt_link_service), and the re-sends that
 * are due. Call it from the source's loop about every 200 ms at least. */
void publisher_service(struct publisher *p, int64_t now_ms);

/* Whether the publisher holds as much as it should: queue_max events waiting, or
 * refused events not yet taken. */
bool publisher_full(const struct publisher *p);

/* Whether the source may take more input: connected and not full. */
bool publisher_ready(const struct publisher *p);

/* Publishes payload[0..len) on topic, QoS 1 (queued while our broker is away; a copy is
 * kept until the broker takes it). Returns 0, or a negative errno when it could not be
 * queued. */
int publisher_publish(struct publisher *p, const char *topic, const char *payload, size_t len);

/* Drives the link alone until our broker took every published event, at most
 * timeout_ms from the first call: a stop drains once, however many callers drain.
 * Returns how many are left. */
int publisher_drain(struct publisher *p, int timeout_ms);

/* Disconnects and frees; what is still not taken is lost (logged with its count). */
void publisher_stop(struct publisher *p);

#endif
