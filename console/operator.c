// SPDX-License-Identifier: MIT
/*
 * Operator sessions (operator.h) on libmosquitto's thread, MQTT 5 so that the broker
 * tells a refused publish apart (PUBACK reason 0x87) instead of dropping it silently
 * as it does for MQTT 3.1.1. The HTTP thread waits on a condition variable for the
 * CONNACK and the PUBACKs, never longer than OPERATOR_TIMEOUT_MS.
 */
#include "operator.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "log.h"

#define PENDING_MAX 8 /* acknowledgements of one session awaiting their PUBACK */

struct pending {
    int mid;     /* 0: free slot */
    int reason;  /* -1 until the PUBACK came */
};

struct operator_link {
    struct mosquitto *mosq;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int connack;          /* -1 until the first CONNACK */
    bool alive;
    bool connected;       /* between a CONNACK that took it and the next disconnect */
    struct pending pending[PENDING_MAX];
};

static void on_connect(struct mosquitto *mosq, void *data, int rc, int flags,
                       const mosquitto_property *props)
{
    struct operator_link *l = data;

    pthread_mutex_lock(&l->lock);
    if (l->connack < 0)
        l->connack = rc;
    l->connected = rc == 0;
    if (rc != 0) {
        /* Refused (again): stop libmosquitto's reconnects, the session is over. */
        l->alive = false;
        mosquitto_disconnect(mosq);
    }
    pthread_cond_broadcast(&l->cond);
    pthread_mutex_unlock(&l->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc,
                          const mosquitto_property *props)
{
    struct operator_link *l = data;

    pthread_mutex_lock(&l->lock);
    l->connected = false;
    pthread_mutex_unlock(&l->lock);
}

static void on_publish(struct mosquitto *mosq, void *data, int mid, int reason,
                       const mosquitto_property *props)
{
    struct operator_link *l = data;

    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < PENDING_MAX; i++) {
        if (l->pending[i].mid == mid) {
            l->pending[i].reason = reason;
            pthread_cond_broadcast(&l->cond);
        }
    }
    pthread_mutex_unlock(&l->lock);
}

static struct timespec deadline(int ms)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    return ts;
}

enum operator_result operator_connect(const char *host, int port, const char *client_id,
                                      const char *user, const char *password,
                                      struct operator_link **out)
{
    struct operator_link *l = calloc(1, sizeof(*l));
    struct timespec until = deadline(OPERATOR_TIMEOUT_MS);
    enum operator_result res = OPERATOR_ERROR;
    int r, connack;

    *out = NULL;
    if (!l)
        return OPERATOR_ERROR;
    l->connack = -1;
    l->alive = true;
    pthread_mutex_init(&l->lock, NULL);
    pthread_cond_init(&l->cond, NULL);
    if (!(l->mosq = mosquitto_new(client_id, true, l)))
        goto err;
    mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V5);
    mosquitto_int_option(l->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_v5_callback_set(l->mosq, on_connect);
    mosquitto_publish_v5_callback_set(l->mosq, on_publish);
    mosquitto_disconnect_v5_callback_set(l->mosq, on_disconnect);
    mosquitto_reconnect_delay_set(l->mosq, 1, 30, true);
    if (mosquitto_username_pw_set(l->mosq, user, password) != MOSQ_ERR_SUCCESS)
        goto err;
    r = mosquitto_connect_bind_v5(l->mosq, host, port, 60, NULL, NULL);
    if (r != MOSQ_ERR_SUCCESS) {
        log_warn("operator", "%s: cannot reach the broker at %s:%d: %s", user, host, port,
                 mosquitto_strerror(r));
        res = OPERATOR_UNREACHABLE;
        goto err;
    }
    if (mosquitto_loop_start(l->mosq) != MOSQ_ERR_SUCCESS)
        goto err;
    pthread_mutex_lock(&l->lock);
    while (l->connack < 0)
        if (pthread_cond_timedwait(&l->cond, &l->lock, &until) == ETIMEDOUT)
            break;
    connack = l->connack;
    pthread_mutex_unlock(&l->lock);
    if (connack == 0) {
        *out = l;
        return OPERATOR_OK;
    }
    res = connack < 0 ? OPERATOR_UNREACHABLE : OPERATOR_REFUSED;
    mosquitto_disconnect(l->mosq);
    mosquitto_loop_stop(l->mosq, connack < 0);
err:
    if (l->mosq)
        mosquitto_destroy(l->mosq);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
    free(l);
    return res;
}

enum operator_result operator_publish(struct operator_link *l, const char *topic,
                                      const char *payload, size_t len)
{
    struct timespec until = deadline(OPERATOR_TIMEOUT_MS);
    struct pending *slot = NULL;
    int mid = 0, r, reason;

    pthread_mutex_lock(&l->lock);
    for (int i = 0; i < PENDING_MAX && !slot; i++)
        if (l->pending[i].mid == 0)
            slot = &l->pending[i];
    if (!slot) {
        pthread_mutex_unlock(&l->lock);
        return OPERATOR_ERROR;
    }
    if (!l->alive || !l->connected) {
        pthread_mutex_unlock(&l->lock);
        return OPERATOR_UNREACHABLE;
    }
    /* Hold the lock across the publish: the PUBACK cannot be handled before the slot
     * knows its mid. */
    r = mosquitto_publish_v5(l->mosq, &mid, topic, (int)len, payload, 1, false, NULL);
    if (r == MOSQ_ERR_NO_CONN) {
        /* The link dropped before on_disconnect ran: libmosquitto has queued the
         * message anyway and sends it after the reconnect. */
        pthread_mutex_unlock(&l->lock);
        log_warn("operator", "publish %s: queued while the broker is away", topic);
        return OPERATOR_UNCONFIRMED;
    }
    if (r != MOSQ_ERR_SUCCESS) {
        pthread_mutex_unlock(&l->lock);
        log_warn("operator", "publish %s: %s", topic, mosquitto_strerror(r));
        return OPERATOR_ERROR;
    }
    slot->mid = mid;
    slot->reason = -1;
    while (slot->reason < 0)
        if (pthread_cond_timedwait(&l->cond, &l->lock, &until) == ETIMEDOUT)
            break;
    reason = slot->reason;
    slot->mid = 0;
    pthread_mutex_unlock(&l->lock);
    if (reason < 0)
        return OPERATOR_UNCONFIRMED;
    return reason >= 0x80 ? OPERATOR_DENIED : OPERATOR_OK;
}

bool operator_alive(struct operator_link *l)
{
    bool alive;

    pthread_mutex_lock(&l->lock);
    alive = l->alive;
    pthread_mutex_unlock(&l->lock);
    return alive;
}

bool operator_connected(struct operator_link *l)
{
    bool connected;

    pthread_mutex_lock(&l->lock);
    connected = l->connected;
    pthread_mutex_unlock(&l->lock);
    return connected;
}

void operator_close(struct operator_link *l)
{
    if (!l)
        return;
    mosquitto_disconnect(l->mosq);
    mosquitto_loop_stop(l->mosq, false);
    mosquitto_destroy(l->mosq);
    pthread_cond_destroy(&l->cond);
    pthread_mutex_destroy(&l->lock);
    free(l);
}
