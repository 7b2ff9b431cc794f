// SPDX-License-Identifier: MIT
/*
 * Our broker's side of a source (publisher.h). Everything runs on the source's one
 * thread; the counters are atomics only because the metrics thread reads them.
 */
#include "publisher.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

#include <mosquitto.h>

#include "log.h"

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct publisher *p = data;

    if (rc != 0) {
        log_warn("publisher", "our broker refused the connection: %s",
                 mosquitto_connack_string(rc));
        return;
    }
    atomic_store(&p->m->broker_up, true);
    log_info("publisher", "connected to our broker as %s", p->client_id);
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc)
{
    struct publisher *p = data;

    if (atomic_exchange(&p->m->broker_up, false) && rc != 0)
        log_warn("publisher", "lost our broker (%s): reconnecting", mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *mosq, void *data, int mid)
{
    struct publisher *p = data;

    atomic_fetch_sub(&p->m->queued, 1);
    atomic_fetch_add(&p->m->published, 1);
}

int publisher_start(struct publisher *p, const struct hub_config *cfg, const char *source,
                    struct source_metrics *m)
{
    const char *user = cfg->sources.username[0] ? cfg->sources.username : cfg->mqtt.username;
    const char *pass = cfg->sources.username[0] ? cfg->sources.password : cfg->mqtt.password;

    memset(p, 0, sizeof(*p));
    p->m = m;
    p->queue_max = cfg->sources.queue_max;
    snprintf(p->client_id, sizeof(p->client_id), "%s-%s", cfg->sources.client_id, source);
    if (!(p->mosq = mosquitto_new(p->client_id, false, p)))
        return -ENOMEM;
    mosquitto_int_option(p->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(p->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(p->mosq, (unsigned)p->queue_max);
    if (user[0])
        mosquitto_username_pw_set(p->mosq, user, pass[0] ? pass : NULL);
    mosquitto_connect_callback_set(p->mosq, on_connect);
    mosquitto_disconnect_callback_set(p->mosq, on_disconnect);
    mosquitto_publish_callback_set(p->mosq, on_publish);
    mqtt_link_init(&p->link, p->mosq, "publisher", cfg->mqtt.host, cfg->mqtt.port,
                   cfg->mqtt.keepalive_s);
    return 0;
}

bool publisher_ready(const struct publisher *p)
{
    return atomic_load(&p->m->broker_up) && atomic_load(&p->m->queued) < p->queue_max;
}

int publisher_publish(struct publisher *p, const char *topic, const char *payload, size_t len)
{
    int rc;

    atomic_fetch_add(&p->m->queued, 1);
    rc = mosquitto_publish(p->mosq, NULL, topic, (int)len, payload, 1, false);
    /* libmosquitto 2.0.11 keeps a QoS 1 message it could not send for want of a
     * connection in its outgoing queue and sends it after the next CONNACK; it still
     * answers MOSQ_ERR_NO_CONN. That is a success here, not a loss. */
    if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
        atomic_fetch_sub(&p->m->queued, 1);
        log_error("publisher", "cannot publish on %s: %s", topic, mosquitto_strerror(rc));
        return rc == MOSQ_ERR_NOMEM ? -ENOMEM : -EIO;
    }
    return 0;
}

int publisher_drain(struct publisher *p, int timeout_ms)
{
    int64_t deadline = mqtt_link_now_ms() + timeout_ms;

    while (atomic_load(&p->m->queued) > 0 && mqtt_link_now_ms() < deadline) {
        struct pollfd fd;
        mqtt_link_service(&p->link, mqtt_link_now_ms());
        fd = mqtt_link_pollfd(&p->link, true);
        if (poll(&fd, 1, 100) > 0)
            mqtt_link_after_poll(&p->link, fd.revents);
    }
    return atomic_load(&p->m->queued);
}

void publisher_stop(struct publisher *p)
{
    int left;

    if (!p->mosq)
        return;
    left = atomic_load(&p->m->queued);
    if (left > 0)
        log_warn("publisher", "stopping with %d events our broker has not acknowledged", left);
    mosquitto_disconnect(p->mosq);
    mosquitto_destroy(p->mosq);
    p->mosq = NULL;
}
