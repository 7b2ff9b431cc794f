// SPDX-License-Identifier: MIT
/*
 * The ingest path. Cheap checks come first (topic, size, nesting), so that garbage
 * costs no allocation; jansson then parses with duplicate keys refused, and the
 * envelope is encoded once into a reused buffer and handed to the Redis writer,
 * which copies it.
 */
#include "ingest.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "catalog.h"
#include "cloudevent.h"
#include "envelope.h"
#include "json_arena.h"
#include "json_member.h"
#include "log.h"
#include "rfc3339.h"
#include "utf8.h"

int ingest_init(struct ingest *ing, const struct hub_config *cfg, struct metrics *m,
                struct redis_out *out)
{
    memset(ing, 0, sizeof(*ing));
    ing->cfg = cfg;
    ing->m = m;
    ing->out = out;
    if (!(ing->seen = idset_new((size_t)cfg->ingest.dedupe_window)))
        return -ENOMEM;
    if (json_arena_init(&ing->arena) < 0) {
        idset_free(ing->seen);
        ing->seen = NULL;
        return -ENOMEM;
    }
    json_arena_install(); /* before the first payload; what was made before is malloc's */
    msgpack_sbuffer_init(&ing->buf);
    if (cfg->mqtt.source[0])
        snprintf(ing->source_prefix, sizeof(ing->source_prefix), "mqtt://%s/", cfg->mqtt.source);
    else if (strchr(cfg->mqtt.host, ':'))
        snprintf(ing->source_prefix, sizeof(ing->source_prefix), "mqtt://[%s]:%d/",
                 cfg->mqtt.host, cfg->mqtt.port);
    else
        snprintf(ing->source_prefix, sizeof(ing->source_prefix), "mqtt://%s:%d/",
                 cfg->mqtt.host, cfg->mqtt.port);
    ing->source_prefix_len = strlen(ing->source_prefix);
    snprintf(ing->key_prefix, sizeof(ing->key_prefix), "%sevents:", cfg->redis.stream_prefix);
    ing->key_prefix_len = strlen(ing->key_prefix);
    return 0;
}

/* Whether source is mqtt://<authority>/<m>/<category>/<type>/<subject>; its authority. */
static bool hub_form(const char *source, size_t len, const char **authority, size_t *authority_len)
{
    const char *p = source + 7, *end = source + len, *slash;
    int levels = 1;

    if (len <= 7 || memcmp(source, "mqtt://", 7) != 0 || !(slash = memchr(p, '/', len - 7)))
        return false;
    for (const char *q = slash + 1; q < end; q++)
        levels += *q == '/';
    *authority = p;
    *authority_len = (size_t)(slash - p);
    return levels == 4 && slash > p;
}

void ingest_recent_event(struct ingest *ing, const char *source, size_t source_len, const char *id,
                         size_t id_len)
{
    const char *authority;
    size_t n;

    idset_add_event(ing->seen, source, source_len, id, id_len);
    if ((source_len >= ing->source_prefix_len &&
         memcmp(source, ing->source_prefix, ing->source_prefix_len) == 0) ||
        !hub_form(source, source_len, &authority, &n))
        return;
    if (ing->other_broker++ == 0) {
        n = n < sizeof(ing->other_authority) ? n : sizeof(ing->other_authority) - 1;
        memcpy(ing->other_authority, authority, n);
        ing->other_authority[n] = '\0';
    }
}

void ingest_recent_done(struct ingest *ing)
{
    if (ing->other_broker == 0 || ing->other_broker_told)
        return;
    ing->other_broker_told = true;
    log_warn("ingest", "%llu of the newest events in Redis name the broker '%s' in their source, "
             "this hub names it '%.*s': what the broker sends again after this restart is not "
             "known as written and may be written twice. If only the broker's address changed, "
             "set mqtt.source: \"%s\" in hub.yaml to keep the old name",
             ing->other_broker, ing->other_authority, (int)(ing->source_prefix_len - 8),
             ing->source_prefix + 7, ing->other_authority);
}

