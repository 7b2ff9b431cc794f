// SPDX-License-Identifier: MIT
/*
 * The board after a (re)connect of the console's session (board.h): the broker
 * replays every retained alert and aggregate, but says nothing about those whose
 * retained message was removed while the console was away (a broker restart, a
 * network outage). So every entry held at the connect starts unconfirmed, each
 * message on its topic confirms it, and once the replay is over the rest is removed.
 *
 * When is the replay over? MQTT gives no end-of-replay marker, and the console's
 * account may read only `+/alerts/#`, `+/analytics/#` and the bridges' states, so it
 * cannot send itself one. Mosquitto 2.0.11 sends the SUBACK first and the retained
 * messages right after it (seen with `mosquitto_sub -d`), so the replay is taken as
 * over once the SUBACK has arrived and no retained message has followed for
 * BOARD_RESYNC_QUIET_MS. A sweep that comes too early (a replay that pauses longer
 * than that) is harmless: the retained message that arrives late adds its alert or
 * aggregate back, as any message does, and the open pages see it removed and added.
 */
#include "board.h"
#include "board_internal.h"

#include <errno.h>
#include <stdio.h>

#include "log.h"

/* Marks topic unconfirmed; false without memory. */
static bool mark(json_t *unconfirmed, const char *topic)
{
    return json_object_set_new(unconfirmed, topic, json_null()) == 0;
}

/* Every alert and aggregate held now, as topics; NULL without memory. Lock held. */
static json_t *held_topics(struct board *b)
{
    json_t *set = json_object(), *alert, *gauge, *agg;
    const char *topic, *key, *window;

    if (!set)
        return NULL;
    json_object_foreach(b->alerts, topic, alert) {
        if (!mark(set, topic))
            goto err;
    }
    json_object_foreach(b->gauges, key, gauge) {
        json_object_foreach(json_object_get(gauge, "windows"), window, agg) {
            char t[1024];
            const char *type = json_string_value(json_object_get(gauge, "type"));
            const char *m = json_string_value(json_object_get(gauge, "municipality"));
            const char *subject = json_string_value(json_object_get(gauge, "subject"));
            snprintf(t, sizeof(t), "%s/analytics/%s/%s/%s", m, type, subject, window);
            if (!mark(set, t))
                goto err;
        }
    }
    return set;
err:
    json_decref(set);
    return NULL;
}

int board_resync_begin(struct board *b)
{
    json_t *set;
    int r = 0;

    pthread_mutex_lock(&b->lock);
    json_decref(b->unconfirmed);
    b->unconfirmed = set = held_topics(b);
    b->resync_subscribed = false;
    pthread_mutex_unlock(&b->lock);
    if (!set) {
        log_error("board", "out of memory: the board is not compared with the broker's "
                           "retained messages after this connect");
        r = -ENOMEM;
    }
    return r;
}

void board_resync_subscribed(struct board *b, int64_t now_ms)
{
    pthread_mutex_lock(&b->lock);
    if (b->unconfirmed) {
        b->resync_subscribed = true;
        b->resync_quiet_from = now_ms;
    }
    pthread_mutex_unlock(&b->lock);
}

void board_resync_retained(struct board *b, int64_t now_ms)
{
    pthread_mutex_lock(&b->lock);
    if (b->unconfirmed && now_ms > b->resync_quiet_from)
        b->resync_quiet_from = now_ms;
    pthread_mutex_unlock(&b->lock);
}

/* Removes every entry still unconfirmed and ends the resync. Lock held. */
static void sweep(struct board *b)
{
    json_t *unconfirmed = b->unconfirmed, *v;
    size_t alerts = 0, aggregates = 0;
    const char *topic;

    b->unconfirmed = NULL;
    json_object_foreach(unconfirmed, topic, v) {
        char copy[512], *levels[6];
        if (board_remove_alert(b, topic))
            alerts++;
        else if (board_aggregate_levels(topic, copy, levels) &&
                 board_remove_window(b, topic, levels))
            aggregates++;
    }
    json_decref(unconfirmed);
    if (alerts || aggregates)
        log_info("board", "after the connect, removed what the broker no longer retains: "
                          "%zu alerts, %zu aggregates", alerts, aggregates);
}

void board_resync_tick(struct board *b, int64_t now_ms)
{
    pthread_mutex_lock(&b->lock);
    if (b->unconfirmed && b->resync_subscribed &&
        now_ms - b->resync_quiet_from >= BOARD_RESYNC_QUIET_MS)
        sweep(b);
    pthread_mutex_unlock(&b->lock);
}

void board_resync_cancel(struct board *b)
{
    pthread_mutex_lock(&b->lock);
    json_decref(b->unconfirmed);
    b->unconfirmed = NULL;
    b->resync_subscribed = false;
    pthread_mutex_unlock(&b->lock);
}
