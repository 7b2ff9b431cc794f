// SPDX-License-Identifier: MIT
/*
 * libmosquitto glue for the alerting worker (mqtt_link.h). Everything runs on the
 * worker's thread: libmosquitto's callbacks fire inside mqtt_link_run and only copy
 * into the queues. Without libmosquitto's thread, mosquitto_publish writes the packet
 * itself, and the reconnects (which libmosquitto's thread would do) are done here with
 * our own backoff, through mosquitto_reconnect_async so that nothing blocks.
 */
#include "mqtt_link.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>

#include "log.h"

#define RECONNECT_MIN_MS 1000
#define RECONNECT_MAX_MS 30000
#define SEND_MAXIMUM 1000 /* QoS 1 publishes on their way before libmosquitto queues */
#define PACKETS_PER_RUN 1000

struct mqtt_link {
    struct mosquitto *mosq;
    const char *component;
    char subscription[256];
    char where[96];                     /* "host:port", for the log */
    struct mqtt_link_message *messages; /* ring of MQTT_LINK_ACKS_MAX */
    size_t msg_head, msg_count;
    int *pubacks;                       /* ring of MQTT_LINK_PUBACKS_MAX */
    size_t ack_head, ack_count;
    bool connected;
    bool refused;                       /* the broker refused the last SUBSCRIBE */
    int sub_mid;                        /* that SUBSCRIBE */
    int64_t down_since_ms;              /* not connected since then (monotonic) */
    bool stopping;
    bool down_logged;                   /* the current outage was logged */
    uint64_t connects;
    uint64_t dropped;
    int unconfirmed;
    int64_t next_reconnect_ms;          /* 0: no reconnect scheduled */
    int backoff_ms;
};

static int64_t now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void schedule_reconnect(struct mqtt_link *l, const char *why)
{
    if (l->next_reconnect_ms || l->stopping)
        return;
    if (!l->down_logged)
        log_warn(l->component, "mqtt: %s: %s; reconnecting", l->where, why);
    l->down_logged = true;
    l->connected = false;
    l->next_reconnect_ms = now_ms() + l->backoff_ms;
    l->backoff_ms = l->backoff_ms * 2 > RECONNECT_MAX_MS ? RECONNECT_MAX_MS : l->backoff_ms * 2;
}

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct mqtt_link *l = data;
    int r;

    if (rc != 0) {
        schedule_reconnect(l, mosquitto_connack_string(rc));
        return;
    }
    /* The persistent session keeps the subscription; asking again costs nothing. */
    r = mosquitto_subscribe(mosq, &l->sub_mid, l->subscription, 1);
    if (r != MOSQ_ERR_SUCCESS)
        log_warn(l->component, "mqtt: subscribe %s: %s", l->subscription, mosquitto_strerror(r));
    l->refused = r != MOSQ_ERR_SUCCESS;
    l->connected = true;
    l->connects++;
    l->down_logged = false;
    l->backoff_ms = RECONNECT_MIN_MS;
    log_info(l->component, "mqtt: connected to %s; acknowledgements on %s", l->where,
             l->subscription);
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc)
{
    struct mqtt_link *l = data;

    if (l->connected)
        l->down_since_ms = now_ms();
    l->connected = false;
    if (rc != 0)
        schedule_reconnect(l, mosquitto_strerror(rc));
}

static void on_subscribe(struct mosquitto *mosq, void *data, int mid, int n, const int *granted)
{
    struct mqtt_link *l = data;

    if (mid != l->sub_mid)
        return;
    l->refused = n < 1 || granted[0] > 2;
    if (l->refused)
        log_error(l->component, "mqtt: the broker refused the subscription %s: "
                  "acknowledgements do not arrive", l->subscription);
}

static void on_publish(struct mosquitto *mosq, void *data, int mid)
{
    struct mqtt_link *l = data;

    if (l->unconfirmed > 0)
        l->unconfirmed--;
    if (l->ack_count < MQTT_LINK_PUBACKS_MAX) {
        l->pubacks[(l->ack_head + l->ack_count) % MQTT_LINK_PUBACKS_MAX] = mid;
        l->ack_count++;
    }
}

static void on_message(struct mosquitto *mosq, void *data, const struct mosquitto_message *msg)
{
    struct mqtt_link *l = data;
    struct mqtt_link_message m = {0};
    bool match = false;

    if (mosquitto_topic_matches_sub(l->subscription, msg->topic, &match) != MOSQ_ERR_SUCCESS ||
        !match)
        return;
    if (l->msg_count == MQTT_LINK_ACKS_MAX) {
        l->dropped++;
        return;
    }
    m.topic = strdup(msg->topic);
    m.len = msg->payloadlen > 0 ? (size_t)msg->payloadlen : 0;
    m.retained = msg->retain;
    m.payload = malloc(m.len + 1);
    if (!m.topic || !m.payload) {
        mqtt_link_message_free(&m);
        l->dropped++;
        return;
    }
    if (m.len)
        memcpy(m.payload, msg->payload, m.len);
    m.payload[m.len] = '\0';
    l->messages[(l->msg_head + l->msg_count) % MQTT_LINK_ACKS_MAX] = m;
    l->msg_count++;
}

