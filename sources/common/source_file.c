// SPDX-License-Identifier: MIT
/*
 * Loading of a source's file with libyaml's document API, which keeps every node's
 * line. The scalar keys of each section are one table (section, key, kind, offset,
 * range); the device rules (device_rule.c) and stations (station.c) are lists of
 * mappings read by their own files. Loading goes on after an error, so that one run
 * reports them all.
 */
#include "source_file.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "source_loader.h"
#include "topic.h"

static const char *const kind_names[] = {
#define X(name, text) text,
    SOURCE_KIND_MAP(X)
#undef X
};

const char *source_kind_name(enum source_kind kind)
{
    return kind_names[kind];
}

/* KEY_FILTERS: a list of MQTT topic filters (server.topics). */
enum key_kind { KEY_INT, KEY_STR, KEY_IP, KEY_PERIOD, KEY_BOOL, KEY_FILTERS };

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
    {"server", "topics", KEY_FILTERS, offsetof(struct source_file, server.topics), 256, 1,
     SOURCE_TOPICS_MAX, offsetof(struct source_file, server.n_topics)},
    SF_INT(server, keepalive_s, 5, 3600),
    SF_INT(server, max_payload_bytes, 256, 1048576),
    SF_STR(api, base_url),
    SF_INT(api, interval_s, 1, 86400),
    SF_INT(api, timeout_s, 1, 600),
    {"api", "backfill", KEY_PERIOD, offsetof(struct source_file, api.backfill),
     sizeof(((struct source_file *)0)->api.backfill), 0, 0, 0},
    SF_INT(api, backoff_max_s, 1, 86400),
    SF_STR(api, ca_file),
    SF_STR(api, state_file),
    {"http", "bind", KEY_IP, offsetof(struct source_file, http.bind),
     sizeof(((struct source_file *)0)->http.bind), 0, 0, 0},
    SF_INT(http, port, 0, 65535),
};

/*
 * Whether s is an ISO 8601 period of whole numbers: P, then [nY][nM][nW][nD] and
 * [T[nH][nM][nS]], in that order, at least one number, and one after a T. It goes
 * into the request's URL as it is.
 */
static bool period_ok(const char *s)
{
    static const char date_units[] = "YMWD", time_units[] = "HMS";
    const char *next = date_units;
    bool any = false, any_time = false, in_time = false;

    if (*s++ != 'P')
        return false;
    while (*s) {
        const char *u;
        if (*s == 'T' && !in_time) {
            in_time = true;
            next = time_units;
            s++;
            continue;
        }
        if (*s < '0' || *s > '9')
            return false;
        while (*s >= '0' && *s <= '9')
            s++;
        if (!*s || !(u = strchr(next, *s)))
            return false; /* a number without its unit, or units out of order */
        next = u + 1;
        any = true;
        any_time |= in_time;
        s++;
    }
    return any && (!in_time || any_time);
}

