// SPDX-License-Identifier: MIT
/*
 * Loading of a source's file with libyaml's document API, which keeps every node's
 * line. The scalar keys of each section are one table (section, key, kind, offset,
 * range); the device rules and stations are lists of mappings checked here. Loading
 * goes on after an error, so that one run reports them all.
 */
#include "source_file.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "topic.h"
#include "yaml_report.h"

static const char *const kind_names[] = {
#define X(name, text) text,
    SOURCE_KIND_MAP(X)
#undef X
};

const char *source_kind_name(enum source_kind kind)
{
    return kind_names[kind];
}

enum key_kind { KEY_INT, KEY_STR, KEY_BOOL, KEY_LIST };

struct key_spec {
    const char *section;
    const char *key;
    enum key_kind kind;
    size_t offset, size;
    long min, max;
    size_t count_offset;
};

#define SF_INT(sec, name, lo, hi)                                                                  \
    {#sec, #name, KEY_INT, offsetof(struct source_file, sec.name), sizeof(int), lo, hi, 0}
#define SF_STR(sec, name)                                                                          \
    {#sec, #name, KEY_STR, offsetof(struct source_file, sec.name),                                 \
     sizeof(((struct source_file *)0)->sec.name), 0, 0, 0}
#define SF_BOOL(sec, name)                                                                         \
    {#sec, #name, KEY_BOOL, offsetof(struct source_file, sec.name), sizeof(bool), 0, 0, 0}

static const struct key_spec keys[] = {
    SF_STR(server, host),
    SF_INT(server, port, 1, 65535),
    SF_BOOL(server, tls),
    SF_STR(server, ca_file),
    SF_STR(server, username),
    SF_STR(server, password),
    SF_STR(server, client_id),
    {"server", "topics", KEY_LIST, offsetof(struct source_file, server.topics), 256, 1,
     SOURCE_TOPICS_MAX, offsetof(struct source_file, server.n_topics)},
    SF_INT(server, keepalive_s, 5, 3600),
    SF_INT(server, max_payload_bytes, 256, 1048576),
    SF_STR(api, base_url),
    SF_INT(api, interval_s, 1, 86400),
    SF_INT(api, timeout_s, 1, 600),
    SF_STR(api, backfill),
    SF_INT(api, backoff_max_s, 1, 86400),
    SF_STR(api, ca_file),
    SF_STR(api, state_file),
    SF_STR(http, bind),
    SF_INT(http, port, 0, 65535),
};

struct loader {
    const char *path;
    FILE *err;
    int errors;
    yaml_document_t *doc;
    struct source_file *sf;
};

static void report(struct loader *l, const yaml_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void report(struct loader *l, const yaml_node_t *node, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    yaml_vreport(l->err, l->path, node, fmt, ap);
    va_end(ap);
    l->errors++;
}

static const char *scalar(const yaml_node_t *node)
{
    return (const char *)node->data.scalar.value;
}

static yaml_node_t *node_at(struct loader *l, int index)
{
    return yaml_document_get_node(l->doc, index);
}

static bool is_null(const yaml_node_t *node)
{
    const char *v;

    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    v = scalar(node);
    return v[0] == '\0' || strcmp(v, "~") == 0 || strcmp(v, "null") == 0;
}

/* Copies a scalar into dst[size]; reports what is wrong and returns false otherwise. */
static bool copy_scalar(struct loader *l, const yaml_node_t *node, const char *what, char *dst,
                        size_t size)
{
    if (node->type != YAML_SCALAR_NODE) {
        report(l, node, "%s must be a string", what);
        return false;
    }
    if (node->data.scalar.length >= size) {
        report(l, node, "%s is longer than %zu characters", what, size - 1);
        return false;
    }
    memcpy(dst, scalar(node), node->data.scalar.length + 1);
    return true;
}

static bool parse_bool(const yaml_node_t *node, bool *out)
{
    const char *v;

    if (node->type != YAML_SCALAR_NODE || node->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    v = scalar(node);
    if (strcmp(v, "true") == 0 || strcmp(v, "yes") == 0 || strcmp(v, "on") == 0)
        *out = true;
    else if (strcmp(v, "false") == 0 || strcmp(v, "no") == 0 || strcmp(v, "off") == 0)
        *out = false;
    else
        return false;
    return true;
}

static void set_key(struct loader *l, const yaml_node_t *value, const struct key_spec *k)
{
    char *field = (char *)l->sf + k->offset;
    char what[96];

    snprintf(what, sizeof(what), "%s.%s", k->section, k->key);
    switch (k->kind) {
    case KEY_INT: {
        char *end;
        long v;
        if (value->type != YAML_SCALAR_NODE) {
            report(l, value, "%s must be an integer", what);
            return;
        }
        errno = 0;
        v = strtol(scalar(value), &end, 10);
        if (errno || end == scalar(value) || *end) {
            report(l, value, "%s must be an integer, not \"%s\"", what, scalar(value));
            return;
        }
        if (v < k->min || v > k->max) {
            report(l, value, "%s must be between %ld and %ld, not %ld", what, k->min, k->max, v);
            return;
        }
        *(int *)(void *)field = (int)v;
        return;
    }
    case KEY_STR:
        copy_scalar(l, value, what, field, k->size);
        return;
    case KEY_BOOL:
        if (!parse_bool(value, (bool *)field))
            report(l, value, "%s must be true or false", what);
        return;
    case KEY_LIST: {
        int n = 0;
        if (value->type != YAML_SEQUENCE_NODE) {
            report(l, value, "%s must be a list of strings", what);
            return;
        }
        for (yaml_node_item_t *it = value->data.sequence.items.start;
             it < value->data.sequence.items.top; it++) {
            if (n == k->max) {
                report(l, node_at(l, *it), "%s has more than %ld entries", what, k->max);
                return;
            }
            if (!copy_scalar(l, node_at(l, *it), what, field + (size_t)n * k->size, k->size))
                return;
            n++;
        }
        if (n < k->min) {
            report(l, value, "%s needs at least %ld entry", what, k->min);
            return;
        }
        *(int *)(void *)((char *)l->sf + k->count_offset) = n;
        return;
    }
    }
}

static bool seen_before(struct loader *l, const yaml_node_t *map, const yaml_node_pair_t *p)
{
    const yaml_node_t *key = node_at(l, p->key);

    for (const yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
        const yaml_node_t *prev = node_at(l, q->key);
        if (prev->type == YAML_SCALAR_NODE && strcmp(scalar(prev), scalar(key)) == 0)
            return true;
    }
    return false;
}

static void load_section(struct loader *l, const char *section, const yaml_node_t *map)
{
    if (is_null(map))
        return;
    if (map->type != YAML_MAPPING_NODE) {
        report(l, map, "section '%s' must be a mapping of keys", section);
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *key = node_at(l, p->key);
        size_t i, n = sizeof(keys) / sizeof(keys[0]);

        if (key->type != YAML_SCALAR_NODE) {
            report(l, key, "keys in %s must be plain names", section);
            continue;
        }
        if (seen_before(l, map, p))
            report(l, key, "%s.%s is set twice", section, scalar(key));
        for (i = 0; i < n; i++)
            if (strcmp(keys[i].section, section) == 0 && strcmp(keys[i].key, scalar(key)) == 0)
                break;
        if (i == n) {
            report(l, key, "unknown key '%s' in section '%s'", scalar(key), section);
            continue;
        }
        set_key(l, node_at(l, p->value), &keys[i]);
    }
}

/* A YAML scalar as the JSON value it reads as: plain true/false, numbers, else a string. */
static json_t *scalar_json(const yaml_node_t *node)
{
    const char *v = scalar(node);
    char *end;
    bool b;

    if (node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
        long long i;
        double d;
        if (parse_bool(node, &b))
            return json_boolean(b);
        errno = 0;
        i = strtoll(v, &end, 10);
        if (*v && !*end && !errno)
            return json_integer(i);
        d = strtod(v, &end);
        if (*v && !*end && isfinite(d))
            return json_real(d);
    }
    return json_stringn(v, node->data.scalar.length);
}

static bool parse_double(const yaml_node_t *node, double *out)
{
    char *end;

    if (node->type != YAML_SCALAR_NODE)
        return false;
    *out = strtod(scalar(node), &end);
    return scalar(node)[0] && !*end && isfinite(*out);
}

static void load_enum_map(struct loader *l, const yaml_node_t *map, struct field_map *f)
{
    if (map->type != YAML_MAPPING_NODE) {
        report(l, map, "fields.%s.map must be a mapping of payload values to event values",
               f->name);
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(l, p->key), *v = node_at(l, p->value);
        struct field_enum *e;

        if (f->n_enums == MAPPING_ENUM_MAX) {
            report(l, k, "fields.%s.map has more than %d entries", f->name, MAPPING_ENUM_MAX);
            return;
        }
        e = &f->enums[f->n_enums];
        if (!copy_scalar(l, k, "a map key", e->from, sizeof(e->from)))
            continue;
        if (v->type != YAML_SCALAR_NODE) {
            report(l, v, "fields.%s.map values must be scalars", f->name);
            continue;
        }
        e->to = scalar_json(v);
        f->n_enums++;
    }
}

/* One entry of fields: "name: path" or "name: {from|const, scale, offset, map, optional}". */
static void load_field(struct loader *l, const yaml_node_t *key, const yaml_node_t *value,
                       struct field_map *f)
{
    bool has_scale = false, has_offset = false;

    memset(f, 0, sizeof(*f));
    f->scale = 1.0;
    if (!copy_scalar(l, key, "a field name", f->name, sizeof(f->name)))
        return;
    if (value->type == YAML_SCALAR_NODE) {
        copy_scalar(l, value, "a field's payload path", f->from, sizeof(f->from));
        return;
    }
    if (value->type != YAML_MAPPING_NODE) {
        report(l, value, "fields.%s must be a payload path or a mapping (from, const, ...)",
               f->name);
        return;
    }
    for (yaml_node_pair_t *p = value->data.mapping.pairs.start;
         p < value->data.mapping.pairs.top; p++) {
        const yaml_node_t *k = node_at(l, p->key), *v = node_at(l, p->value);
        const char *name = k->type == YAML_SCALAR_NODE ? scalar(k) : "";

        if (strcmp(name, "from") == 0) {
            copy_scalar(l, v, "from", f->from, sizeof(f->from));
        } else if (strcmp(name, "const") == 0) {
            if (v->type != YAML_SCALAR_NODE)
                report(l, v, "fields.%s.const must be a scalar", f->name);
            else
                f->constant = scalar_json(v);
        } else if (strcmp(name, "scale") == 0) {
            if (!parse_double(v, &f->scale))
                report(l, v, "fields.%s.scale must be a number", f->name);
            has_scale = true;
        } else if (strcmp(name, "offset") == 0) {
            if (!parse_double(v, &f->offset))
                report(l, v, "fields.%s.offset must be a number", f->name);
            has_offset = true;
        } else if (strcmp(name, "map") == 0) {
            load_enum_map(l, v, f);
        } else if (strcmp(name, "optional") == 0) {
            if (!parse_bool(v, &f->optional))
                report(l, v, "fields.%s.optional must be true or false", f->name);
        } else {
            report(l, k, "unknown key '%s' in fields.%s (from, const, scale, offset, map, "
                         "optional)", name, f->name);
        }
    }
    f->scaled = has_scale || has_offset;
    if (!f->constant == !f->from[0])
        report(l, value, "fields.%s needs exactly one of from and const", f->name);
    else if (f->constant && (f->scaled || f->n_enums || f->optional))
        report(l, value, "fields.%s: const takes no scale, offset, map or optional", f->name);
    else if (f->scaled && f->n_enums)
        report(l, value, "fields.%s: scale/offset and map do not go together", f->name);
}

static void load_fields(struct loader *l, const yaml_node_t *map, struct device_rule *r)
{
    if (map->type != YAML_MAPPING_NODE) {
        report(l, map, "fields must be a mapping of event fields (value: {from: ...})");
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(l, p->key);

        if (r->n_fields == MAPPING_FIELDS_MAX) {
            report(l, k, "more than %d fields", MAPPING_FIELDS_MAX);
            return;
        }
        if (seen_before(l, map, p)) {
            report(l, k, "field '%s' is mapped twice", scalar(k));
            continue;
        }
        load_field(l, k, node_at(l, p->value), &r->fields[r->n_fields]);
        if (strcmp(r->fields[r->n_fields].name, "time") == 0)
            report(l, k, "time is the uplink's time: it cannot be mapped");
        r->n_fields++;
    }
}

/* <category>.<type> with a known category and a type that can be a topic level. */
static bool event_type_ok(const char *s)
{
    const char *dot = strchr(s, '.');
    size_t n;

    if (!dot)
        return false;
    n = (size_t)(dot - s);
    if (!((n == 6 && strncmp(s, "sensor", 6) == 0) || (n == 7 && strncmp(s, "service", 7) == 0) ||
          (n == 7 && strncmp(s, "citizen", 7) == 0)))
        return false;
    for (const char *p = dot + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_'))
            return false;
    return dot[1] != '\0' && strlen(dot + 1) <= TOPIC_TYPE_MAX;
}

static bool slug_ok(const char *s)
{
    if (!*s || strlen(s) > TOPIC_MUNICIPALITY_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-' || *p == '_'))
            return false;
    return true;
}

static void load_rule(struct loader *l, const yaml_node_t *item, struct device_rule *r)
{
    int errors = l->errors;

    memset(r, 0, sizeof(*r));
    r->line = (int)item->start_mark.line + 1;
    strcpy(r->subject, "{device}");
    if (item->type != YAML_MAPPING_NODE) {
        report(l, item, "each device rule is a mapping (device, type, fields, ...)");
        return;
    }
    for (yaml_node_pair_t *p = item->data.mapping.pairs.start; p < item->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(l, p->key), *v = node_at(l, p->value);
        const char *name = k->type == YAML_SCALAR_NODE ? scalar(k) : "";

        if (seen_before(l, item, p))
            report(l, k, "'%s' is set twice in this rule", name);
        if (strcmp(name, "device") == 0)
            copy_scalar(l, v, "device", r->device, sizeof(r->device));
        else if (strcmp(name, "municipality") == 0)
            copy_scalar(l, v, "municipality", r->municipality, sizeof(r->municipality));
        else if (strcmp(name, "type") == 0)
            copy_scalar(l, v, "type", r->event_type, sizeof(r->event_type));
        else if (strcmp(name, "subject") == 0)
            copy_scalar(l, v, "subject", r->subject, sizeof(r->subject));
        else if (strcmp(name, "radio") == 0) {
            if (!parse_bool(v, &r->radio))
                report(l, v, "radio must be true or false");
        } else if (strcmp(name, "fields") == 0)
            load_fields(l, v, r);
        else
            report(l, k, "unknown key '%s' in a device rule (device, municipality, type, "
                         "subject, radio, fields)", name);
    }
    if (l->errors != errors)
        return;
    if (!r->device[0])
        report(l, item, "a device rule needs device: a device id, DevEUI or glob (\"*\")");
    if (!event_type_ok(r->event_type))
        report(l, item, "type must be <category>.<type>, e.g. sensor.waterlevel, not \"%s\"",
               r->event_type);
    if (!r->municipality[0])
        strcpy(r->municipality, l->sf->municipality);
    if (!slug_ok(r->municipality))
        report(l, item, "the rule needs a municipality (a lower-case slug, here or at the top)");
    if (r->n_fields == 0)
        report(l, item, "a device rule needs fields");
}

static void load_rules(struct loader *l, const yaml_node_t *list)
{
    int n = 0;

    if (list->type != YAML_SEQUENCE_NODE) {
        report(l, list, "devices must be a list of device rules (- device: ...)");
        return;
    }
    n = (int)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (n > MAPPING_RULES_MAX) {
        report(l, list, "more than %d device rules", MAPPING_RULES_MAX);
        return;
    }
    if (n == 0)
        return;
    if (!(l->sf->rules = calloc((size_t)n, sizeof(*l->sf->rules)))) {
        report(l, list, "out of memory");
        return;
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++)
        load_rule(l, node_at(l, *it), &l->sf->rules[l->sf->n_rules++]);
}

static bool subject_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > TOPIC_SUBJECT_MAX)
        return false;
    for (const char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '.' || *p == '_' || *p == '-'))
            return false;
    return true;
}

static void load_stations(struct loader *l, const yaml_node_t *list)
{
    if (list->type != YAML_SEQUENCE_NODE) {
        report(l, list, "stations must be a list (- station: ANDERNACH ...)");
        return;
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        const yaml_node_t *item = node_at(l, *it);
        struct station *s;

        if (l->sf->n_stations == SOURCE_STATIONS_MAX) {
            report(l, item, "more than %d stations", SOURCE_STATIONS_MAX);
            return;
        }
        s = &l->sf->stations[l->sf->n_stations];
        memset(s, 0, sizeof(*s));
        if (item->type != YAML_MAPPING_NODE) {
            report(l, item, "each station is a mapping (station, subject, municipality)");
            continue;
        }
        for (yaml_node_pair_t *p = item->data.mapping.pairs.start;
             p < item->data.mapping.pairs.top; p++) {
            const yaml_node_t *k = node_at(l, p->key), *v = node_at(l, p->value);
            const char *name = k->type == YAML_SCALAR_NODE ? scalar(k) : "";

            if (strcmp(name, "station") == 0)
                copy_scalar(l, v, "station", s->station, sizeof(s->station));
            else if (strcmp(name, "subject") == 0)
                copy_scalar(l, v, "subject", s->subject, sizeof(s->subject));
            else if (strcmp(name, "municipality") == 0)
                copy_scalar(l, v, "municipality", s->municipality, sizeof(s->municipality));
            else
                report(l, k, "unknown key '%s' in a station (station, subject, municipality)",
                       name);
        }
        if (!s->station[0] || strpbrk(s->station, "/?#% ")) {
            report(l, item, "a station needs station: its PEGELONLINE UUID or name");
            continue;
        }
        if (!s->municipality[0])
            strcpy(s->municipality, l->sf->municipality);
        if (!slug_ok(s->municipality)) {
            report(l, item, "the station needs a municipality (here or at the top)");
            continue;
        }
        if (!subject_ok(s->subject)) {
            report(l, item, "subject must match [A-Za-z0-9._-]{1,128}, e.g. pegel-andernach");
            continue;
        }
        l->sf->n_stations++;
    }
}

static void defaults(struct source_file *sf, enum source_kind kind)
{
    memset(sf, 0, sizeof(*sf));
    sf->kind = kind;
    sf->server.port = 8883;
    sf->server.tls = true;
    sf->server.keepalive_s = 60;
    sf->server.max_payload_bytes = 65536;
    strcpy(sf->api.base_url, "https://www.pegelonline.wsv.de/webservices/rest-api/v2");
    sf->api.interval_s = 300;
    sf->api.timeout_s = 20;
    strcpy(sf->api.backfill, "P1D");
    sf->api.backoff_max_s = 1800;
    strcpy(sf->http.bind, "127.0.0.1");
}

static void load_root(struct loader *l, const yaml_node_t *root)
{
    const yaml_node_t *devices = NULL, *stations = NULL;

    if (root->type != YAML_MAPPING_NODE) {
        report(l, root, "the file must be a mapping (server or api, municipality, devices or "
                        "stations)");
        return;
    }
    /* municipality first: rules and stations take it as their default. */
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(l, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(scalar(k), "municipality") == 0)
            copy_scalar(l, node_at(l, p->value), "municipality", l->sf->municipality,
                        sizeof(l->sf->municipality));
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = node_at(l, p->key), *v = node_at(l, p->value);
        const char *name = k->type == YAML_SCALAR_NODE ? scalar(k) : "";
        bool lorawan = l->sf->kind != SOURCE_PEGELONLINE;

        if (seen_before(l, root, p)) {
            report(l, k, "'%s' appears twice", name);
            continue;
        }
        if (strcmp(name, "municipality") == 0)
            continue;
        if (strcmp(name, "http") == 0)
            load_section(l, "http", v);
        else if (lorawan && strcmp(name, "server") == 0)
            load_section(l, "server", v);
        else if (lorawan && strcmp(name, "devices") == 0)
            devices = v;
        else if (!lorawan && strcmp(name, "api") == 0)
            load_section(l, "api", v);
        else if (!lorawan && strcmp(name, "stations") == 0)
            stations = v;
        else
            report(l, k, "unknown section '%s' (a %s file has %s)", name,
                   source_kind_name(l->sf->kind),
                   lorawan ? "server, http, municipality, devices"
                           : "api, http, municipality, stations");
    }
    if (devices)
        load_rules(l, devices);
    if (stations)
        load_stations(l, stations);
}

/* A relative path in the file is taken from the file's own folder. */
static void resolve_relative(char *p, size_t size, const char *file)
{
    const char *slash = strrchr(file, '/');
    char joined[2100];

    if (!p[0] || p[0] == '/' || !slash)
        return;
    snprintf(joined, sizeof(joined), "%.*s/%s", (int)(slash - file), file, p);
    snprintf(p, size, "%s", joined);
}

/* What every file of its kind needs, once the keys are read. */
static void check_complete(struct loader *l, const yaml_node_t *root)
{
    struct source_file *sf = l->sf;

    resolve_relative(sf->server.ca_file, sizeof(sf->server.ca_file), l->path);
    resolve_relative(sf->api.ca_file, sizeof(sf->api.ca_file), l->path);
    resolve_relative(sf->api.state_file, sizeof(sf->api.state_file), l->path);

    if (sf->kind == SOURCE_PEGELONLINE) {
        if (strncmp(sf->api.base_url, "http://", 7) != 0 &&
            strncmp(sf->api.base_url, "https://", 8) != 0)
            report(l, root, "api.base_url must start with http:// or https://");
        if (sf->api.backfill[0] && sf->api.backfill[0] != 'P')
            report(l, root, "api.backfill must be an ISO 8601 period such as P1D or PT12H");
        if (sf->n_stations == 0)
            report(l, root, "a pegelonline file needs stations");
        return;
    }
    if (!sf->server.host[0])
        report(l, root, "server.host is missing (the network server's MQTT host)");
    if (!sf->server.client_id[0])
        report(l, root, "server.client_id is missing: the persistent session's key at the "
                        "network server (keep it stable)");
    if (sf->server.n_topics == 0) {
        if (sf->kind == SOURCE_TTN && sf->server.username[0])
            snprintf(sf->server.topics[0], sizeof(sf->server.topics[0]), "v3/%s/devices/+/up",
                     sf->server.username);
        else if (sf->kind == SOURCE_CHIRPSTACK)
            strcpy(sf->server.topics[0], "application/+/device/+/event/up");
        else
            report(l, root, "server.topics is missing (or set server.username)");
        sf->server.n_topics = 1;
    }
    if (sf->n_rules == 0)
        report(l, root, "a %s file needs devices", source_kind_name(sf->kind));
}

void source_file_close(struct source_file *sf)
{
    if (!sf)
        return;
    for (int i = 0; i < sf->n_rules; i++)
        for (int f = 0; f < sf->rules[i].n_fields; f++) {
            json_decref(sf->rules[i].fields[f].constant);
            for (int e = 0; e < sf->rules[i].fields[f].n_enums; e++)
                json_decref(sf->rules[i].fields[f].enums[e].to);
        }
    free(sf->rules);
    sf->rules = NULL;
    sf->n_rules = 0;
}

int source_file_load(struct source_file *sf, enum source_kind kind, const char *path, FILE *err)
{
    struct loader l = {.path = path, .err = err, .sf = sf};
    yaml_parser_t parser;
    yaml_document_t doc;
    yaml_node_t *root;
    FILE *f;

    defaults(sf, kind);
    snprintf(sf->path, sizeof(sf->path), "%s", path);
    if (!(f = fopen(path, "rb"))) {
        int e = errno;
        fprintf(err, "%s: cannot open: %s\n", path, strerror(e));
        return -e;
    }
    if (!yaml_parser_initialize(&parser)) {
        fclose(f);
        fprintf(err, "%s: out of memory\n", path);
        return -ENOMEM;
    }
    yaml_parser_set_input_file(&parser, f);
    if (!yaml_parser_load(&parser, &doc)) {
        fprintf(err, "%s:%lu: %s%s%s\n", path, (unsigned long)parser.problem_mark.line + 1,
                parser.problem ? parser.problem : "YAML error", parser.context ? " " : "",
                parser.context ? parser.context : "");
        yaml_parser_delete(&parser);
        fclose(f);
        return -1;
    }
    l.doc = &doc;
    root = yaml_document_get_root_node(&doc);
    if (!root || is_null(root))
        report(&l, root, "the file is empty");
    else {
        load_root(&l, root);
        if (l.errors == 0)
            check_complete(&l, root);
    }
    yaml_document_delete(&doc);
    yaml_parser_delete(&parser);
    fclose(f);
    if (l.errors) {
        source_file_close(sf);
        return -l.errors;
    }
    return 0;
}
