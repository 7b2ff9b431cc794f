// SPDX-License-Identifier: MIT
/*
 * The console's reading session (watch.h): libmosquitto's own thread connects,
 * subscribes to `+/alerts/#` and `+/analytics/#` at QoS 1 after every connect (the
 * broker then replays the retained states, which the board takes as they are), and
 * hands each message to the board. Reconnects use libmosquitto's backoff, 1 to 30 s.
 */
#include "watch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>

#include "log.h"

struct watch {
    struct mosquitto *mosq;
    struct board *board;
    atomic_bool connected;
    bool was_down_logged;
};

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct watch *w = data;
    static const char *const subs[] = {"+/alerts/#", "+/analytics/#"};

    if (rc != 0) {
        if (!w->was_down_logged)
            log_warn("watch", "the broker refused the console's session: %s",
                     mosquitto_connack_string(rc));
        w->was_down_logged = true;
        return;
    }
    w->was_down_logged = false;
    log_info("watch", "connected; reading alerts and aggregates");
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        int r = mosquitto_subscribe(mosq, NULL, subs[i], 1);
        if (r != MOSQ_ERR_SUCCESS)
            log_error("watch", "subscribe %s: %s", subs[i], mosquitto_strerror(r));
    }
    atomic_store(&w->connected, true);
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc)
{
    struct watch *w = data;

    if (atomic_exchange(&w->connected, false))
        log_warn("watch", "disconnected from the broker (%s); reconnecting",
                 mosquitto_strerror(rc));
}

static void on_message(struct mosquitto *mosq, void *data, const struct mosquitto_message *m)
{
    struct watch *w = data;
    const char *second = strchr(m->topic, '/');

    if (!second)
        return;
    if (strncmp(second, "/alerts/", 8) == 0)
        board_alert(w->board, m->topic, m->payload, (size_t)m->payloadlen);
    else if (strncmp(second, "/analytics/", 11) == 0)
        board_aggregate(w->board, m->topic, m->payload, (size_t)m->payloadlen);
}

struct watch *watch_start(const struct watch_options *opt, struct board *board)
{
    struct watch *w = calloc(1, sizeof(*w));
    char id[160];
    int r;

    if (!w)
        return NULL;
    w->board = board;
    /* One session per process: two consoles on one broker must not take over each other. */
    snprintf(id, sizeof(id), "%s-%ld", opt->client_id, (long)getpid());
    if (!(w->mosq = mosquitto_new(id, true, w))) {
        free(w);
        errno = ENOMEM;
        return NULL;
    }
    mosquitto_int_option(w->mosq, MOSQ_OPT_TCP_NODELAY, 1);
    mosquitto_connect_callback_set(w->mosq, on_connect);
    mosquitto_disconnect_callback_set(w->mosq, on_disconnect);
    mosquitto_message_callback_set(w->mosq, on_message);
    mosquitto_reconnect_delay_set(w->mosq, 1, 30, true);
    if (opt->username && opt->username[0])
        mosquitto_username_pw_set(w->mosq, opt->username, opt->password);
    r = mosquitto_connect_async(w->mosq, opt->host, opt->port, opt->keepalive_s);
    if (r != MOSQ_ERR_SUCCESS)
        log_warn("watch", "cannot reach the broker at %s:%d yet (%s); retrying", opt->host,
                 opt->port, mosquitto_strerror(r));
    if ((r = mosquitto_loop_start(w->mosq)) != MOSQ_ERR_SUCCESS) {
        log_error("watch", "cannot start the MQTT thread: %s", mosquitto_strerror(r));
        mosquitto_destroy(w->mosq);
        free(w);
        errno = EAGAIN;
        return NULL;
    }
    return w;
}

bool watch_connected(struct watch *w)
{
    return atomic_load(&w->connected);
}

void watch_stop(struct watch *w)
{
    if (!w)
        return;
    mosquitto_disconnect(w->mosq);
    mosquitto_loop_stop(w->mosq, false);
    mosquitto_destroy(w->mosq);
    free(w);
}
