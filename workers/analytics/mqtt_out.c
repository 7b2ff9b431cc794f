// SPDX-License-Identifier: MIT
/* libmosquitto in threaded mode for the analytics worker's retained publishes. */
#include "mqtt_out.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#include "log.h"

#define KEEPALIVE_S 30
/* PUBACKs not yet taken by the worker: beyond this the oldest are dropped (and published again). */
#define ACKS_MAX 65536

struct mqtt_out {
    struct mosquitto *mosq;
    const char *component;
    pthread_mutex_t lock;  /* guards everything below */
    int *acks;
    size_t n_acks;
    bool connected;
    bool connect_event;    /* a connect the worker has not taken yet */
    int64_t down_since_ms; /* not connected since then (monotonic) */
    bool looping;
    char where[300];       /* "host:port", for the health detail */
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct mqtt_out *m = data;

    if (rc != 0) {
        log_warn(m->component, "MQTT connect refused: %s", mosquitto_connack_string(rc));
        return;
    }
    log_info(m->component, "MQTT connected");
    pthread_mutex_lock(&m->lock);
    m->connected = true;
    m->connect_event = true;
    pthread_mutex_unlock(&m->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc)
{
    struct mqtt_out *m = data;
    bool was;

    pthread_mutex_lock(&m->lock);
    was = m->connected;
    if (was)
        m->down_since_ms = now_ms();
    m->connected = false;
    pthread_mutex_unlock(&m->lock);
    if (was && rc != 0)
        log_warn(m->component, "MQTT link lost (%s): reconnecting", mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *mosq, void *data, int mid)
{
    struct mqtt_out *m = data;

    pthread_mutex_lock(&m->lock);
    if (m->n_acks == ACKS_MAX) { /* the worker is not taking them: forget the oldest */
        memmove(m->acks, m->acks + 1, (ACKS_MAX - 1) * sizeof(*m->acks));
        m->n_acks--;
    }
    m->acks[m->n_acks++] = mid;
    pthread_mutex_unlock(&m->lock);
}

struct mqtt_out *mqtt_out_new(const char *host, int port, const char *client_id,
                              const char *username, const char *password,
                              const char *log_component)
{
    struct mqtt_out *m = calloc(1, sizeof(*m));
    int rc;

    if (!m || !(m->acks = malloc(ACKS_MAX * sizeof(*m->acks)))) {
        free(m);
        errno = ENOMEM;
        return NULL;
    }
    m->component = log_component;
    m->down_since_ms = now_ms();
    snprintf(m->where, sizeof(m->where), "%s:%d", host, port);
    pthread_mutex_init(&m->lock, NULL);
    mosquitto_lib_init();
    if (!(m->mosq = mosquitto_new(client_id, true, m))) {
        errno = errno ? errno : ENOMEM;
        goto err;
    }
    mosquitto_int_option(m->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_reconnect_delay_set(m->mosq, 1, 30, true);
    if (username && username[0] &&
        mosquitto_username_pw_set(m->mosq, username, password) != MOSQ_ERR_SUCCESS) {
        errno = EINVAL;
        goto err;
    }
    rc = mosquitto_connect_async(m->mosq, host, port, KEEPALIVE_S);
    if (rc != MOSQ_ERR_SUCCESS) /* e.g. refused: the network thread tries again */
        log_warn(m->component, "MQTT %s:%d: %s (trying again)", host, port,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc));
    if (mosquitto_loop_start(m->mosq) != MOSQ_ERR_SUCCESS) {
        errno = EAGAIN;
        goto err;
    }
    m->looping = true;
    return m;
err:
    if (m->mosq)
        mosquitto_destroy(m->mosq);
    pthread_mutex_destroy(&m->lock);
    free(m->acks);
    free(m);
    mosquitto_lib_cleanup();
    return NULL;
}

void mqtt_out_free(struct mqtt_out *m)
{
    if (!m)
        return;
    if (m->looping) {
        mosquitto_disconnect(m->mosq);
        mosquitto_loop_stop(m->mosq, true);
    }
    mosquitto_destroy(m->mosq);
    pthread_mutex_destroy(&m->lock);
    free(m->acks);
    free(m);
    mosquitto_lib_cleanup();
}

int mqtt_out_publish(struct mqtt_out *m, const char *topic, const void *payload, size_t len)
{
    int mid = 0, rc;

    if (len > 256 * 1024 * 1024)
        return -EMSGSIZE;
    if (!mqtt_out_connected(m))
        return -ENOTCONN;
    rc = mosquitto_publish(m->mosq, &mid, topic, (int)len, payload, 1, true);
    if (rc == MOSQ_ERR_SUCCESS)
        return mid > 0 ? mid : -EPROTO;
    if (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST)
        return -ENOTCONN;
    if (rc == MOSQ_ERR_NOMEM)
        return -ENOMEM;
    return -EINVAL;
}

bool mqtt_out_take_connect(struct mqtt_out *m)
{
    bool e;

    pthread_mutex_lock(&m->lock);
    e = m->connect_event;
    m->connect_event = false;
    pthread_mutex_unlock(&m->lock);
    return e;
}

bool mqtt_out_connected(struct mqtt_out *m)
{
    bool c;

    pthread_mutex_lock(&m->lock);
    c = m->connected;
    pthread_mutex_unlock(&m->lock);
    return c;
}

const char *mqtt_out_problem(struct mqtt_out *m, int64_t grace_ms, char *buf, size_t size)
{
    bool down;

    pthread_mutex_lock(&m->lock);
    down = !m->connected && now_ms() - m->down_since_ms >= grace_ms;
    pthread_mutex_unlock(&m->lock);
    if (!down)
        return NULL;
    snprintf(buf, size, "no MQTT link to the broker at %s: aggregates wait in the outbox",
             m->where);
    return buf;
}

size_t mqtt_out_take_acks(struct mqtt_out *m, int *mids, size_t max)
{
    size_t n;

    pthread_mutex_lock(&m->lock);
    n = m->n_acks < max ? m->n_acks : max;
    memcpy(mids, m->acks, n * sizeof(*mids));
    memmove(m->acks, m->acks + n, (m->n_acks - n) * sizeof(*m->acks));
    m->n_acks -= n;
    pthread_mutex_unlock(&m->lock);
    return n;
}
