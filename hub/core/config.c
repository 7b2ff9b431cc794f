// SPDX-License-Identifier: MIT
/*
 * hub.yaml loading with libyaml's document API, which keeps every node's line. The
 * accepted keys are one table: section, key, kind, where the value goes, and its
 * range. Unknown keys, duplicates, wrong kinds and out-of-range values are errors;
 * loading goes on after an error so that one run reports them all.
 */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <yaml.h>

#include "duration.h"
#include "envelope.h"
#include "topic.h"
#include "yaml_loader.h"

#ifndef RHEINHUB_SCHEMAS_DIR
#define RHEINHUB_SCHEMAS_DIR "schemas"
#endif

/* KIND_ADDRS: a list of "ip:port" (or "[ipv6]:port"), as the Sentinels are given;
 * KIND_FILTERS: a list of MQTT topic filters; KIND_DURATION: "30d", "1h30m" (duration.h)
 * or 0, as int64_t ns. */
enum key_kind {
    KIND_INT, KIND_STR, KIND_IP, KIND_LEVEL, KIND_LIST, KIND_ADDRS, KIND_FILTERS, KIND_DURATION
};

struct key_spec {
    const char *section;
    const char *key;
    enum key_kind kind;
    size_t offset;       /* into the section's base struct */
    size_t size;         /* strings: the buffer size; lists: one entry's */
    long min, max;       /* ints: the range; lists: the entry count */
    size_t count_offset; /* lists: where the entry count goes */
};