static void set_key(struct source_loader *l, const yaml_node_t *value, const struct key_spec *k)
{
    char *field = (char *)l->sf + k->offset;
    char what[96];

    snprintf(what, sizeof(what), "%s.%s", k->section, k->key);
    switch (k->kind) {
    case KEY_INT: {
        char *end;
        long v;
        if (value->type != YAML_SCALAR_NODE) {
            yaml_loader_report(&l->y, value, "%s must be an integer", what);
            return;
        }
        errno = 0;
        v = strtol(yaml_loader_text(value), &end, 10);
        if (errno || end == yaml_loader_text(value) || *end) {
            yaml_loader_report(&l->y, value, "%s must be an integer, not \"%s\"", what,
                               yaml_loader_text(value));
            return;
        }
        if (v < k->min || v > k->max) {
            yaml_loader_report(&l->y, value, "%s must be between %ld and %ld, not %ld", what,
                               k->min, k->max, v);
            return;
        }
        *(int *)(void *)field = (int)v;
        return;
    }
    case KEY_STR:
        source_loader_string(l, value, what, field, k->size);
        return;
    case KEY_PERIOD:
        if (value->type != YAML_SCALAR_NODE || !period_ok(yaml_loader_text(value))) {
            yaml_loader_report(&l->y, value,
                               "%s must be an ISO 8601 period such as P1D or PT12H", what);
            return;
        }
        source_loader_string(l, value, what, field, k->size);
        return;
    case KEY_IP: {
        unsigned char addr[16];
        const char *text = yaml_loader_text(value);
        if (value->type != YAML_SCALAR_NODE || (inet_pton(AF_INET, text, addr) != 1 &&
                                                inet_pton(AF_INET6, text, addr) != 1)) {
            yaml_loader_report(&l->y, value, "%s must be an IPv4 or IPv6 address (no host names)",
                               what);
            return;
        }
        source_loader_string(l, value, what, field, k->size);
        return;
    }
    case KEY_BOOL:
        if (!source_loader_bool(value, (bool *)field))
            yaml_loader_report(&l->y, value, "%s must be true or false", what);
        return;
    case KEY_FILTERS: {
        int n = 0;
        if (value->type != YAML_SEQUENCE_NODE) {
            yaml_loader_report(&l->y, value, "%s must be a list of strings", what);
            return;
        }
        for (yaml_node_item_t *it = value->data.sequence.items.start;
             it < value->data.sequence.items.top; it++) {
            if (n == k->max) {
                yaml_loader_report(&l->y, yaml_loader_node(&l->y, *it),
                                   "%s has more than %ld entries", what, k->max);
                return;
            }
            if (!source_loader_string(l, yaml_loader_node(&l->y, *it), what,
                                      field + (size_t)n * k->size, k->size))
                return;
            /* Subscribed as they are: libmosquitto refuses a bad one. */
            if (!topic_filter_ok(field + (size_t)n * k->size)) {
                yaml_loader_report(&l->y, yaml_loader_node(&l->y, *it),
                                   "%s: \"%s\" is not an MQTT topic filter ('+' and '#' stand "
                                   "alone in a level, '#' last)",
                                   what, field + (size_t)n * k->size);
                return;
            }
            n++;
        }
        if (n < k->min) {
            yaml_loader_report(&l->y, value, "%s needs at least %ld entry", what, k->min);
            return;
        }
        *(int *)(void *)((char *)l->sf + k->count_offset) = n;
        return;
    }
    }
}

