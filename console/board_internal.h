// SPDX-License-Identifier: MIT
/*
 * The board's state, shared by its parts: board.c (alerts, the event ring and the
 * streams), board_aggregates.c (the aggregates) and board_resync.c (the comparison with
 * the broker's replay after each connect). Nothing outside these files includes this
 * header.
 */
#ifndef RHEINHUB_CONSOLE_BOARD_INTERNAL_H
#define RHEINHUB_CONSOLE_BOARD_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "board.h"

struct event {
    char *text; /* "event: NAME\ndata: JSON\n\n" */
    size_t len;
};

struct snapshot;

struct board {
    pthread_mutex_t lock;
    board_conn_cb park, wake;
    struct event ring[BOARD_RING];
    uint64_t seq;        /* sequence number of the next event; slot seq % BOARD_RING */
    struct board_client *clients;
    size_t n_clients;
    json_t *alerts;      /* topic -> the alert (with "topic") as a held text */
    json_t *recent;      /* cleared alerts, newest first */
    uint64_t version;    /* counts changes of alerts and recent */
    struct snapshot *snap;   /* of alerts and recent at snap_version, or NULL */
    uint64_t snap_version;
    json_t *gauges;      /* "m/type/subject" -> {municipality, type, subject, windows}, each
                            window's aggregate a held text */
    size_t n_windows;    /* aggregates held over all gauges' windows */
    uint64_t dropped;    /* payloads not held: malformed, too large, over a cap */
    json_t *unconfirmed; /* resync: topic -> null, held before the connect and not named
                            since (at most the held entries); NULL while no resync runs */
    bool resync_subscribed;    /* the SUBACK of this resync's connection arrived */
    int64_t resync_quiet_from; /* ms, monotonic: that SUBACK or the newest retained message */
};

/*
 * What the board holds of an alert or an aggregate: its compact JSON text as a JSON
 * string (a few hundred bytes), not the parsed object (a node per key and value, about
 * four to six times as much, tests/bench/bench_boardmem.c). The snapshot is joined from
 * these texts; the API parses them again. board_held_text: the text of value, or NULL
 * without memory; board_held_value: the value of a held text (the caller owns it), or
 * NULL without memory.
 */
json_t *board_held_text(const json_t *value);
json_t *board_held_value(const json_t *text);

/* Appends the event "event: NAME\ndata: JSON\n\n" of data to the ring and wakes the
 * parked streams (logs when out of memory). Lock held. */
void board_append(struct board *b, const char *name, const json_t *data);

/* Appends the "removed" event of topic, an alert or an aggregate that is gone. Lock held. */
void board_append_removed(struct board *b, const char *topic);

/* A message named topic: what it says is what the broker holds now. Lock held. */
void board_confirm(struct board *b, const char *topic);

/* Removes the alert at topic, held or cleared in the recent list, with one "removed"
 * event; whether there was one. Lock held. */
bool board_remove_alert(struct board *b, const char *topic);

/*
 * Splits an aggregate's topic, <m>/analytics/<type>/<subject>/<window>, into 5 levels
 * (in copy, of 512 bytes); false for any other topic and for the _all subject.
 */
bool board_aggregate_levels(const char *topic, char *copy, char **levels);

/*
 * Removes the aggregate at topic (its levels from aggregate_levels), and its subject
 * once it has no window left, with a "removed" event; whether it was held. Lock held.
 */
bool board_remove_window(struct board *b, const char *topic, char **levels);

#endif