void ingest_close(struct ingest *ing)
{
    idset_free(ing->seen);
    ing->seen = NULL;
    msgpack_sbuffer_destroy(&ing->buf);
    json_arena_close(&ing->arena);
}

int ingest_json_depth(const char *text, size_t len, int limit)
{
    int depth = 0, max = 0;
    bool in_string = false;

    for (size_t i = 0; i < len; i++) {
        char c = text[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '{' || c == '[') {
            if (++depth > max && (max = depth) > limit)
                return limit + 1;
        } else if (c == '}' || c == ']') {
            depth--;
        }
    }
    return max;
}

/*
 * Counts a rejected message and sends it to the dead letters. A detail that snprintf cut
 * inside a character (a schema error quoting a key, jansson's text near a token) loses
 * that character's bytes, so that the dead letter's detail is UTF-8 for whoever reads it.
 */
static void reject(struct ingest *ing, const char *topic, enum reject_reason reason,
                   const char *why, const void *payload, size_t len)
{
    char detail[INGEST_DETAIL_MAX];

    snprintf(detail, sizeof(detail), "%.*s",
             (int)utf8_cut(why, strnlen(why, sizeof(detail) - 1)), why);
    ing->m->rejected[reason]++;
    log_debug("ingest", "rejected %s (%s): %s", topic, reject_reason_name(reason), detail);
    if (redis_out_add_deadletter(ing->out, topic, reason, detail, payload, len) < 0)
        log_error("ingest", "out of memory: dead letter for %s dropped", topic);
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER:
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "unknown";
}

/* prefix + tail into dst; the caller sizes dst for both (tail is a parsed topic). */
static void join(char *dst, const char *prefix, size_t prefix_len, const char *tail)
{
    memcpy(dst, prefix, prefix_len);
    strcpy(dst + prefix_len, tail);
}

#define SCHEMA_ERRORS_SHOWN 3

int ingest_catalog_check(void *data, const struct topic *topic, const json_t *payload,
                         char detail[INGEST_DETAIL_MAX])
{
    const struct catalog *cat = data;
    const struct schema *schema = catalog_find(cat, topic->event_type);
    struct schema_error errors[SCHEMA_ERRORS_SHOWN];
    size_t len = 0;
    int n;

    if (!schema) {
        snprintf(detail, INGEST_DETAIL_MAX, "no schema for event type %s", topic->event_type);
        return REJECT_UNKNOWN_TYPE;
    }
    /* The common case, valid, is decided without collecting errors. */
    if (schema_validate(schema, payload, NULL, 0) == 0)
        return 0;
    n = schema_validate(schema, payload, errors, SCHEMA_ERRORS_SHOWN);
    detail[0] = '\0';
    for (int i = 0; i < n && i < SCHEMA_ERRORS_SHOWN && len < INGEST_DETAIL_MAX - 1; i++) {
        int r = snprintf(detail + len, INGEST_DETAIL_MAX - len, "%s%s: %s: %s", i ? "; " : "",
                         errors[i].pointer[0] ? errors[i].pointer : "/", errors[i].keyword,
                         errors[i].message);
        if (r < 0)
            break;
        len += (size_t)r;
    }
    return REJECT_SCHEMA;
}

