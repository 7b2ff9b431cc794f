// SPDX-License-Identifier: MIT
/*
 * What every source shares: its configuration (hub.yaml and its own file), the schema
 * catalog, metrics and health, the dead-letter link and the publisher; the command
 * line (-c hub.yaml, -f FILE, --check); the way a source stops (SIGTERM, SIGINT, or
 * the end of the supervisor's stdin pipe); and the emit step that checks a mapped
 * event against its type's schema and publishes it as a CloudEvents 1.0 structured
 * JSON event on <municipality>/<category>/<type>/<subject>, so that the hub keeps its
 * id, time and source.
 */
#ifndef RHEINHUB_SOURCE_H
#define RHEINHUB_SOURCE_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "catalog.h"
#include "config.h"
#include "deadletters.h"
#include "publisher.h"
#include "source_file.h"
#include "source_metrics.h"

#define SOURCE_ID_HEX 32
#define SOURCE_CE_TEXT_MAX (16u << 10) /* bytes; a larger event's text goes on the heap */

struct source {
    enum source_kind kind;
    const char *name;          /* "ttn", "chirpstack", "pegelonline" */
    struct hub_config cfg;
    struct source_file sf;
    struct catalog *catalog;
    struct source_metrics m;
    struct deadletters dl;
    struct publisher pub;
    char ce_text[SOURCE_CE_TEXT_MAX]; /* the event source_emit publishes (its thread's) */
};

/* One canonical event, ready for emit. Strings are borrowed; data is borrowed. */
struct source_event {
    const char *municipality;
    const char *event_type;    /* <category>.<type> */
    const char *subject;
    const char *id;
    const char *time;
    const char *ce_source;     /* the CloudEvents source */
    json_t *data;
};

/* The input an event came from, for its dead letter. */
struct source_input {
    const char *topic;         /* network server topic, or the URL */
    const void *payload;
    size_t len;
};

/*
 * Runs a source: parses the command line, loads hub.yaml, the source's file and the
 * schemas; with --check reports and exits. Else starts metrics, the dead-letter link
 * and the publisher, calls run(s) on the main thread until it returns (it must return
 * soon after source_stopping() turns true), drains and exits. Returns the exit status.
 */
int source_main(enum source_kind kind, int argc, char **argv, int (*run)(struct source *s));

/* Whether a stop was asked for (signal, or stdin closed). Checks stdin without blocking. */
bool source_stopping(void);

/* Sleeps up to ms, ending early when a stop is asked for. */
void source_sleep_ms(int ms);

/* The 32-hex-digit XXH3-128 of parts[0..n) each followed by a NUL byte. */
void source_event_id(char out[SOURCE_ID_HEX + 1], const char *const *parts, int n);

/*
 * Validates ev->data against its type's schema and publishes the event. What fails
 * goes to the dead-letter stream with in's payload. Returns 0 when published, else
 * the reason's negative value - 1 (it has been dead-lettered). Called on the thread
 * that publishes only (the text is made in s->ce_text).
 */
int source_emit(struct source *s, const struct source_event *ev, const struct source_input *in);

/* Dead-letters input in with reason and detail. */
void source_reject(struct source *s, enum source_reason reason, const char *detail,
                   const struct source_input *in);

#endif