struct mqtt_link *mqtt_link_new(const struct mqtt_link_config *cfg)
{
    struct mqtt_link *l = calloc(1, sizeof(*l));
    int r;

    if (!l) {
        errno = ENOMEM;
        return NULL;
    }
    mosquitto_lib_init();
    l->component = cfg->component;
    l->backoff_ms = RECONNECT_MIN_MS;
    l->down_since_ms = now_ms();
    snprintf(l->subscription, sizeof(l->subscription), "%s", cfg->subscription);
    snprintf(l->where, sizeof(l->where), "%s:%d", cfg->host, cfg->port);
    l->messages = calloc(MQTT_LINK_ACKS_MAX, sizeof(*l->messages));
    l->pubacks = calloc(MQTT_LINK_PUBACKS_MAX, sizeof(*l->pubacks));
    if (!l->messages || !l->pubacks || !(l->mosq = mosquitto_new(cfg->client_id, false, l))) {
        log_error(cfg->component, "mqtt: out of memory");
        errno = ENOMEM;
        goto err;
    }
    mosquitto_int_option(l->mosq, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
    mosquitto_int_option(l->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_int_option(l->mosq, MOSQ_OPT_SEND_MAXIMUM, SEND_MAXIMUM);
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
    log_info(l->component, "mqtt: connecting to %s as %s", l->where, cfg->client_id);
    r = mosquitto_connect_async(l->mosq, cfg->host, cfg->port, cfg->keepalive_s);
    if (r != MOSQ_ERR_SUCCESS)
        schedule_reconnect(l, r == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(r));
    return l;
err:
    mqtt_link_free(l, 0);
    return NULL;
}

void mqtt_link_run(struct mqtt_link *l)
{
    int r;

    if (l->next_reconnect_ms) {
        if (now_ms() < l->next_reconnect_ms)
            return;
        l->next_reconnect_ms = 0;
        r = mosquitto_reconnect_async(l->mosq);
        if (r != MOSQ_ERR_SUCCESS) {
            schedule_reconnect(l, r == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(r));
            return;
        }
    }
    r = mosquitto_loop(l->mosq, 0, PACKETS_PER_RUN);
    if (r != MOSQ_ERR_SUCCESS && !l->stopping)
        schedule_reconnect(l, r == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(r));
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
        for (int waited = 0; waited < timeout_ms && l->unconfirmed > 0 && l->connected;
             waited += 10) {
            mqtt_link_run(l);
            if (l->unconfirmed > 0)
                sleep_ms(10);
        }
        l->stopping = true;
        if (l->connected) {
            mosquitto_disconnect(l->mosq);
            mosquitto_loop(l->mosq, 0, 1); /* writes the DISCONNECT */
        }
        mosquitto_destroy(l->mosq);
    }
    mosquitto_lib_cleanup();
    for (size_t i = 0; l->messages && i < l->msg_count; i++)
        mqtt_link_message_free(&l->messages[(l->msg_head + i) % MQTT_LINK_ACKS_MAX]);
    free(l->messages);
    free(l->pubacks);
    free(l);
}

int mqtt_link_publish(struct mqtt_link *l, const char *topic, const void *payload, size_t len,
                      int *mid)
{
    int r = mosquitto_publish(l->mosq, mid, topic, (int)len, payload, 1, true);

    switch (r) {
    case MOSQ_ERR_SUCCESS: l->unconfirmed++; return 0;
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

    while (n < max && l->msg_count) {
        out[n++] = l->messages[l->msg_head];
        l->msg_head = (l->msg_head + 1) % MQTT_LINK_ACKS_MAX;
        l->msg_count--;
    }
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

    while (n < max && l->ack_count) {
        mids[n++] = l->pubacks[l->ack_head];
        l->ack_head = (l->ack_head + 1) % MQTT_LINK_PUBACKS_MAX;
        l->ack_count--;
    }
    return n;
}

bool mqtt_link_connected(struct mqtt_link *l)
{
    return l->connected;
}

const char *mqtt_link_problem(struct mqtt_link *l, int64_t grace_ms, char *buf, size_t size)
{
    if (!l->connected) {
        if (now_ms() - l->down_since_ms < grace_ms)
            return NULL;
        snprintf(buf, size, "no MQTT link to the broker at %s: alert changes wait in the "
                 "outbox", l->where);
        return buf;
    }
    if (l->refused) {
        snprintf(buf, size, "the broker refused the subscription %s: acknowledgements do "
                 "not arrive", l->subscription);
        return buf;
    }
    return NULL;
}

uint64_t mqtt_link_connects(struct mqtt_link *l)
{
    return l->connects;
}

uint64_t mqtt_link_dropped(struct mqtt_link *l)
{
    return l->dropped;
}

int mqtt_link_unconfirmed(struct mqtt_link *l)
{
    return l->unconfirmed;
}
