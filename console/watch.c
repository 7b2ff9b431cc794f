// SPDX-License-Identifier: MIT
/*
 * The console's reading session (watch.h): libmosquitto's own thread connects,
 * subscribes to `+/alerts/#` and `+/analytics/#` at QoS 1 after every connect (the
 * broker then replays the retained states, which the board takes as they are), and
 * hands each message to the board. Each connect starts the board's resync, which the
 * SUBACK and the replay's retained messages time (board_resync.c), so that what the
 * broker stopped retaining meanwhile leaves the board. Reconnects use libmosquitto's
 * backoff, 1 to 30 s.
 */
#include "watch.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <mosquitto.h>

#include "clock.h"
#include "log.h"

static const char *const state_names[] = {
    [WATCH_DOWN] = "down",
    [WATCH_SUBSCRIBING] = "subscribing",
    [WATCH_REFUSED] = "refused",
    [WATCH_UP] = "up",
};

struct watch {
    struct mosquitto *mosq;
    struct board *board;
    _Atomic enum watch_state state; /* written on libmosquitto's thread, read anywhere */
    bool was_down_logged;
    int sub_mid;         /* the SUBSCRIBE of this connection; libmosquitto's thread only */
};

static const char *const subs[] = {"+/alerts/#", "+/analytics/#"};
#define N_SUBS ((int)(sizeof(subs) / sizeof(subs[0])))

static void on_connect(struct mosquitto *mosq, void *data, int rc)
{
    struct watch *w = data;
    char *const *filters = (char *const *)subs; /* libmosquitto's prototype; not written */
    int r;

    if (rc != 0) {
        if (!w->was_down_logged)
            log_warn("watch", "the broker refused the console's session: %s",
                     mosquitto_connack_string(rc));
        w->was_down_logged = true;
        return;
    }
    w->was_down_logged = false;
    log_info("watch", "connected; reading alerts and aggregates");
    board_resync_begin(w->board);
    /* One SUBSCRIBE, so that one SUBACK says both replays have begun. */
    r = mosquitto_subscribe_multiple(mosq, &w->sub_mid, N_SUBS, filters, 1, 0, NULL);
    if (r != MOSQ_ERR_SUCCESS) {
        log_error("watch", "subscribe %s and %s: %s", subs[0], subs[1], mosquitto_strerror(r));
        w->sub_mid = -1;
        board_resync_cancel(w->board);
    }
    atomic_store(&w->state, r == MOSQ_ERR_SUCCESS ? WATCH_SUBSCRIBING : WATCH_REFUSED);
}

/* The SUBACK: every filter granted starts the resync's quiet period and makes the feed
 * up; a refusal ends the resync, and the feed stays "refused" until a reconnect. */
static void on_subscribe(struct mosquitto *mosq, void *data, int mid, int n, const int *granted)
{
    struct watch *w = data;

    (void)mosq;
    if (mid != w->sub_mid)
        return;
    for (int i = 0; i < N_SUBS; i++) {
        /* A SUBACK with fewer codes than filters leaves the rest unconfirmed. */
        if (i >= n || granted[i] < 0 || granted[i] > 2) {
            log_error("watch", "the broker refused the subscription to %s: the board shows "
                               "nothing of it (/healthz says \"refused\")", subs[i]);
            board_resync_cancel(w->board);
            atomic_store(&w->state, WATCH_REFUSED);
            return;
        }
    }
    atomic_store(&w->state, WATCH_UP);
    board_resync_subscribed(w->board, clock_now_ms());
}

static void on_disconnect(struct mosquitto *mosq, void *data, int rc)
{
    struct watch *w = data;

    board_resync_cancel(w->board); /* the replay it waited for will not come */
    if (atomic_exchange(&w->state, WATCH_DOWN) == WATCH_DOWN)
        return;
    if (rc == 0) /* watch_stop's own disconnect */
        log_info("watch", "disconnected from the broker");
    else
        log_warn("watch", "disconnected from the broker (%s); reconnecting",
                 mosquitto_strerror(rc));
}

static void on_message(struct mosquitto *mosq, void *data, const struct mosquitto_message *m)
{
    struct watch *w = data;
    const char *second = strchr(m->topic, '/');
    int64_t now;

    if (!second)
        return;
    if (strncmp(second, "/alerts/", 8) == 0)
        board_alert(w->board, m->topic, m->payload, (size_t)m->payloadlen);
    else if (strncmp(second, "/analytics/", 11) == 0)
        board_aggregate(w->board, m->topic, m->payload, (size_t)m->payloadlen);
    else
        return;
    /* The retain flag is set only on the replay: live messages come without it. */
    now = clock_now_ms();
    if (m->retain)
        board_resync_retained(w->board, now);
    board_resync_tick(w->board, now);
}

struct watch *watch_start(const struct watch_options *opt, struct board *board)
{
    struct watch *w = calloc(1, sizeof(*w));
    char id[160];
    int r;

    if (!w)
        return NULL;
    w->board = board;
    w->sub_mid = -1;
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
    mosquitto_subscribe_callback_set(w->mosq, on_subscribe);
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

enum watch_state watch_state(struct watch *w)
{
    return w ? atomic_load(&w->state) : WATCH_DOWN;
}

const char *watch_state_name(enum watch_state s)
{
    return state_names[s];
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
