// SPDX-License-Identifier: MIT
/*
 * JSON lines and RFC 4180 CSV, written straight to a stdio stream: JSON strings are
 * escaped here (quote, backslash, control characters; UTF-8 passes through), CSV
 * fields are quoted only when they must be.
 */
#include "export.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static const char *const alert_columns[] = {
    "id",         "rule",       "severity",  "state",      "municipality", "type",
    "subject",    "value",      "threshold", "message",    "event_id",     "event_time",
    "raised_at",  "updated_at", "acked_by",  "cleared_at",
};

static const char *const aggregate_columns[] = {
    "municipality", "type", "subject", "window", "start",
    "end",          "count", "subjects", "stats", "counts",
};

static const char *const event_names[] = {
#define X(name, text, kind) text,
    EXPORT_EVENT_COLUMNS(X)
#undef X
};

static const enum export_kind event_kinds[] = {
#define X(name, text, kind) kind,
    EXPORT_EVENT_COLUMNS(X)
#undef X
};

int export_format_parse(const char *text, enum export_format *out)
{
    if (strcmp(text, "jsonl") == 0)
        *out = EXPORT_JSONL;
    else if (strcmp(text, "csv") == 0)
        *out = EXPORT_CSV;
    else
        return -EINVAL;
    return 0;
}

void export_init(struct export *x, FILE *out, enum export_format format, enum store_table table)
{
    memset(x, 0, sizeof(*x));
    x->out = out;
    x->format = format;
    x->table = table;
}

/* A JSON string: quote, backslash and control characters escaped, other bytes as they are. */
static void put_json_string(FILE *f, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;

    putc('"', f);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[7];

        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        fwrite(s + run, 1, i - run, f);
        run = i + 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        case '\b': esc = "\\b"; break;
        case '\f': esc = "\\f"; break;
        default:
            memcpy(u, "\\u00", 4);
            u[4] = hex[c >> 4];
            u[5] = hex[c & 15];
            u[6] = '\0';
            esc = u;
        }
        fputs(esc, f);
    }
    fwrite(s + run, 1, n - run, f);
    putc('"', f);
}

/* A CSV field: quoted when it holds a comma, quote, CR or LF, with quotes doubled. */
static void csv_field(FILE *f, const char *s, size_t n)
{
    size_t run = 0;

    if (!s || (!memchr(s, ',', n) && !memchr(s, '"', n) && !memchr(s, '\r', n) &&
               !memchr(s, '\n', n))) {
        if (s)
            fwrite(s, 1, n, f);
        return;
    }
    putc('"', f);
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"')
            continue;
        fwrite(s + run, 1, i + 1 - run, f); /* up to and with the quote, */
        run = i;                            /* which is then written again */
    }
    fwrite(s + run, 1, n - run, f);
    putc('"', f);
}

static void csv_header(struct export *x)
{
    const char *const *names = event_names;
    size_t n = EXPORT_EVENT_NCOLS;

    if (x->table == STORE_ALERTS) {
        names = alert_columns;
        n = sizeof(alert_columns) / sizeof(alert_columns[0]);
    } else if (x->table == STORE_AGGREGATES) {
        names = aggregate_columns;
        n = sizeof(aggregate_columns) / sizeof(aggregate_columns[0]);
    }
    for (size_t i = 0; i < n; i++) {
        if (i)
            putc(',', x->out);
        fputs(names[i], x->out);
    }
    fputs("\r\n", x->out);
    x->started = true;
}

static void event_row(struct export *x, const struct export_value *v)
{
    FILE *f = x->out;

    if (x->format == EXPORT_CSV) {
        for (size_t i = 0; i < EXPORT_EVENT_NCOLS; i++) {
            if (i)
                putc(',', f);
            csv_field(f, v[i].ptr, v[i].len);
        }
        fputs("\r\n", f);
        return;
    }
    putc('{', f);
    for (size_t i = 0; i < EXPORT_EVENT_NCOLS; i++) {
        if (i)
            putc(',', f);
        put_json_string(f, event_names[i], strlen(event_names[i]));
        putc(':', f);
        if (!v[i].ptr)
            fputs("null", f);
        else if (event_kinds[i] == EXPORT_STR)
            put_json_string(f, v[i].ptr, v[i].len);
        else
            fwrite(v[i].ptr, 1, v[i].len, f);
    }
    fputs("}\n", f);
}

/* One member of a document as a CSV field: strings as their text, null as nothing. */
static int csv_member(FILE *f, const json_t *v)
{
    char *text;

    if (!v || json_is_null(v))
        return 0;
    if (json_is_string(v)) {
        csv_field(f, json_string_value(v), json_string_length(v));
        return 0;
    }
    if (!(text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY)))
        return -ENOMEM;
    csv_field(f, text, strlen(text));
    free(text);
    return 0;
}

static int document_row(struct export *x, const struct export_value *v)
{
    const char *const *names = x->table == STORE_ALERTS ? alert_columns : aggregate_columns;
    size_t n = x->table == STORE_ALERTS ? sizeof(alert_columns) / sizeof(alert_columns[0])
                                        : sizeof(aggregate_columns) / sizeof(aggregate_columns[0]);
    json_t *doc;
    int r = 0;

    if (!v->ptr)
        return -EINVAL;
    if (x->format == EXPORT_JSONL) {
        fwrite(v->ptr, 1, v->len, x->out);
        putc('\n', x->out);
        return 0;
    }
    /* A stored string may hold U+0000 (SQLite keeps it): its field then has that byte. */
    if (!(doc = json_loadb(v->ptr, v->len, JSON_ALLOW_NUL, NULL)) || !json_is_object(doc)) {
        json_decref(doc);
        return -EINVAL;
    }
    for (size_t i = 0; i < n && r == 0; i++) {
        if (i)
            putc(',', x->out);
        r = csv_member(x->out, json_object_get(doc, names[i]));
    }
    fputs("\r\n", x->out);
    json_decref(doc);
    return r;
}

int export_row(struct export *x, const struct export_value *values, size_t n)
{
    int r = 0;

    if (x->format == EXPORT_CSV && !x->started)
        csv_header(x);
    if (x->table == STORE_EVENTS) {
        if (n != EXPORT_EVENT_NCOLS)
            return -EINVAL;
        event_row(x, values);
    } else {
        if (n != 1)
            return -EINVAL;
        r = document_row(x, values);
    }
    if (r < 0)
        return r;
    x->rows++;
    return ferror(x->out) ? -EIO : 0;
}

int export_finish(struct export *x)
{
    if (x->format == EXPORT_CSV && !x->started)
        csv_header(x);
    if (fflush(x->out) != 0 || ferror(x->out))
        return -EIO;
    return 0;
}