#define INT_KEY(sec, name, lo, hi)                                                                 \
    {#sec, #name, KIND_INT, offsetof(struct hub_config, sec.name), sizeof(int), lo, hi, 0}
#define STR_KEY(sec, name, kind)                                                                   \
    {#sec, #name, kind, offsetof(struct hub_config, sec.name),                                     \
     sizeof(((struct hub_config *)0)->sec.name), 0, 0, 0}

static const struct key_spec keys[] = {
    STR_KEY(hub, instance, KIND_STR),
    STR_KEY(mqtt, host, KIND_IP),
    INT_KEY(mqtt, port, 1, 65535),
    STR_KEY(mqtt, client_id, KIND_STR),
    STR_KEY(mqtt, username, KIND_STR),
    STR_KEY(mqtt, password, KIND_STR),
    INT_KEY(mqtt, keepalive_s, 5, 3600),
    INT_KEY(mqtt, session_expiry_s, 0, INT_MAX),
    STR_KEY(mqtt, shared_group, KIND_STR),
    {"mqtt", "subscriptions", KIND_FILTERS, offsetof(struct hub_config, mqtt.subscriptions),
     CONFIG_NAME_MAX, 1, CONFIG_SUBSCRIPTIONS_MAX,
     offsetof(struct hub_config, mqtt.n_subscriptions)},
    STR_KEY(mqtt, source, KIND_STR),
    STR_KEY(redis, host, KIND_IP),
    INT_KEY(redis, port, 1, 65535),
    STR_KEY(redis, password, KIND_STR),
    INT_KEY(redis, max_in_flight, 1, 4096),
    INT_KEY(redis, entry_events_max, 1, ENTRY_EVENTS_MAX),
    INT_KEY(redis, entry_linger_ms, 0, 100),
    INT_KEY(redis, stream_maxlen, 0, 1000000000),
    INT_KEY(redis, trim_interval_ms, 100, 3600000),
    INT_KEY(redis, ping_interval_ms, 50, 60000),
    INT_KEY(redis, liveness_timeout_ms, 100, 600000),
    STR_KEY(redis, stream_prefix, KIND_STR),
    {"redis", "sentinels", KIND_ADDRS, offsetof(struct hub_config, redis.sentinels),
     sizeof(((struct hub_config *)0)->redis.sentinels[0]), 0, CONFIG_LIST_MAX,
     offsetof(struct hub_config, redis.n_sentinels)},
    STR_KEY(redis, master_name, KIND_STR),
    INT_KEY(redis, min_replicas_ack, 0, 16),
    INT_KEY(redis, wait_timeout_ms, 10, 60000),
    INT_KEY(ingest, queue_max, 1, 10000000),
    INT_KEY(ingest, max_payload_bytes, 64, 16777216),
    INT_KEY(ingest, max_depth, 1, ENVELOPE_DATA_DEPTH_MAX),
    INT_KEY(ingest, deadletter_maxlen, 100, 100000000),
    INT_KEY(ingest, dedupe_window, 16, 100000000),
    INT_KEY(ingest, dedupe_preload, 0, 1000000),
    INT_KEY(shutdown, drain_timeout_s, 0, 3600),
    STR_KEY(shutdown, spool_file, KIND_STR),
    STR_KEY(journal, dir, KIND_STR),
    INT_KEY(journal, max_mb, 1, 1048576),
    INT_KEY(journal, segment_mb, 1, 1024),
    INT_KEY(journal, fsync, 0, 1),
    STR_KEY(schemas, dir, KIND_STR),
    STR_KEY(http, bind, KIND_IP),
    INT_KEY(http, port, 0, 65535),
    {"log", "level", KIND_LEVEL, offsetof(struct hub_config, log.level), 0, 0, 0, 0},
    INT_KEY(worker, batch_max, 1, 10000),
    INT_KEY(worker, block_ms, 10, 60000),
    INT_KEY(worker, retry_ms, 100, 86400000),
    INT_KEY(worker, max_deliveries, 1, 1000),
    INT_KEY(worker, heartbeat_ms, 100, 60000),
    STR_KEY(alerting, rules_file, KIND_STR),
    STR_KEY(alerting, client_id, KIND_STR),
    STR_KEY(alerting, username, KIND_STR),
    STR_KEY(alerting, password, KIND_STR),
    INT_KEY(alerting, check_interval_ms, 50, 60000),
    {"alerting", "forget_after", KIND_DURATION,
     offsetof(struct hub_config, alerting.forget_after_ns), sizeof(int64_t), 0, 0, 0},
    STR_KEY(analytics, windows_file, KIND_STR),
    STR_KEY(analytics, client_id, KIND_STR),
    STR_KEY(analytics, username, KIND_STR),
    STR_KEY(analytics, password, KIND_STR),
    INT_KEY(analytics, lateness_s, 0, 86400),
    INT_KEY(analytics, check_interval_ms, 50, 60000),
    STR_KEY(analytics, timezone, KIND_STR),
    {"analytics", "forget_after", KIND_DURATION,
     offsetof(struct hub_config, analytics.forget_after_ns), sizeof(int64_t), 0, 0, 0},
    STR_KEY(sources, ttn, KIND_STR),
    STR_KEY(sources, chirpstack, KIND_STR),
    STR_KEY(sources, pegelonline, KIND_STR),
    STR_KEY(sources, client_id, KIND_STR),
    STR_KEY(sources, username, KIND_STR),
    STR_KEY(sources, password, KIND_STR),
    INT_KEY(sources, queue_max, 1, 65535), /* the sources' outbox holds OUTBOX_MAX (65535) */
    STR_KEY(storage, backend, KIND_STR),
    STR_KEY(storage, sqlite_path, KIND_STR),
    INT_KEY(storage, busy_timeout_ms, 0, 600000),
    STR_KEY(storage, postgres_conninfo, KIND_STR),
    INT_KEY(storage, retention_days, 0, 36500),
    INT_KEY(storage, batch_max, 1, 10000),
    INT_KEY(storage, commit_interval_ms, 0, 10000),
    STR_KEY(console, bind, KIND_IP),
    INT_KEY(console, port, 0, 65535),
    STR_KEY(console, files, KIND_STR),
    STR_KEY(console, tls_cert, KIND_STR),
    STR_KEY(console, tls_key, KIND_STR),
    STR_KEY(console, accounts_file, KIND_STR),
    STR_KEY(console, client_id, KIND_STR),
    STR_KEY(console, username, KIND_STR),
    STR_KEY(console, password, KIND_STR),
    INT_KEY(console, idle_timeout_s, 1, 86400),
    INT_KEY(console, max_sessions, 1, 1024),
    INT_KEY(console, max_clients, 4, 100000),
    INT_KEY(console, max_clients_per_address, 0, 100000),
};

#define WORKER_STR(name)                                                                           \
    {"workers", #name, KIND_STR, offsetof(struct worker_config, name),                             \
     sizeof(((struct worker_config *)0)->name), 0, 0, 0}
#define WORKER_LIST(name, lo)                                                                      \
    {"workers", #name, KIND_LIST, offsetof(struct worker_config, name),                            \
     sizeof(((struct worker_config *)0)->name[0]), lo, CONFIG_LIST_MAX,                            \
     offsetof(struct worker_config, n_##name)}

/* The keys of one entry of the workers list. */
static const struct key_spec worker_keys[] = {
    WORKER_STR(name),
    WORKER_STR(command),
    WORKER_LIST(args, 0),
    {"workers", "instances", KIND_INT, offsetof(struct worker_config, instances), sizeof(int), 0,
     16, 0},
    WORKER_LIST(types, 0), /* []: a process the hub runs and routes nothing to (a source, the console) */
    WORKER_LIST(municipalities, 1),
    WORKER_LIST(subjects, 1),
};

void config_defaults(struct hub_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    strcpy(cfg->hub.instance, "rheinhub-1");
    strcpy(cfg->mqtt.host, "127.0.0.1");
    cfg->mqtt.port = 1883;
    strcpy(cfg->mqtt.client_id, "rheinhub-hub");
    cfg->mqtt.keepalive_s = 30;
    cfg->mqtt.session_expiry_s = 86400;
    strcpy(cfg->mqtt.subscriptions[0], "+/sensor/#");
    strcpy(cfg->mqtt.subscriptions[1], "+/service/#");
    strcpy(cfg->mqtt.subscriptions[2], "+/citizen/#");
    cfg->mqtt.n_subscriptions = 3;
    strcpy(cfg->redis.host, "127.0.0.1");
    cfg->redis.port = 6379;
    cfg->redis.max_in_flight = 1024;
    cfg->redis.entry_events_max = ENTRY_EVENTS_MAX;
    cfg->redis.entry_linger_ms = 1;
    cfg->redis.ping_interval_ms = 1000;
    strcpy(cfg->redis.master_name, "rheinhub");
    cfg->redis.wait_timeout_ms = 1000;
    cfg->redis.liveness_timeout_ms = 5000;
    strcpy(cfg->redis.stream_prefix, "rheinhub:");
    cfg->ingest.queue_max = 10000;
    cfg->ingest.max_payload_bytes = 65536;
    cfg->ingest.max_depth = 16;
    cfg->ingest.deadletter_maxlen = 100000;
    cfg->ingest.dedupe_window = 100000;
    cfg->ingest.dedupe_preload = 10000;
    cfg->shutdown.drain_timeout_s = 30;
    cfg->journal.max_mb = 256;
    cfg->journal.segment_mb = 8;
    snprintf(cfg->schemas.dir, sizeof(cfg->schemas.dir), "%s", RHEINHUB_SCHEMAS_DIR);
    strcpy(cfg->http.bind, "127.0.0.1");
    cfg->http.port = 8080;
    cfg->log.level = LOG_LEVEL_INFO;
    cfg->redis.stream_maxlen = 1000000;
    cfg->redis.trim_interval_ms = 5000;
    cfg->worker.batch_max = 256;
    cfg->worker.block_ms = 1000;
    cfg->worker.retry_ms = 5000;
    cfg->worker.max_deliveries = 5;
    cfg->worker.heartbeat_ms = 2000;
    strcpy(cfg->alerting.client_id, "rheinhub-alerting");
    cfg->alerting.check_interval_ms = 500;
    cfg->alerting.forget_after_ns = 30 * 86400 * 1000000000LL;
    strcpy(cfg->analytics.client_id, "rheinhub-analytics");
    cfg->analytics.lateness_s = 60;
    cfg->analytics.check_interval_ms = 1000;
    strcpy(cfg->analytics.timezone, "UTC");
    cfg->analytics.forget_after_ns = 30 * 86400 * 1000000000LL;
    strcpy(cfg->storage.backend, "sqlite");
    strcpy(cfg->storage.sqlite_path, "rheinhub.db");
    cfg->storage.busy_timeout_ms = 1000;
    cfg->storage.batch_max = 4096;
    cfg->storage.commit_interval_ms = 50;
    strcpy(cfg->sources.client_id, "rheinhub-source");
    cfg->sources.queue_max = 1000;
    strcpy(cfg->console.bind, "127.0.0.1");
    cfg->console.port = 8081;
    snprintf(cfg->console.files, sizeof(cfg->console.files), "%s", RHEINHUB_CONSOLE_FILES);
    strcpy(cfg->console.accounts_file, "/etc/rheinhub/broker/accounts");
    strcpy(cfg->console.client_id, "rheinhub-console");
    cfg->console.idle_timeout_s = 1800;
    cfg->console.max_sessions = 64;
    cfg->console.max_clients = 1024;
    cfg->console.max_clients_per_address = 128;
}

static void worker_defaults(struct worker_config *w)
{
    memset(w, 0, sizeof(*w));
    w->instances = 1;
    strcpy(w->types[0], "*");
    strcpy(w->municipalities[0], "*");
    strcpy(w->subjects[0], "*");
    w->n_types = w->n_municipalities = w->n_subjects = 1;
}

struct loader {
    struct yaml_loader y;
    struct hub_config *cfg;
};

/* Whether s is "ip:port" or "[ipv6]:port" with an IP literal and a port 1..65535. */
static bool addr_ok(const char *s)
{
    const char *colon = strrchr(s, ':');
    unsigned char addr[16];
    char host[64], *end;
    size_t len;
    long port;

    if (!colon || colon[1] < '0' || colon[1] > '9')
        return false;
    errno = 0;
    port = strtol(colon + 1, &end, 10);
    if (errno || *end || port < 1 || port > 65535)
        return false;
    len = (size_t)(colon - s);
    if (len >= 2 && s[0] == '[' && s[len - 1] == ']')
        s++, len -= 2;
    if (len == 0 || len >= sizeof(host))
        return false;
    memcpy(host, s, len);
    host[len] = '\0';
    return inet_pton(AF_INET, host, addr) == 1 || inet_pton(AF_INET6, host, addr) == 1;
}

static bool copy_string(struct loader *l, const yaml_node_t *node, const struct key_spec *spec,
                        char *dst)
{
    if (node->type != YAML_SCALAR_NODE) {
        yaml_loader_report(&l->y, node, "%s.%s must be a string", spec->section, spec->key);
        return false;
    }
    if (node->data.scalar.length >= spec->size) {
        yaml_loader_report(&l->y, node, "%s.%s is longer than %zu characters", spec->section,
                           spec->key, spec->size - 1);
        return false;
    }
    memcpy(dst, yaml_loader_text(node), node->data.scalar.length + 1);
    return true;
}

static void set_value(struct loader *l, const yaml_node_t *node, const struct key_spec *spec,
                      char *base)
{
    char *field = base + spec->offset;

    switch (spec->kind) {
    case KIND_INT: {
        char *end;
        long v;
        if (node->type != YAML_SCALAR_NODE) {
            yaml_loader_report(&l->y, node, "%s.%s must be an integer", spec->section, spec->key);
            return;
        }
        errno = 0;
        v = strtol(yaml_loader_text(node), &end, 10);
        if (errno || end == yaml_loader_text(node) || *end != '\0') {
            yaml_loader_report(&l->y, node, "%s.%s must be an integer, not \"%s\"", spec->section,
                               spec->key, yaml_loader_text(node));
            return;
        }
        if (v < spec->min || v > spec->max) {
            yaml_loader_report(&l->y, node, "%s.%s must be between %ld and %ld, not %ld",
                               spec->section, spec->key, spec->min, spec->max, v);
            return;
        }
        *(int *)field = (int)v;
        return;
    }
    case KIND_STR:
        copy_string(l, node, spec, field);
        return;
    case KIND_DURATION: {
        int64_t ns = 0;
        if (node->type != YAML_SCALAR_NODE) {
            yaml_loader_report(&l->y, node, "%s.%s must be a duration", spec->section, spec->key);
            return;
        }
        if (strcmp(yaml_loader_text(node), "0") != 0 &&
            duration_parse(yaml_loader_text(node), &ns) < 0) {
            yaml_loader_report(&l->y, node,
                               "%s.%s must be a duration such as 90s, 12h or 30d (at most 365d), "
                               "or 0, not \"%s\"",
                               spec->section, spec->key, yaml_loader_text(node));
            return;
        }
        memcpy(field, &ns, sizeof(ns));
        return;
    }
    case KIND_IP: {
        unsigned char addr[16];
        if (node->type != YAML_SCALAR_NODE ||
            (inet_pton(AF_INET, yaml_loader_text(node), addr) != 1 &&
             inet_pton(AF_INET6, yaml_loader_text(node), addr) != 1)) {
            yaml_loader_report(&l->y, node, "%s.%s must be an IPv4 or IPv6 address (no host names)",
                               spec->section, spec->key);
            return;
        }
        copy_string(l, node, spec, field);
        return;
    }
    case KIND_LEVEL:
        if (node->type != YAML_SCALAR_NODE ||
            log_level_parse(yaml_loader_text(node), (enum log_level *)(void *)field) < 0)
            yaml_loader_report(&l->y, node, "%s.%s must be one of error, warn, info, debug",
                               spec->section, spec->key);
        return;
    case KIND_LIST:
    case KIND_ADDRS:
    case KIND_FILTERS: {
        int n = 0, errors = l->y.errors;
        if (node->type != YAML_SEQUENCE_NODE) {
            yaml_loader_report(&l->y, node, "%s.%s must be a list of strings", spec->section,
                               spec->key);
            return;
        }
        for (yaml_node_item_t *it = node->data.sequence.items.start;
             it < node->data.sequence.items.top; it++) {
            const yaml_node_t *item = yaml_loader_node(&l->y, *it);
            if (n == spec->max) {
                yaml_loader_report(&l->y, item, "%s.%s has more than %ld entries", spec->section,
                                   spec->key, spec->max);
                return;
            }
            if (!copy_string(l, item, spec, field + (size_t)n * spec->size))
                return;
            if (item->data.scalar.length == 0) {
                yaml_loader_report(&l->y, item, "%s.%s entries must not be empty", spec->section,
                                   spec->key);
                return;
            }
            if (spec->kind == KIND_ADDRS && !addr_ok(field + (size_t)n * spec->size))
                yaml_loader_report(&l->y, item, "%s.%s: \"%s\" is not ip:port (no host names)",
                                   spec->section, spec->key, yaml_loader_text(item));
            if (spec->kind == KIND_FILTERS && !topic_filter_ok(field + (size_t)n * spec->size))
                yaml_loader_report(&l->y, item,
                                   "%s.%s: \"%s\" is not an MQTT topic filter ('+' and '#' "
                                   "stand alone in a level, '#' last)",
                                   spec->section, spec->key, yaml_loader_text(item));
            n++;
        }
        if (l->y.errors != errors)
            return;
        if (n < spec->min) {
            yaml_loader_report(&l->y, node, "%s.%s needs at least %ld entry", spec->section,
                               spec->key, spec->min);
            return;
        }
        *(int *)(void *)(base + spec->count_offset) = n;
        return;
    }
    }
}

/* Loads each key/value pair of a section, reporting unknown and duplicate keys. */
static void load_section(struct loader *l, const char *section, const yaml_node_t *map,
                         const struct key_spec *table, size_t n_table, char *base)
{
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *key = yaml_loader_node(&l->y, p->key);
        const yaml_node_t *value = yaml_loader_node(&l->y, p->value);
        size_t i;

        if (key->type != YAML_SCALAR_NODE) {
            yaml_loader_report(&l->y, key, "keys in %s must be plain names", section);
            continue;
        }
        if (yaml_loader_seen_before(&l->y, map, p))
            yaml_loader_report(&l->y, key, "%s.%s is set twice", section, yaml_loader_text(key));
        for (i = 0; i < n_table; i++) {
            if (strcmp(table[i].section, section) == 0 &&
                strcmp(table[i].key, yaml_loader_text(key)) == 0)
                break;
        }
        if (i == n_table) {
            yaml_loader_report(&l->y, key, "unknown key '%s' in section '%s'",
                               yaml_loader_text(key), section);
            continue;
        }
        set_value(l, value, &table[i], base);
    }
}

/* [a-z][a-z0-9_-]*: a worker kind names a consumer group and a Redis key. */
static bool kind_name_ok(const char *s)
{
    if (!(s[0] >= 'a' && s[0] <= 'z'))
        return false;
    for (const char *p = s + 1; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return false;
    return true;
}

/* workers: a list of mappings, one per worker kind. */
static void load_workers(struct loader *l, const yaml_node_t *list)
{
    if (yaml_loader_is_null(list))
        return;
    if (list->type != YAML_SEQUENCE_NODE) {
        yaml_loader_report(&l->y, list, "workers must be a list of worker kinds (- name: ...)");
        return;
    }
    for (yaml_node_item_t *it = list->data.sequence.items.start; it < list->data.sequence.items.top;
         it++) {
        const yaml_node_t *item = yaml_loader_node(&l->y, *it);
        struct worker_config *w;
        int errors = l->y.errors;

        if (l->cfg->n_workers == CONFIG_WORKERS_MAX) {
            yaml_loader_report(&l->y, item, "more than %d worker kinds", CONFIG_WORKERS_MAX);
            return;
        }
        if (item->type != YAML_MAPPING_NODE) {
            yaml_loader_report(&l->y, item,
                               "each worker kind is a mapping (name, command, types, ...)");
            continue;
        }
        w = &l->cfg->workers[l->cfg->n_workers];
        worker_defaults(w);
        load_section(l, "workers", item, worker_keys, sizeof(worker_keys) / sizeof(worker_keys[0]),
                     (char *)w);
        if (l->y.errors != errors)
            continue;
        if (!kind_name_ok(w->name)) {
            yaml_loader_report(&l->y, item, "a worker kind needs a name matching [a-z][a-z0-9_-]*");
            continue;
        }
        for (int i = 0; i < l->cfg->n_workers; i++) {
            if (strcmp(l->cfg->workers[i].name, w->name) == 0) {
                yaml_loader_report(&l->y, item, "worker kind '%s' is listed twice", w->name);
                break;
            }
        }
        if (l->y.errors == errors)
            l->cfg->n_workers++;
    }
}

static bool section_known(const char *name)
{
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(keys[i].section, name) == 0)
            return true;
    return false;
}

static void load_root(struct loader *l, const yaml_node_t *root)
{
    if (yaml_loader_is_null(root))
        return; /* an empty document keeps the defaults */
    if (root->type != YAML_MAPPING_NODE) {
        yaml_loader_report(&l->y, root,
                           "the configuration must be a mapping of sections (hub, mqtt, redis, "
                           "...)");
        return;
    }
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        const yaml_node_t *key = yaml_loader_node(&l->y, p->key);
        const yaml_node_t *value = yaml_loader_node(&l->y, p->value);

        if (key->type == YAML_SCALAR_NODE && strcmp(yaml_loader_text(key), "workers") == 0) {
            if (yaml_loader_seen_before(&l->y, root, p))
                yaml_loader_report(&l->y, key, "section 'workers' appears twice");
            else
                load_workers(l, value);
            continue;
        }
        if (key->type != YAML_SCALAR_NODE || !section_known(yaml_loader_text(key))) {
            yaml_loader_report(&l->y, key, "unknown section '%s'",
                               key->type == YAML_SCALAR_NODE ? yaml_loader_text(key) : "?");
            continue;
        }
        if (yaml_loader_seen_before(&l->y, root, p)) {
            yaml_loader_report(&l->y, key, "section '%s' appears twice", yaml_loader_text(key));
            continue;
        }
        if (yaml_loader_is_null(value))
            continue; /* "section:" with nothing under it keeps the defaults */
        if (value->type != YAML_MAPPING_NODE) {
            yaml_loader_report(&l->y, value, "section '%s' must be a mapping of keys",
                               yaml_loader_text(key));
            continue;
        }
        load_section(l, yaml_loader_text(key), value, keys, sizeof(keys) / sizeof(keys[0]),
                     (char *)l->cfg);
    }
}

/* The key node of section.key in the root mapping, or NULL when the file does not set it. */
static const yaml_node_t *key_node(const struct loader *l, const yaml_node_t *root,
                                   const char *section, const char *key)
{
    const yaml_node_t *map = NULL;

    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++)
        if (strcmp(yaml_loader_text(yaml_loader_node(&l->y, p->key)), section) == 0)
            map = yaml_loader_node(&l->y, p->value);
    if (!map || map->type != YAML_MAPPING_NODE)
        return NULL;
    for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++)
        if (strcmp(yaml_loader_text(yaml_loader_node(&l->y, p->key)), key) == 0)
            return yaml_loader_node(&l->y, p->key);
    return NULL;
}

