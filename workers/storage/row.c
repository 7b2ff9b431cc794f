// SPDX-License-Identifier: MIT
/*
 * Rows from envelopes: the table by the envelope's type, the payload converted once
 * from msgpack to compact JSON text (key order kept), and for alerts and aggregates
 * their fields read from that payload and checked enough to fill the columns.
 */
#include "row.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jsontext.h"
#include "timestamp.h"

static const char *const table_names[] = {
#define X(name, text) text,
    STORE_TABLE_MAP(X)
#undef X
};

const char *store_table_name(enum store_table table)
{
    return (unsigned)table < STORE_TABLE_COUNT ? table_names[table] : "?";
}

int store_table_parse(const char *text, enum store_table *out)
{
    for (int i = 0; i < STORE_TABLE_COUNT; i++) {
        if (strcmp(text, table_names[i]) == 0) {
            *out = (enum store_table)i;
            return 0;
        }
    }
    return -EINVAL;
}

static int refuse(struct row *row, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Marks the row as one that can never be stored. Returns -EINVAL. */
static int refuse(struct row *row, const char *fmt, ...)
{
    va_list ap;

    if (!row->failed) { /* the first problem is the one reported */
        va_start(ap, fmt);
        vsnprintf(row->error, sizeof(row->error), fmt, ap);
        va_end(ap);
        row->failed = true;
    }
    return -EINVAL;
}

static bool str_is(const struct envelope_str *s, const char *text)
{
    size_t n = strlen(text);

    return s->len == n && memcmp(s->ptr, text, n) == 0;
}

static struct row_str from_env(const struct envelope_str *s)
{
    return (struct row_str){s->ptr, s->len};
}

/*
 * The string member key of the payload into *out. A missing member or JSON null is
 * SQL NULL unless required; anything but a string is refused.
 */
static int member_str(struct row *row, const char *key, bool required, struct row_str *out)
{
    const json_t *v = json_object_get(row->json, key);

    *out = (struct row_str){NULL, 0};
    if ((!v || json_is_null(v)) && !required)
        return 0;
    if (!json_is_string(v))
        return refuse(row, "%s: %s is %s", store_table_name(row->table), key,
                      v ? "not a string" : "missing");
    out->ptr = json_string_value(v);
    out->len = json_string_length(v);
    return 0;
}

/* A member that must be an RFC 3339 date-time (or, when optional, null or absent). */
static int member_time(struct row *row, const char *key, bool required, struct row_str *out,
                       int64_t *ns)
{
    int r = member_str(row, key, required, out);

    if (r < 0 || !out->ptr)
        return r;
    if (timestamp_parse(out->ptr, out->len, ns) < 0)
        return refuse(row, "%s: %s is not an RFC 3339 date-time", store_table_name(row->table),
                      key);
    return 0;
}

static int member_int(struct row *row, const char *key, bool required, int64_t *out, bool *has)
{
    const json_t *v = json_object_get(row->json, key);

    if (has)
        *has = false;
    if (!v && !required)
        return 0;
    if (!json_is_integer(v))
        return refuse(row, "%s: %s is %s", store_table_name(row->table), key,
                      v ? "not an integer" : "missing");
    *out = (int64_t)json_integer_value(v);
    if (has)
        *has = true;
    return 0;
}

static int build_alert(struct row *row, const struct envelope_view *env)
{
    struct row_alert *a = &row->u.alert;
    int r = 0;

    a->change_id = from_env(&env->id);
    r |= member_str(row, "id", true, &a->id);
    r |= member_str(row, "rule", true, &a->rule);
    r |= member_str(row, "severity", false, &a->severity);
    r |= member_str(row, "state", true, &a->state);
    r |= member_str(row, "municipality", true, &a->municipality);
    r |= member_str(row, "type", true, &a->type);
    r |= member_str(row, "subject", true, &a->subject);
    r |= member_str(row, "message", false, &a->message);
    r |= member_str(row, "event_id", false, &a->event_id);
    r |= member_str(row, "event_time", false, &a->event_time);
    r |= member_time(row, "raised_at", true, &a->raised_at, &a->raised_ns);
    r |= member_time(row, "updated_at", true, &a->updated_at, &a->updated_ns);
    r |= member_str(row, "acked_by", false, &a->acked_by);
    r |= member_time(row, "cleared_at", false, &a->cleared_at, &a->cleared_ns);
    a->value = json_object_get(row->json, "value");
    a->threshold = json_object_get(row->json, "threshold");
    return r ? -EINVAL : 0;
}

static int build_aggregate(struct row *row, const struct envelope_view *env)
{
    struct row_aggregate *g = &row->u.aggregate;
    int r = 0;

    g->id = from_env(&env->id);
    r |= member_str(row, "municipality", true, &g->municipality);
    r |= member_str(row, "type", true, &g->type);
    r |= member_str(row, "subject", true, &g->subject);
    r |= member_str(row, "window", true, &g->window);
    r |= member_time(row, "start", true, &g->start, &g->start_ns);
    r |= member_time(row, "end", true, &g->end, &g->end_ns);
    r |= member_int(row, "count", true, &g->count, NULL);
    r |= member_int(row, "subjects", false, &g->subjects, &g->has_subjects);
    return r ? -EINVAL : 0;
}

int row_build(struct row *row, const struct envelope_view *env)
{
    json_t *json;
    int r;

    memset(row, 0, sizeof(*row));
    row->received_ns = env->receivedtime_ns;
    if (str_is(&env->type, ROW_TYPE_ALERT))
        row->table = STORE_ALERTS;
    else if (str_is(&env->type, ROW_TYPE_AGGREGATE))
        row->table = STORE_AGGREGATES;
    else
        row->table = STORE_EVENTS;

    if (env->data->type != MSGPACK_OBJECT_MAP)
        return refuse(row, "data is not an object");
    if (row->table == STORE_EVENTS) {
        /* The hot path: straight to text, no JSON tree. */
        struct row_event *e = &row->u.event;
        if ((r = jsontext_from_msgpack(env->data, &row->data, &row->data_len)) < 0)
            return r == -ENOMEM ? r : refuse(row, "data cannot be written as JSON");
        e->id = from_env(&env->id);
        e->source = from_env(&env->source);
        e->municipality = from_env(&env->municipality);
        e->category = from_env(&env->category);
        e->type = from_env(&env->type);
        e->subject = from_env(&env->subject);
        e->time = from_env(&env->time);
        if (timestamp_parse(env->time.ptr, env->time.len, &e->time_ns) < 0)
            return refuse(row, "event time is not an RFC 3339 date-time");
        return 0;
    }
    /* Alerts and aggregates: their fields fill columns, so a tree is wanted. */
    if (!(json = envelope_object_to_json(env->data)))
        return errno == ENOMEM ? -ENOMEM : refuse(row, "data cannot be written as JSON");
    row->json = json;
    if (!(row->data = json_dumps(json, JSON_COMPACT | JSON_PRESERVE_ORDER)))
        return -ENOMEM;
    row->data_len = strlen(row->data);
    return row->table == STORE_ALERTS ? build_alert(row, env) : build_aggregate(row, env);
}

void row_clear(struct row *row)
{
    if (!row)
        return;
    free(row->data);
    json_decref(row->json);
    memset(row, 0, sizeof(*row));
}
