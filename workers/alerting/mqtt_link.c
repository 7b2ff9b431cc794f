// SPDX-License-Identifier: MIT
/*
 * libmosquitto glue for the alerting worker (mqtt_link.h). The callbacks run in
 * libmosquitto's thread and only copy into the queues under the link's mutex; the
 * worker thread takes from them. libmosquitto's own calls (publish, disconnect) are
 * safe from the worker thread while its loop thread runs.
 */
#include "mqtt_link.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#include "log.h"

#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 30
#define SEND_MAXIMUM 1000 /* QoS 1 publishes on their way before libmosquitto queues */

struct mqtt_link {
    struct mosquitto *mosq;
    const char *component;
    char subscription[256];
    pthread_mutex_t lock;               /* everything below */
    struct mqtt_link_message *messages; /* ring of MQTT_LINK_ACKS_MAX */
    size_t msg_head, msg_count;
    int *pubacks;                       /* ring of MQTT_LINK_PUBACKS_MAX */
    size_t ack_head, ack_count;
    bool connected;
    uint64_t connects;
    uint64_t dropped;
    int unconfirmed;
    bool loop_started;
};

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mosquitto_lib_init();
}

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct mqtt_link *l = data;
    int r;

    if (rc != 0) {
        log_warn(l->component, "mqtt: the broker refused the connection: %s",
                 mosquitto_connack_string(rc));
        return;
    }
    /* The persistent session keeps the subscription; asking again costs nothing. */
    r = mosquitto_subscribe(mosq, NULL, l->subscription, 1);
    if (r != MOSQ_ERR_SUCCESS)
        log_warn(l->component, "mqtt: subscribe %s: %s", l->subscription, mosquitto_strerror(r));
    pthread_mutex_lock(&l->lock);
    l->connected = true;
    l->connects++;
    pthread_mutex_unlock(&l->lock);
    log_info(l->component, "mqtt: connected; acknowledgements on %s", l->subscription);
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc)
{
    struct mqtt_link *l = data;

    pthread_mutex_lock(&l->lock);
    l->connected = false;
    pthread_mutex_unlock(&l->lock);
    if (rc != 0)
        log_warn(l->component, "mqtt: connection lost (%s); reconnecting",
                 mosquitto_strerror(rc));
}

static void on_subscribe(struct mosquitto *mosq, void *data, int mid, int n, const int *granted)
{
    struct mqtt_link *l = data;

    if (n < 1 || granted[0] > 2)
        log_error(l->component, "mqtt: the broker refused the subscription %s",
                  l->subscription);
}

static void on_publish(struct mosquitto *mosq, void *data, int mid)
{
    struct mqtt_link *l = data;

    pthread_mutex_lock(&l->lock);
    if (l->unconfirmed > 0)
        l->unconfirmed--;
    if (l->ack_count < MQTT_LINK_PUBACKS_MAX) {
        l->pubacks[(l->ack_head + l->ack_count) % MQTT_LINK_PUBACKS_MAX] = mid;
        l->ack_count++;
    }
    pthread_mutex_unlock(&l->lock);
}

static void on_message(struct mosquitto *mosq, void *data, const struct mosquitto_message *msg)
{
    struct mqtt_link *l = data;
    struct mqtt_link_message m = {0};
    bool match = false;

    if (mosquitto_topic_matches_sub(l->subscription, msg->topic, &match) != MOSQ_ERR_SUCCESS ||
        !match)
        return;
    m.topic = strdup(msg->topic);
    m.len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    m.payload = malloc(m.len + 1);
    if (!m.topic || !m.payload) {
        mqtt_link_message_free(&m);
        pthread_mutex_lock(&l->lock);
        l->dropped++;
        pthread_mutex_unlock(&l->lock);
        return;
    }
    if (m.len)
        memcpy(m.payload, msg->payload, m.len);
    m.payload[m.len] = '\0';
    pthread_mutex_lock(&l->lock);
    if (l->msg_count == MQTT_LINK_ACKS_MAX) {
        l->dropped++;
        pthread_mutex_unlock(&l->lock);
        mqtt_link_message_free(&m);
        return;
    }
    l->messages[(l->msg_head + l->msg_count) % MQTT_LINK_ACKS_MAX] = m;
    l->msg_count++;
    pthread_mutex_unlock(&l->lock);
}

struct mqtt_link *mqtt_link_new(const struct mqtt_link_config *cfg)
{
    struct mqtt_link *l = calloc(1, sizeof(*l));
    int r;

