// SPDX-License-Identifier: MIT
/*
 * One row to store, made from one decoded envelope: its table (events, alerts or
 * aggregates, by the envelope's type), the column values, and the payload as JSON
 * text. Both backends write rows; neither looks at an envelope.
 */
#ifndef RHEINHUB_STORAGE_ROW_H
#define RHEINHUB_STORAGE_ROW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "envelope.h"

#define ROW_ERROR_MAX 160

/* The envelope types that go to their own tables; every other type is an event. */
#define ROW_TYPE_ALERT "rheinhub.alert"
#define ROW_TYPE_AGGREGATE "rheinhub.aggregate"

#define STORE_TABLE_MAP(X)                                                                         \
    X(EVENTS, "events")                                                                            \
    X(ALERTS, "alerts")                                                                            \
    X(AGGREGATES, "aggregates")

enum store_table {
#define X(name, text) STORE_##name,
    STORE_TABLE_MAP(X)
#undef X
        STORE_TABLE_COUNT
};

const char *store_table_name(enum store_table table);
/* "events", "alerts" or "aggregates". Returns 0, or -EINVAL. */
int store_table_parse(const char *text, enum store_table *out);

/* A text value: ptr NULL is SQL NULL. Not NUL-terminated. */
struct row_str {
    const char *ptr;
    size_t len;
};

struct row_event {
    struct row_str id, source, municipality, category, type, subject, time;
    int64_t time_ns;          /* time, UTC, ns since the epoch (saturated) */
};

/* One state change of an alert (DESIGN.md, Alert JSON). */
struct row_alert {
    struct row_str change_id; /* the envelope's id: one per state change */
    struct row_str id, rule, severity, state, municipality, type, subject, message, event_id,
        event_time, raised_at, updated_at, acked_by, cleared_at;
    const json_t *value, *threshold; /* borrowed from row.json; NULL when absent */
    int64_t raised_ns, updated_ns, cleared_ns; /* cleared_ns: when cleared_at is set */
};

/* One window of the analytics worker (schemas/aggregate.schema.json). */
struct row_aggregate {
    struct row_str id;        /* the envelope's id: one per window */
    struct row_str municipality, type, subject, window, start, end;
    int64_t start_ns, end_ns;
    int64_t count;
    int64_t subjects;         /* roll-ups only */
    bool has_subjects;
};

struct row {
    enum store_table table;
    union {
        struct row_event event;
        struct row_alert alert;
        struct row_aggregate aggregate;
    } u;
    uint64_t received_ns;     /* the hub's receivedtime */
    char *data;               /* the payload as compact JSON text, owned (malloc) */
    size_t data_len;
    json_t *json;             /* alerts, aggregates: the payload, owning the strings above */
    /* Set by row_build or a backend: this row cannot be stored, and why. */
    bool failed;
    char error[ROW_ERROR_MAX];
};

/*
 * Builds *row from a decoded envelope. Text columns of events borrow the envelope's
 * strings (the row must not outlive it); alerts and aggregates borrow from row->json.
 * Returns 0; -EINVAL with row->failed and row->error set when the envelope can never
 * be stored (an alert without its id, a time that is not RFC 3339); -ENOMEM.
 */
int row_build(struct row *row, const struct envelope_view *env);

/* Frees what the row owns and zeroes it. Accepts a zeroed row. */
void row_clear(struct row *row);

#endif
