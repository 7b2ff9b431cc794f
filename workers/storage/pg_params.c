// SPDX-License-Identifier: MIT
/*
 * The parameters of the PostgreSQL backend's statements, built from rows: in binary
 * where that saves work (text columns straight from the envelope's bytes, bigint,
 * timestamptz as microseconds since 2000-01-01) and in text for jsonb (the JSON text,
 * NUL-terminated already).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pg_store.h"

void pg_params_free(struct pg_params *p)
{
    for (int i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    free(p->values);
    free(p->lengths);
    free(p->formats);
    free(p->types);
    free(p->bin);
    free(p->owned);
    memset(p, 0, sizeof(*p));
}

/* Empties p and makes room for n parameters. Returns 0, or -ENOMEM. */
int pg_params_reset(struct pg_params *p, int n)
{
    for (int i = 0; i < p->n_owned; i++)
        free(p->owned[i]);
    p->n = p->n_owned = 0;
    if (n <= p->cap)
        return 0;
#define GROW(field) do {                                                                           \
        void *np = realloc(p->field, (size_t)n * sizeof(*p->field));                               \
        if (!np)                                                                                   \
            return -ENOMEM;                                                                        \
        p->field = np;                                                                             \
    } while (0)
    GROW(values);
    GROW(lengths);
    GROW(formats);
    GROW(types);
    GROW(bin);
    GROW(owned);
#undef GROW
    p->cap = n;
    return 0;
}

static void add(struct pg_params *p, Oid type, const char *value, int length, int format)
{
    p->types[p->n] = type;
    p->values[p->n] = value;
    p->lengths[p->n] = length;
    p->formats[p->n] = format;
    p->n++;
}

/* Text from the row, in binary (its bytes as they are); NULL for SQL NULL. */
static void add_text(struct pg_params *p, const struct row_str *v)
{
    add(p, OID_TEXT, v->ptr, (int)v->len, 1);
}

static void add_int8(struct pg_params *p, int64_t v)
{
    unsigned char *b = p->bin[p->n];
    uint64_t u = (uint64_t)v;

    for (int i = 7; i >= 0; i--, u >>= 8)
        b[i] = (unsigned char)(u & 0xff);
    add(p, OID_INT8, (const char *)b, 8, 1);
}

static void add_null(struct pg_params *p, Oid type)
{
    add(p, type, NULL, 0, 1);
}

/* A timestamptz from ns since 1970: microseconds since 2000-01-01, rounded down. */
static void add_ts(struct pg_params *p, int64_t ns)
{
    int64_t us = ns / 1000 - (ns % 1000 < 0);

    add_int8(p, us - PG_EPOCH_US);
    p->types[p->n - 1] = OID_TIMESTAMPTZ;
}

/* jsonb in text format: NUL-terminated JSON. */
static void add_json_text(struct pg_params *p, const char *json)
{
    add(p, OID_JSONB, json, 0, 0);
}

/* A JSON value (an alert's value or threshold) as jsonb; JSON null or absent as NULL. */
static void add_json_value(struct pg_params *p, const json_t *v)
{
    char *text;

    if (!v || json_is_null(v) ||
        !(text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY))) {
        add_null(p, OID_JSONB);
        return;
    }
    p->owned[p->n_owned++] = text;
    add_json_text(p, text);
}

void pg_params_add_row(struct pg_params *p, const struct row *row)
{
    switch (row->table) {
    case STORE_EVENTS: {
        const struct row_event *e = &row->u.event;
        add_text(p, &e->id);
        add_text(p, &e->municipality);
        add_text(p, &e->category);
        add_text(p, &e->type);
        add_text(p, &e->subject);
        add_text(p, &e->time);
        add_ts(p, e->time_ns);
        add_int8(p, (int64_t)row->received_ns);
        add_text(p, &e->source);
        break;
    }
    case STORE_ALERTS: {
        const struct row_alert *a = &row->u.alert;
        add_text(p, &a->change_id);
        add_text(p, &a->id);
        add_text(p, &a->rule);
        add_text(p, &a->severity);
        add_text(p, &a->state);
        add_text(p, &a->municipality);
        add_text(p, &a->type);
        add_text(p, &a->subject);
        add_json_value(p, a->value);
        add_json_value(p, a->threshold);
        add_text(p, &a->message);
        add_text(p, &a->event_id);
        add_text(p, &a->event_time);
        add_ts(p, a->raised_ns);
        add_ts(p, a->updated_ns);
        add_text(p, &a->acked_by);
        if (a->cleared_at.ptr)
            add_ts(p, a->cleared_ns);
        else
            add_null(p, OID_TIMESTAMPTZ);
        add_int8(p, (int64_t)row->received_ns);
        break;
    }
    case STORE_AGGREGATES: {
        const struct row_aggregate *g = &row->u.aggregate;
        add_text(p, &g->id);
        add_text(p, &g->municipality);
        add_text(p, &g->type);
        add_text(p, &g->subject);
        add_text(p, &g->window);
        add_ts(p, g->start_ns);
        add_ts(p, g->end_ns);
        add_int8(p, g->count);
        if (g->has_subjects)
            add_int8(p, g->subjects);
        else
            add_null(p, OID_INT8);
        add_int8(p, (int64_t)row->received_ns);
        break;
    }
    default: return;
    }
    add_json_text(p, row->data);
}
