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
#include <stdlib.h>
#include <string.h>

#include "log.h"

/* The gauges' key of an aggregate's levels: "m/type/subject". */
static void gauge_key(char **levels, char *key, size_t size)
{
    snprintf(key, size, "%s/%s/%s", levels[0], levels[2], levels[3]);
}

/* Holds agg (a reference taken) as the newest of its (subject, window). Lock held. */
static void hold_window(struct board *b, char **levels, json_t *agg)
{
    char key[512];
    json_t *gauge, *ev, *text = board_held_text(agg);
    bool held;

    if (!text) {
        log_error("board", "out of memory holding an aggregate");
        b->dropped++;
        return;
    }
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
    if (!gauge)
        json_decref(text);
    if (gauge && json_object_set_new(json_object_get(gauge, "windows"), levels[4], text) == 0) {
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

/* A copy of gauge with its windows' held texts parsed, or NULL. Lock held. */
static json_t *gauge_json(const json_t *gauge)
{
    json_t *windows = json_object(), *text;
    const char *window;

    if (!windows)
        return NULL;
    json_object_foreach(json_object_get(gauge, "windows"), window, text) {
        if (json_object_set_new(windows, window, board_held_value(text)) < 0) {
            json_decref(windows);
            return NULL;
        }
    }
    return json_pack("{s:O,s:O,s:O,s:o}", "municipality", json_object_get(gauge, "municipality"),
                     "type", json_object_get(gauge, "type"), "subject",
                     json_object_get(gauge, "subject"), "windows", windows);
}

json_t *board_gauges_json(struct board *b)
{
    json_t *out = json_array(), *g;
    const char *key;

    if (!out)
        return NULL;
    pthread_mutex_lock(&b->lock);
    json_object_foreach(b->gauges, key, g) {
        if (json_array_append_new(out, gauge_json(g)) < 0) {
            json_decref(out);
            out = NULL;
            break;
        }
    }
    pthread_mutex_unlock(&b->lock);
    return out;
}

/* Writes value to f as compact JSON; whether it could. */
static bool put_json(FILE *f, const json_t *value)
{
    return json_dumpf(value, f, JSON_COMPACT | JSON_ENCODE_ANY) == 0;
}

/* Writes gauge to f as /api/gauges shows it, silent or not; whether it could. */
static bool put_gauge(FILE *f, json_t *gauge, bool silent)
{
    json_t *text, *name;
    const char *window;
    bool first = true;
    bool ok = fputs("{\"municipality\":", f) >= 0 &&
              put_json(f, json_object_get(gauge, "municipality")) && fputs(",\"type\":", f) >= 0 &&
              put_json(f, json_object_get(gauge, "type")) && fputs(",\"subject\":", f) >= 0 &&
              put_json(f, json_object_get(gauge, "subject")) && fputs(",\"windows\":{", f) >= 0;

    json_object_foreach(json_object_get(gauge, "windows"), window, text) {
        if (!ok)
            break;
        name = json_string(window);
        ok = name && (first || fputc(',', f) != EOF) && put_json(f, name) &&
             fputc(':', f) != EOF &&
             fwrite(json_string_value(text), 1, json_string_length(text), f) ==
                 json_string_length(text);
        json_decref(name);
        first = false;
    }
    return ok && fputs(silent ? "},\"silent\":true}" : "},\"silent\":false}", f) >= 0;
}

char *board_gauges_text(struct board *b, const json_t *silent, size_t *len)
{
    char *text = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&text, &n);
    const char *key;
    json_t *gauge;
    bool ok, first = true;

    if (!f)
        return NULL;
    pthread_mutex_lock(&b->lock);
    ok = fputc('[', f) != EOF;
    json_object_foreach(b->gauges, key, gauge) {
        ok = ok && (first || fputc(',', f) != EOF) &&
             put_gauge(f, gauge, json_object_get(silent, key) != NULL);
        first = false;
    }
    ok = ok && fputc(']', f) != EOF;
    pthread_mutex_unlock(&b->lock);
    if (fclose(f) != 0 || !ok) {
        free(text);
        return NULL;
    }
    if (len)
        *len = n;
    return text;
}
