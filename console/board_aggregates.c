// SPDX-License-Identifier: MIT
/*
 * The board's aggregates (board.h): the newest aggregate of each (subject, window),
 * grouped by subject into gauges, as the analytics worker publishes them retained on
 * <m>/analytics/<type>/<subject>/<window>; each change is one "aggregate" or "removed"
 * event in the board's ring (board.c).
 */
#include "board.h"
#include "board_internal.h"

#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* The gauges' key of an aggregate's levels: "m/type/subject". */
static void gauge_key(char **levels, char *key, size_t size)
{
    snprintf(key, size, "%s/%s/%s", levels[0], levels[2], levels[3]);
}

/* Holds agg (a reference taken) as the newest of its (subject, window). Lock held. */
static void hold_window(struct board *b, char **levels, json_t *agg)
{
    char key[512];
    json_t *gauge, *ev;
    bool held;

    gauge_key(levels, key, sizeof(key));
    gauge = json_object_get(b->gauges, key);
    /* The cap counts (subject, window) pairs: the window is a topic level too. */
    held = gauge && json_object_get(json_object_get(gauge, "windows"), levels[4]);
    if (!held && b->n_windows >= BOARD_GAUGES_MAX) {
        gauge = NULL;
    } else if (!gauge) {
        gauge = json_pack("{s:s,s:s,s:s,s:{}}", "municipality", levels[0], "type", levels[2],
                          "subject", levels[3], "windows");
        if (gauge && json_object_set_new(b->gauges, key, gauge) < 0)
            gauge = NULL; /* freed by json_object_set_new */
    }
    if (gauge && json_object_set(json_object_get(gauge, "windows"), levels[4], agg) == 0) {
        if (!held)
            b->n_windows++;
        ev = json_pack("{s:s,s:s,s:s,s:s,s:O}", "municipality", levels[0], "type", levels[2],
                       "subject", levels[3], "window", levels[4], "aggregate", agg);
        if (ev)
            board_append(b, "aggregate", ev);
        json_decref(ev);
    } else {
        b->dropped++;
    }
}

/* Removes a held aggregate, with its "removed" event (board_internal.h). */
bool board_remove_window(struct board *b, const char *topic, char **levels)
{
    char key[512];
    json_t *gauge, *windows;

    gauge_key(levels, key, sizeof(key));
    gauge = json_object_get(b->gauges, key);
    windows = json_object_get(gauge, "windows");
    if (!json_object_get(windows, levels[4]))
        return false;
    json_object_del(windows, levels[4]);
    b->n_windows--;
    if (json_object_size(windows) == 0)
        json_object_del(b->gauges, key);
    board_append_removed(b, topic);
    return true;
}

void board_aggregate(struct board *b, const char *topic, const void *payload, size_t len)
{
    char copy[512], *levels[6];
    json_t *agg = NULL;
    json_error_t jerr;

    if (!board_aggregate_levels(topic, copy, levels))
        return;
    if (len > 0 && len <= BOARD_PAYLOAD_MAX && (agg = json_loadb(payload, len, 0, &jerr)) &&
        !json_is_object(agg)) {
        json_decref(agg);
        agg = NULL;
    }
    pthread_mutex_lock(&b->lock);
    board_confirm(b, topic);
    if (len == 0) /* a retained aggregate removed by an operator of the broker */
        board_remove_window(b, topic, levels);
    else if (agg)
        hold_window(b, levels, agg);
    else
        b->dropped++;
    pthread_mutex_unlock(&b->lock);
    json_decref(agg);
}

json_t *board_gauges_json(struct board *b)
{
    json_t *out = json_array(), *g;
    const char *key;

    if (!out)
        return NULL;
    pthread_mutex_lock(&b->lock);
    json_object_foreach(b->gauges, key, g)
        json_array_append_new(out, json_deep_copy(g));
    pthread_mutex_unlock(&b->lock);
    return out;
}