/* Why analytics.timezone names no zone of the system's tzdata, or NULL when it does. */
static const char *zone_problem(const char *name)
{
    char path[CONFIG_NAME_MAX + 32];
    struct stat st;

    if (strcmp(name, "UTC") == 0)
        return NULL;
    if (!name[0] || name[0] == '/' || strstr(name, ".."))
        return "an IANA zone name such as Europe/Berlin, not empty, not starting with '/', "
               "without '..'";
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", name);
    if (stat(path, &st) < 0)
        return "no such zone in /usr/share/zoneinfo";
    if (!S_ISREG(st.st_mode))
        return "not a zone file in /usr/share/zoneinfo";
    return NULL;
}

/* What keys demand of each other, once every key is read (root: a mapping). */
static void check_together(struct loader *l, const yaml_node_t *root)
{
    const struct hub_config *c = l->cfg;
    const char *problem;

    /* The prefix goes into SCAN MATCH patterns (recent event ids, worker status). */
    if (strpbrk(c->redis.stream_prefix, "*?[]\\"))
        yaml_loader_report(&l->y, key_node(l, root, "redis", "stream_prefix"),
                           "redis.stream_prefix must not hold '*', '?', '[', ']' or '\\': SCAN "
                           "MATCH would take them as a pattern");
    if (strpbrk(c->mqtt.shared_group, "/+#"))
        yaml_loader_report(&l->y, key_node(l, root, "mqtt", "shared_group"),
                           "mqtt.shared_group must not hold '/', '+' or '#'");
    if ((problem = zone_problem(c->analytics.timezone)))
        yaml_loader_report(&l->y, key_node(l, root, "analytics", "timezone"),
                           "analytics.timezone '%s': %s", c->analytics.timezone, problem);
    if (!c->mqtt.client_id[0])
        yaml_loader_report(&l->y, key_node(l, root, "mqtt", "client_id"),
                           "mqtt.client_id must not be empty: it is the key of the hub's session "
                           "at the broker");
    /* The liveness check counts a WAIT as a reply that is late: the link would drop
     * whenever the replicas are missing, instead of the input pausing. */
    if (c->redis.min_replicas_ack > 0 &&
        c->redis.wait_timeout_ms >= c->redis.liveness_timeout_ms) {
        const yaml_node_t *at = key_node(l, root, "redis", "wait_timeout_ms");
        if (!at)
            at = key_node(l, root, "redis", "liveness_timeout_ms");
        if (!at)
            at = key_node(l, root, "redis", "min_replicas_ack");
        yaml_loader_report(&l->y, at,
                           "redis.wait_timeout_ms (%d) must be below redis.liveness_timeout_ms "
                           "(%d): a WAIT that long is taken for a dead link",
                           c->redis.wait_timeout_ms, c->redis.liveness_timeout_ms);
    }
}

