// SPDX-License-Identifier: MIT
/*
 * Reads for the console's detail and gauge views (history.h). Each call opens the
 * store read-only, streams the rows as JSON lines into memory (at most
 * HISTORY_ROWS_MAX), closes it and parses the lines: a short query per request, no
 * connection held between them, nothing written.
 */
#include "history.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "export.h"
#include "store.h"
#include "timestamp.h"

#define NS_PER_S 1000000000LL
#define BEFORE_NS (6 * 3600 * NS_PER_S) /* values shown before an alert was raised */
#define AFTER_NS (1 * 3600 * NS_PER_S)  /* and after it cleared */
#define ALERT_LOOKBACK_NS (30LL * 86400 * NS_PER_S)

static int64_t now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * NS_PER_S + ts.tv_nsec;
}

/* Runs f and returns its rows as a JSON array (events: objects of their columns). */
static int query(const struct history *h, const struct store_filter *f, json_t **rows, char *err,
                 size_t err_size)
{
    struct store *s = NULL;
    struct export x;
    char *text = NULL;
    size_t len = 0;
    FILE *out;
    int r;

    *rows = NULL;
    if ((r = store_open(&s, h->cfg, h->sqlite_path, STORE_READ, err, err_size)) < 0)
        return r;
    if (!(out = open_memstream(&text, &len))) {
        store_close(s);
        snprintf(err, err_size, "out of memory");
        return -ENOMEM;
    }
    export_init(&x, out, EXPORT_JSONL, f->table);
    r = store_query(s, f, &x);
    if (r < 0)
        snprintf(err, err_size, "%s", store_error(s));
    if (export_finish(&x) < 0 && r == 0) {
        snprintf(err, err_size, "out of memory");
        r = -ENOMEM;
    }
    store_close(s);
    if (fclose(out) != 0 && r == 0) {
        snprintf(err, err_size, "out of memory");
        r = -ENOMEM;
    }
    if (r == 0 && !(*rows = json_array()))
        r = -ENOMEM;
    for (char *line = text, *nl; r == 0 && line && *line; line = nl ? nl + 1 : NULL) {
        json_error_t jerr;
        json_t *row;

        nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if ((row = json_loads(line, 0, &jerr)))
            json_array_append_new(*rows, row);
    }
    free(text);
    if (r < 0) {
        json_decref(*rows);
        *rows = NULL;
    }
    return r;
}

int history_check(const struct history *h, char *err, size_t err_size)
{
    struct store *s = NULL;
    int r = store_open(&s, h->cfg, h->sqlite_path, STORE_READ, err, err_size);

    if (r == 0)
        store_close(s);
    return r;
}

