// SPDX-License-Identifier: MIT
/*
 * Our broker's side of a source (publisher.h), on libmosquitto's threaded loop. The
 * library's calls are thread-safe; the count of unacknowledged events is kept under
 * the publisher's lock, so that a publish waits for room and a stop for the drain.
 */
#include "publisher.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#include "log.h"

#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 30

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

    pthread_mutex_lock(&p->lock);
    atomic_fetch_sub(&p->m->queued, 1);
    atomic_fetch_add(&p->m->published, 1);
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
}

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_REALTIME, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

int publisher_start(struct publisher *p, const struct hub_config *cfg, const char *source,
                    struct source_metrics *m, bool threaded)
{
    const char *user = cfg->sources.username[0] ? cfg->sources.username : cfg->mqtt.username;
    const char *pass = cfg->sources.username[0] ? cfg->sources.password : cfg->mqtt.password;
    int rc;

    memset(p, 0, sizeof(*p));
    p->m = m;
    p->threaded = threaded;
    p->queue_max = cfg->sources.queue_max;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    snprintf(p->client_id, sizeof(p->client_id), "%s-%s", cfg->sources.client_id, source);
    if (!(p->mosq = mosquitto_new(p->client_id, false, p)))
        return -ENOMEM;
    mosquitto_int_option(p->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(p->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_max_inflight_messages_set(p->mosq, (unsigned)p->queue_max);
    mosquitto_reconnect_delay_set(p->mosq, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
    if (user[0])
        mosquitto_username_pw_set(p->mosq, user, pass[0] ? pass : NULL);
    mosquitto_connect_callback_set(p->mosq, on_connect);
    mosquitto_disconnect_callback_set(p->mosq, on_disconnect);
    mosquitto_publish_callback_set(p->mosq, on_publish);
    if (!threaded)
        return 0;
    rc = mosquitto_connect_async(p->mosq, cfg->mqtt.host, cfg->mqtt.port, cfg->mqtt.keepalive_s);
    if (rc != MOSQ_ERR_SUCCESS)
        log_warn("publisher", "cannot connect to our broker %s:%d yet: %s", cfg->mqtt.host,
                 cfg->mqtt.port, mosquitto_strerror(rc));
    if ((rc = mosquitto_loop_start(p->mosq)) != MOSQ_ERR_SUCCESS) {
        log_error("publisher", "cannot start the MQTT thread: %s", mosquitto_strerror(rc));
        mosquitto_destroy(p->mosq);
        p->mosq = NULL;
        return -EIO;
    }
    return 0;
}

int publisher_publish(struct publisher *p, const char *topic, const char *payload, size_t len)
{
    int rc;

    pthread_mutex_lock(&p->lock);
    while (p->threaded && atomic_load(&p->m->queued) >= p->queue_max && !p->stopping) {
        struct timespec ts;
        deadline_in(&ts, 1000);
        pthread_cond_timedwait(&p->cond, &p->lock, &ts);
    }
    atomic_fetch_add(&p->m->queued, 1);
    pthread_mutex_unlock(&p->lock);
    /* QoS 1 while disconnected: the library queues it and sends it after the reconnect. */
    rc = mosquitto_publish(p->mosq, NULL, topic, (int)len, payload, 1, false);
    if (rc != MOSQ_ERR_SUCCESS) {
        atomic_fetch_sub(&p->m->queued, 1);
        log_error("publisher", "cannot publish on %s: %s", topic, mosquitto_strerror(rc));
        return rc == MOSQ_ERR_NOMEM ? -ENOMEM : -EIO;
    }
    return 0;
}

int publisher_drain(struct publisher *p, int timeout_ms)
{
    struct timespec ts;
    int left;

    if (!p->threaded)
        return atomic_load(&p->m->queued); /* the caller's loop drains */
    deadline_in(&ts, timeout_ms);
    pthread_mutex_lock(&p->lock);
    p->stopping = true;
    pthread_cond_broadcast(&p->cond);
    while ((left = atomic_load(&p->m->queued)) > 0)
        if (pthread_cond_timedwait(&p->cond, &p->lock, &ts) == ETIMEDOUT) {
            left = atomic_load(&p->m->queued);
            break;
        }
    pthread_mutex_unlock(&p->lock);
    return left;
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
    if (p->threaded)
        mosquitto_loop_stop(p->mosq, false);
    mosquitto_destroy(p->mosq);
    p->mosq = NULL;
    pthread_cond_destroy(&p->cond);
    pthread_mutex_destroy(&p->lock);
}