static uint64_t realtime_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void ingest_message(struct ingest *ing, const char *topic_text, const void *payload, size_t len)
{
    const struct hub_config *cfg = ing->cfg;
    char detail[INGEST_DETAIL_MAX];
    char computed_id[EVENT_ID_HEX + 1];
    char source[272 + 512], key[96 + TOPIC_EVENT_TYPE_MAX + 1];
    struct topic topic;
    struct envelope env;
    json_error_t jerr;
    const json_t *data;
    json_t *root;
    const char *why, *time, *id;
    int r;

    if (topic_parse(topic_text, &topic, &why) < 0) {
        reject(ing, topic_text, REJECT_BAD_TOPIC, why, payload, len);
        return;
    }
    if (len > (size_t)cfg->ingest.max_payload_bytes) {
        snprintf(detail, sizeof(detail), "payload is %zu bytes; the limit is %d", len,
                 cfg->ingest.max_payload_bytes);
        reject(ing, topic_text, REJECT_TOO_LARGE, detail, payload, len);
        return;
    }
    if (ingest_json_depth(payload, len, cfg->ingest.max_depth) > cfg->ingest.max_depth) {
        snprintf(detail, sizeof(detail), "JSON nesting deeper than %d levels",
                 cfg->ingest.max_depth);
        reject(ing, topic_text, REJECT_TOO_DEEP, detail, payload, len);
        return;
    }
    /* Every JSON value from here on is the payload's, released at out. */
    json_arena_begin(&ing->arena);
    root = json_loadb(payload, len, JSON_REJECT_DUPLICATES | JSON_DECODE_ANY, &jerr);
    if (!root) {
        enum reject_reason reason = json_error_code(&jerr) == json_error_invalid_utf8
                                        ? REJECT_BAD_UTF8
                                        : REJECT_BAD_JSON;
        snprintf(detail, sizeof(detail), "line %d, column %d: %s", jerr.line, jerr.column,
                 jerr.text);
        reject(ing, topic_text, reason, detail, payload, len);
        goto out;
    }
    if (!json_is_object(root)) {
        snprintf(detail, sizeof(detail), "payload is %s; an event is a JSON object",
                 json_kind(root));
        reject(ing, topic_text, REJECT_NOT_OBJECT, detail, payload, len);
        goto out;
    }

    data = root;
    id = NULL;
    join(source, ing->source_prefix, ing->source_prefix_len, topic_text);
    env.source = source;
    if (json_object_get(root, "specversion")) {
        /* CloudEvents 1.0, structured JSON: the event is in data. */
        struct cloudevent ce;

        if ((r = cloudevent_read(root, &topic, &ce, detail, sizeof(detail))) != 0) {
            reject(ing, topic_text, (enum reject_reason)r, detail, payload, len);
            goto out;
        }
        id = ce.id;
        env.source = ce.source;
        time = ce.time;
        data = ce.data;
    } else {
        time = json_string_member(root, "time", EVENT_TIME_MAX - 1);
    }
    if (!time) {
        reject(ing, topic_text, REJECT_BAD_TIME,
               "time must be a string: an RFC 3339 date-time of at most 63 bytes", payload,
               len);
        goto out;
    }
    if (!rfc3339_date_time_valid(time, strlen(time))) {
        snprintf(detail, sizeof(detail),
                 "time \"%s\" is not an RFC 3339 date-time (e.g. 2026-11-26T06:00:00Z)", time);
        reject(ing, topic_text, REJECT_BAD_TIME, detail, payload, len);
        goto out;
    }
    if (ing->check && (r = ing->check(ing->check_data, &topic, data, detail)) != 0) {
        reject(ing, topic_text, (enum reject_reason)r, detail, payload, len);
        goto out;
    }
    if (!id) {
        event_id_compute(computed_id, &topic, time, payload, len);
        id = computed_id;
    }
    /* CloudEvents make source and id unique together: two publishers may both send 1. */
    if (!idset_add_event(ing->seen, env.source, strlen(env.source), id, strlen(id))) {
        ing->m->duplicates++;
        goto out;
    }

    env.id = id;
    env.type = topic.event_type;
    env.subject = topic.subject;
    env.time = time;
    env.municipality = topic.municipality;
    env.category = event_category_name(topic.category);
    env.receivedtime_ns = realtime_ns();
    env.data = data;
    msgpack_sbuffer_clear(&ing->buf);
    join(key, ing->key_prefix, ing->key_prefix_len, topic.event_type);
    if (envelope_encode(&env, &ing->buf) < 0 ||
        redis_out_add_event(ing->out, key, id, ing->buf.data, ing->buf.size, topic_text) < 0)
        log_error("ingest", "out of memory: event %s from %s not queued", id, topic_text);
out:
    json_arena_release(root);
    json_arena_end();
}