static const char *str(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

static int64_t time_ns(const char *s)
{
    int64_t ns = 0;

    return s && timestamp_parse(s, strlen(s), &ns) == 0 ? ns : 0;
}

/* The value at a dotted path of an object, or NULL. */
static json_t *at_path(json_t *o, const char *path)
{
    char part[RULE_PATH_MAX];
    const char *p = path;

    while (o && *p) {
        size_t n = strcspn(p, ".");
        if (n >= sizeof(part))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        o = json_object_get(o, part);
        p += n;
        if (*p == '.')
            p++;
    }
    return o;
}

/* Adds the rule's field, kind and levels to out. */
static void add_levels(const struct history *h, const char *rule_name, json_t *out)
{
    const struct rule *r = h->rules ? rules_find(h->rules, rule_name) : NULL;
    json_t *levels = json_array();

    if (!r || !levels) {
        json_decref(levels);
        return;
    }
    json_object_set_new(out, "field", json_string(r->field));
    json_object_set_new(out, "kind", json_string(rule_kind_name(r->kind)));
    if (r->kind == RULE_ABOVE || r->kind == RULE_BELOW) {
        json_array_append_new(levels, json_pack("{s:f,s:s}", "at", r->raise, "severity",
                                                severity_name(r->severity)));
        for (int i = 0; i < r->n_levels; i++)
            json_array_append_new(levels, json_pack("{s:f,s:s}", "at", r->levels[i].at,
                                                    "severity",
                                                    severity_name(r->levels[i].severity)));
        if (r->rate_ns == 0)
            json_object_set_new(out, "clear", json_real(r->clear));
    }
    json_object_set_new(out, "levels", levels);
}

int history_alert(const struct history *h, const char *topic, const char *id, json_t **out,
                  char *err, size_t err_size)
{
    char copy[512], *m, *rule, *subject, *slash;
    struct store_filter f = {.table = STORE_ALERTS};
    json_t *rows = NULL, *changes = NULL, *events = NULL, *values = NULL, *row;
    const char *type = NULL, *field = NULL;
    int64_t from_ns, until_ns;
    size_t i;
    int r;

    *out = NULL;
    snprintf(copy, sizeof(copy), "%s", topic);
    m = copy;
    if (!(slash = strchr(m, '/')) || strncmp(slash, "/alerts/", 8) != 0)
        return -EINVAL;
    *slash = '\0';
    rule = slash + 8;
    if (!(slash = strchr(rule, '/')))
        return -EINVAL;
    *slash = '\0';
    subject = slash + 1;
    if (strchr(subject, '/'))
        return -EINVAL;

    f.municipality = m;
    f.subject = subject;
    f.has_since = true;
    f.since_ns = now_ns() - ALERT_LOOKBACK_NS;
    f.limit = HISTORY_ROWS_MAX;
    if ((r = query(h, &f, &rows, err, err_size)) < 0)
        return r;
    if (!(changes = json_array()) || !(*out = json_object())) {
        r = -ENOMEM;
        goto out;
    }
    json_array_foreach(rows, i, row) {
        if (strcmp(str(row, "id"), id) == 0 && strcmp(str(row, "rule"), rule) == 0)
            json_array_append(changes, row);
    }
    if (json_array_size(changes) == 0) {
        snprintf(err, err_size, "no change of alert %s is stored", id);
        r = -ENOENT;
        goto out;
    }
    row = json_array_get(changes, json_array_size(changes) - 1);
    type = str(row, "type");
    from_ns = time_ns(str(json_array_get(changes, 0), "raised_at")) - BEFORE_NS;
    until_ns = json_is_string(json_object_get(row, "cleared_at"))
                   ? time_ns(str(row, "cleared_at")) + AFTER_NS
                   : now_ns() + AFTER_NS;
    json_object_set(*out, "changes", changes);
    add_levels(h, rule, *out);
    field = json_string_value(json_object_get(*out, "field"));
    if (!(values = json_array())) {
        r = -ENOMEM;
        goto out;
    }
    json_object_set(*out, "values", values);
    if (!field || !field[0])
        goto out;

    memset(&f, 0, sizeof(f));
    f.table = STORE_EVENTS;
    f.municipality = m;
    f.type = type;
    f.subject = subject;
    f.has_since = f.has_until = true;
    f.since_ns = from_ns;
    f.until_ns = until_ns;
    f.limit = HISTORY_ROWS_MAX;
    if ((r = query(h, &f, &events, err, err_size)) < 0)
        goto out;
    json_array_foreach(events, i, row) {
        json_t *v = at_path(json_object_get(row, "data"), field);
        if (json_is_number(v))
            json_array_append_new(values, json_pack("{s:s,s:O}", "time", str(row, "time"), "v", v));
    }
out:
    if (r < 0) {
        json_decref(*out);
        *out = NULL;
    }
    json_decref(rows);
    json_decref(changes);
    json_decref(events);
    json_decref(values);
    return r;
}

int history_series(const struct history *h, const char *type, json_t **out, char *err,
                   size_t err_size)
{
    struct store_filter f = {.table = STORE_AGGREGATES};
    json_t *rows = NULL, *row;
    size_t i;
    int r;

    *out = NULL;
    f.type = type;
    f.has_since = true;
    f.since_ns = now_ns() - 24 * 3600 * NS_PER_S;
    f.limit = HISTORY_ROWS_MAX * 4;
    if ((r = query(h, &f, &rows, err, err_size)) < 0)
        return r;
    if (!(*out = json_object())) {
        json_decref(rows);
        return -ENOMEM;
    }
    json_array_foreach(rows, i, row) {
        char key[300];
        json_t *list, *point;

        if (strcmp(str(row, "window"), "1h") != 0 || strcmp(str(row, "subject"), "_all") == 0)
            continue;
        snprintf(key, sizeof(key), "%s/%s", str(row, "municipality"), str(row, "subject"));
        if (!(list = json_object_get(*out, key))) {
            list = json_array();
            json_object_set_new(*out, key, list);
        }
        point = json_pack("{s:s,s:O?}", "start", str(row, "start"), "stats",
                          json_object_get(row, "stats"));
        json_array_append_new(list, point);
    }
    json_decref(rows);
    return 0;
}