/* yaml_loader_resolve_path for section.key, reporting a path that would not fit. */
static void resolve(struct loader *l, const yaml_node_t *root, const char *section,
                    const char *key, char *dir, size_t size)
{
    if (yaml_loader_resolve_path(&l->y, dir, size) < 0)
        yaml_loader_report(&l->y,
                           root->type == YAML_MAPPING_NODE ? key_node(l, root, section, key) : NULL,
                           "%s.%s: the path taken from this file's folder is longer than %zu "
                           "bytes",
                           section, key, size - 1);
}

int config_load(struct hub_config *cfg, const char *path, FILE *err)
{
    struct loader l = {.y = {.path = path, .err = err}, .cfg = cfg};
    yaml_document_t doc;
    yaml_node_t *root;
    int r;

    config_defaults(cfg);
    if ((r = yaml_loader_read_file(&l.y, NULL, &doc)) < 0)
        return r;
    root = yaml_document_get_root_node(&doc);
    cfg->set_nothing = !root || yaml_loader_is_null(root) ||
                       (root->type == YAML_MAPPING_NODE &&
                        root->data.mapping.pairs.start == root->data.mapping.pairs.top);
    if (root) {
        load_root(&l, root);
        if (l.y.errors == 0 && root->type == YAML_MAPPING_NODE)
            check_together(&l, root);
    }
#define RESOLVE(sec, key) resolve(&l, root, #sec, #key, cfg->sec.key, sizeof(cfg->sec.key))
    if (root && l.y.errors == 0) {
        RESOLVE(schemas, dir);
        RESOLVE(alerting, rules_file);
        RESOLVE(analytics, windows_file);
        RESOLVE(journal, dir);
        RESOLVE(sources, ttn);
        RESOLVE(sources, chirpstack);
        RESOLVE(sources, pegelonline);
        RESOLVE(console, files);
        RESOLVE(console, tls_cert);
        RESOLVE(console, tls_key);
        RESOLVE(console, accounts_file);
        for (int i = 0; i < cfg->n_workers; i++)
            if (strchr(cfg->workers[i].command, '/'))
                resolve(&l, root, "workers", "command", cfg->workers[i].command,
                        sizeof(cfg->workers[i].command));
    }
#undef RESOLVE
    yaml_document_delete(&doc);
    return l.y.errors ? -l.y.errors : 0;
}