static void load_section(struct source_loader *l, const char *section, const yaml_node_t *map)
{
    if (yaml_loader_is_null(map))
        return;
    if (map->type != YAML_MAPPING_NODE) {
        yaml_loader_report(&l->y, map, "section '%s' must be a mapping of keys", section);
        return;
    }
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *key = yaml_loader_node(&l->y, p->key);
        size_t i, n = sizeof(keys) / sizeof(keys[0]);

        if (key->type != YAML_SCALAR_NODE) {
            yaml_loader_report(&l->y, key, "keys in %s must be plain names", section);
            continue;
        }
        if (yaml_loader_seen_before(&l->y, map, p))
            yaml_loader_report(&l->y, key, "%s.%s is set twice", section, yaml_loader_text(key));
        for (i = 0; i < n; i++)
            if (strcmp(keys[i].section, section) == 0 &&
                strcmp(keys[i].key, yaml_loader_text(key)) == 0)
                break;
        if (i == n) {
            yaml_loader_report(&l->y, key, "unknown key '%s' in section '%s'",
                               yaml_loader_text(key), section);
            continue;
        }
        set_key(l, yaml_loader_node(&l->y, p->value), &keys[i]);
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

static void load_root(struct source_loader *l, const yaml_node_t *root)
{
    const yaml_node_t *devices = NULL, *stations = NULL;

    if (root->type != YAML_MAPPING_NODE) {
        yaml_loader_report(&l->y, root,
                           "the file must be a mapping (server or api, municipality, devices or "
                           "stations)");
        return;
    }
    /* municipality first: rules and stations take it as their default. */
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(&l->y, p->key);
        if (k->type == YAML_SCALAR_NODE && strcmp(yaml_loader_text(k), "municipality") == 0)
            source_loader_string(l, yaml_loader_node(&l->y, p->value), "municipality",
                                 l->sf->municipality, sizeof(l->sf->municipality));
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *k = yaml_loader_node(&l->y, p->key),
                          *v = yaml_loader_node(&l->y, p->value);
        const char *name = k->type == YAML_SCALAR_NODE ? yaml_loader_text(k) : "";
        bool lorawan = l->sf->kind != SOURCE_PEGELONLINE;

        if (yaml_loader_seen_before(&l->y, root, p)) {
            yaml_loader_report(&l->y, k, "'%s' appears twice", name);
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
            yaml_loader_report(&l->y, k, "unknown section '%s' (a %s file has %s)", name,
                               source_kind_name(l->sf->kind),
                               lorawan ? "server, http, municipality, devices"
                                       : "api, http, municipality, stations");
    }
    if (devices)
        device_rule_load_list(l, devices);
    if (stations)
        station_load_list(l, stations);
}

/* yaml_loader_resolve_path for section.key, reported at the key when it does not fit. */
static void resolve(struct source_loader *l, const yaml_node_t *root, const char *section,
                    const char *key, char *p, size_t size)
{
    const yaml_node_t *at = root;

    if (yaml_loader_resolve_path(&l->y, p, size) == 0)
        return;
    for (yaml_node_pair_t *s = root->data.mapping.pairs.start; s < root->data.mapping.pairs.top;
         s++) {
        const yaml_node_t *map = yaml_loader_node(&l->y, s->value);
        if (strcmp(yaml_loader_text(yaml_loader_node(&l->y, s->key)), section) != 0 ||
            map->type != YAML_MAPPING_NODE)
            continue;
        for (yaml_node_pair_t *k = map->data.mapping.pairs.start; k < map->data.mapping.pairs.top;
             k++)
            if (strcmp(yaml_loader_text(yaml_loader_node(&l->y, k->key)), key) == 0)
                at = yaml_loader_node(&l->y, k->key);
    }
    yaml_loader_report(&l->y, at,
                       "%s.%s: the path taken from this file's folder is longer than %zu bytes",
                       section, key, size - 1);
}

/* What every file of its kind needs, once the keys are read. */
static void check_complete(struct source_loader *l, const yaml_node_t *root)
{
    struct source_file *sf = l->sf;

    resolve(l, root, "server", "ca_file", sf->server.ca_file, sizeof(sf->server.ca_file));
    resolve(l, root, "api", "ca_file", sf->api.ca_file, sizeof(sf->api.ca_file));
    resolve(l, root, "api", "state_file", sf->api.state_file, sizeof(sf->api.state_file));

    if (sf->kind == SOURCE_PEGELONLINE) {
        if (strncmp(sf->api.base_url, "http://", 7) != 0 &&
            strncmp(sf->api.base_url, "https://", 8) != 0)
            yaml_loader_report(&l->y, root, "api.base_url must start with http:// or https://");
        if (sf->n_stations == 0)
            yaml_loader_report(&l->y, root, "a pegelonline file needs stations");
        return;
    }
    if (!sf->server.host[0])
        yaml_loader_report(&l->y, root, "server.host is missing (the network server's MQTT host)");
    if (!sf->server.client_id[0])
        yaml_loader_report(&l->y, root,
                           "server.client_id is missing: the persistent session's key at the "
                           "network server (keep it stable)");
    if (sf->server.n_topics == 0) {
        if (sf->kind == SOURCE_TTN && sf->server.username[0])
            snprintf(sf->server.topics[0], sizeof(sf->server.topics[0]), "v3/%s/devices/+/up",
                     sf->server.username);
        else if (sf->kind == SOURCE_CHIRPSTACK)
            strcpy(sf->server.topics[0], "application/+/device/+/event/up");
        else
            yaml_loader_report(&l->y, root, "server.topics is missing (or set server.username)");
        sf->server.n_topics = 1;
    }
    if (sf->n_rules == 0)
        yaml_loader_report(&l->y, root, "a %s file needs devices", source_kind_name(sf->kind));
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
    struct source_loader l = {.y = {.path = path, .err = err}, .sf = sf};
    yaml_document_t doc;
    yaml_node_t *root;
    int r;

    defaults(sf, kind);
    snprintf(sf->path, sizeof(sf->path), "%s", path);
    if ((r = yaml_loader_read_file(&l.y, NULL, &doc)) < 0)
        return r;
    root = yaml_document_get_root_node(&doc);
    if (!root || yaml_loader_is_null(root))
        yaml_loader_report(&l.y, root, "the file is empty");
    else {
        load_root(&l, root);
        if (l.y.errors == 0)
            check_complete(&l, root);
    }
    yaml_document_delete(&doc);
    if (l.y.errors) {
        source_file_close(sf);
        return -l.y.errors;
    }
    return 0;
}
