// SPDX-License-Identifier: MIT
/* A libmosquitto client on the caller's poll loop (mqtt_link.h). */
#include "mqtt_link.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "log.h"

#define RECONNECT_MIN_S 1
#define RECONNECT_MAX_S 30

int64_t mqtt_link_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void mqtt_link_init(struct mqtt_link *l, struct mosquitto *mosq, const char *name,
                    const char *host, int port, int keepalive_s)
{
    memset(l, 0, sizeof(*l));
    l->mosq = mosq;
    l->name = name;
    l->host = host;
    l->port = port;
    l->keepalive_s = keepalive_s;
    l->session_expiry_s = -1;
    l->backoff_s = RECONNECT_MIN_S;
}

/* One connection attempt (blocking): v5 with the session expiry, or 3.1.1. */
static int connect_once(struct mqtt_link *l)
{
    mosquitto_property *props = NULL;
    int rc;

    if (l->session_expiry_s < 0)
        return l->connected_once ? mosquitto_reconnect(l->mosq)
                                 : mosquitto_connect(l->mosq, l->host, l->port, l->keepalive_s);
    rc = mosquitto_property_add_int32(&props, MQTT_PROP_SESSION_EXPIRY_INTERVAL,
                                      (uint32_t)l->session_expiry_s);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_connect_bind_v5(l->mosq, l->host, l->port, l->keepalive_s, NULL, props);
    mosquitto_property_free_all(&props);
    return rc;
}

void mqtt_link_service(struct mqtt_link *l, int64_t now)
{
    int rc;

    if (now >= l->misc_ms) {
        mosquitto_loop_misc(l->mosq);
        l->misc_ms = now + 1000;
    }
    if (mosquitto_socket(l->mosq) >= 0 || now < l->retry_ms)
        return;
    rc = connect_once(l);
    if (rc == MOSQ_ERR_SUCCESS) {
        l->connected_once = true;
        l->backoff_s = RECONNECT_MIN_S;
        return;
    }
    if (l->backoff_s <= RECONNECT_MIN_S || l->backoff_s >= RECONNECT_MAX_S)
        log_warn(l->name, "cannot connect to %s:%d: %s (next try in %u s)", l->host, l->port,
                 rc == MOSQ_ERR_ERRNO ? strerror(errno) : mosquitto_strerror(rc), l->backoff_s);
    l->retry_ms = now + (int64_t)l->backoff_s * 1000;
    l->backoff_s = l->backoff_s * 2 > RECONNECT_MAX_S ? RECONNECT_MAX_S : l->backoff_s * 2;
}

struct pollfd mqtt_link_pollfd(const struct mqtt_link *l, bool read)
{
    struct pollfd p = {.fd = mosquitto_socket(l->mosq)};

    if (p.fd >= 0)
        p.events = (short)((read ? POLLIN : 0) | (mosquitto_want_write(l->mosq) ? POLLOUT : 0));
    return p;
}

void mqtt_link_after_poll(struct mqtt_link *l, short revents)
{
    if (mosquitto_socket(l->mosq) >= 0 && (revents & (POLLIN | POLLERR | POLLHUP)))
        mosquitto_loop_read(l->mosq, 1);
    if (mosquitto_socket(l->mosq) >= 0 && mosquitto_want_write(l->mosq))
        mosquitto_loop_write(l->mosq, 1);
}