    if (!l) {
        errno = ENOMEM;
        return NULL;
    }
    pthread_once(&lib_once, lib_init);
    pthread_mutex_init(&l->lock, NULL);
    l->component = cfg->component;
    snprintf(l->subscription, sizeof(l->subscription), "%s", cfg->subscription);
    l->messages = calloc(MQTT_LINK_ACKS_MAX, sizeof(*l->messages));
    l->pubacks = calloc(MQTT_LINK_PUBACKS_MAX, sizeof(*l->pubacks));
    if (!l->messages || !l->pubacks)
        goto nomem;
    if (!(l->mosq = mosquitto_new(cfg->client_id, false, l)))
        goto nomem;
    mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(l->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(l->mosq, MOSQ_OPT_SEND_MAXIMUM, SEND_MAXIMUM);
    mosquitto_reconnect_delay_set(l->mosq, RECONNECT_MIN_S, RECONNECT_MAX_S, true);
    if (cfg->username && cfg->username[0] &&
        (r = mosquitto_username_pw_set(l->mosq, cfg->username,
                                       cfg->password && cfg->password[0] ? cfg->password : NULL)) !=
            MOSQ_ERR_SUCCESS) {
        log_error(l->component, "mqtt: credentials: %s", mosquitto_strerror(r));
        errno = EINVAL;
        goto err;
    }
    mosquitto_connect_callback_set(l->mosq, on_connect);
    mosquitto_disconnect_callback_set(l->mosq, on_disconnect);
    mosquitto_subscribe_callback_set(l->mosq, on_subscribe);
    mosquitto_publish_callback_set(l->mosq, on_publish);
    mosquitto_message_callback_set(l->mosq, on_message);
    r = mosquitto_connect_async(l->mosq, cfg->host, cfg->port, cfg->keepalive_s);
    if (r != MOSQ_ERR_SUCCESS)
        log_warn(l->component, "mqtt: %s:%d: %s; retrying", cfg->host, cfg->port,
                 r == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(r));
    else
        log_info(l->component, "mqtt: connecting to %s:%d as %s", cfg->host, cfg->port,
                 cfg->client_id);
    if ((r = mosquitto_loop_start(l->mosq)) != MOSQ_ERR_SUCCESS) {
        log_error(l->component, "mqtt: cannot start the client thread: %s",
                  mosquitto_strerror(r));
        errno = EAGAIN;
        goto err;
    }
    l->loop_started = true;
    return l;
nomem:
    log_error(cfg->component, "mqtt: out of memory");
    errno = ENOMEM;
err:
    mqtt_link_free(l, 0);
    return NULL;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

    nanosleep(&ts, NULL);
}

void mqtt_link_free(struct mqtt_link *l, int timeout_ms)
{
    if (!l)
        return;
    if (l->mosq) {
        for (int waited = 0; waited < timeout_ms && mqtt_link_unconfirmed(l) > 0 &&
                             mqtt_link_connected(l);
             waited += 10)
            sleep_ms(10);
        mosquitto_disconnect(l->mosq);
        if (l->loop_started)
            mosquitto_loop_stop(l->mosq, false);
        mosquitto_destroy(l->mosq);
        mosquitto_lib_cleanup();
    }
    for (size_t i = 0; l->messages && i < l->msg_count; i++)
        mqtt_link_message_free(&l->messages[(l->msg_head + i) % MQTT_LINK_ACKS_MAX]);
    free(l->messages);
    free(l->pubacks);
    pthread_mutex_destroy(&l->lock);
    free(l);
}

int mqtt_link_publish(struct mqtt_link *l, const char *topic, const void *payload, size_t len,
                      int *mid)
{
    int r;

    pthread_mutex_lock(&l->lock);
    l->unconfirmed++; /* before the call: its PUBACK may come before it returns */
    pthread_mutex_unlock(&l->lock);
    r = mosquitto_publish(l->mosq, mid, topic, (int)len, payload, 1, true);
    if (r == MOSQ_ERR_SUCCESS)
        return 0;
    pthread_mutex_lock(&l->lock);
    l->unconfirmed--;
    pthread_mutex_unlock(&l->lock);
    switch (r) {
    case MOSQ_ERR_NOMEM: return -ENOMEM;
    case MOSQ_ERR_NO_CONN: return -ENOTCONN;
    case MOSQ_ERR_PAYLOAD_SIZE: return -EMSGSIZE;
    case MOSQ_ERR_ERRNO: return errno ? -errno : -EIO;
    default: return -EINVAL;
    }
}

size_t mqtt_link_take_messages(struct mqtt_link *l, struct mqtt_link_message *out, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&l->lock);
    while (n < max && l->msg_count) {
        out[n++] = l->messages[l->msg_head];
        l->msg_head = (l->msg_head + 1) % MQTT_LINK_ACKS_MAX;
        l->msg_count--;
    }
    pthread_mutex_unlock(&l->lock);
    return n;
}

void mqtt_link_message_free(struct mqtt_link_message *m)
{
    free(m->topic);
    free(m->payload);
    m->topic = m->payload = NULL;
}

size_t mqtt_link_take_pubacks(struct mqtt_link *l, int *mids, size_t max)
{
    size_t n = 0;

    pthread_mutex_lock(&l->lock);
    while (n < max && l->ack_count) {
        mids[n++] = l->pubacks[l->ack_head];
        l->ack_head = (l->ack_head + 1) % MQTT_LINK_PUBACKS_MAX;
        l->ack_count--;
    }
    pthread_mutex_unlock(&l->lock);
    return n;
}

bool mqtt_link_connected(struct mqtt_link *l)
{
    bool c;

    pthread_mutex_lock(&l->lock);
    c = l->connected;
    pthread_mutex_unlock(&l->lock);
    return c;
}

uint64_t mqtt_link_connects(struct mqtt_link *l)
{
    uint64_t c;

    pthread_mutex_lock(&l->lock);
    c = l->connects;
    pthread_mutex_unlock(&l->lock);
    return c;
}

uint64_t mqtt_link_dropped(struct mqtt_link *l)
{
    uint64_t d;

    pthread_mutex_lock(&l->lock);
    d = l->dropped;
    pthread_mutex_unlock(&l->lock);
    return d;
}

int mqtt_link_unconfirmed(struct mqtt_link *l)
{
    int n;

    pthread_mutex_lock(&l->lock);
    n = l->unconfirmed;
    pthread_mutex_unlock(&l->lock);
    return n;
}
