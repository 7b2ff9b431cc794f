// SPDX-License-Identifier: MIT
/*
 * Alerts as JSON and as envelopes (alert.h). The JSON is built in the schema's field
 * order with jansson and written with 15 significant digits for reals, so that a fill
 * level of 0.9 reads 0.9, not 0.90000000000000002.
 */
#include "alert.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "times.h"

#define JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(15))

static const char *const state_names[] = {
#define X(name, text) text,
    ALERT_STATE_MAP(X)
#undef X
};

const char *alert_state_name(enum alert_state s)
{
    return (unsigned)s < ALERT_STATE_COUNT ? state_names[s] : "?";
}

void alert_make_id(struct alert *a)
{
    long long ms = (long long)(a->raised_ns / NS_PER_MS);
    int n = snprintf(a->id, sizeof(a->id), "%s:%s:%s:%lld", a->municipality, a->rule, a->subject,
                     ms);

    if (n < 0 || (size_t)n >= sizeof(a->id)) {
        uint64_t h = XXH3_64bits(a->subject, strlen(a->subject));
        snprintf(a->id, sizeof(a->id), "%s:%s:%016" PRIx64 ":%lld", a->municipality, a->rule, h,
                 ms);
    }
}

bool alert_id_valid(const char *s, size_t n)
{
    if (n == 0 || n >= ALERT_ID_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
            !memchr("._:-", c, 4))
            return false;
    }
    return true;
}

void alert_topic(const struct alert *a, char out[ALERT_TOPIC_MAX])
{
    snprintf(out, ALERT_TOPIC_MAX, "%s/alerts/%s/%s", a->municipality, a->rule, a->subject);
}

/* Sets key to a new value, taking its reference; false when either is missing. */
static bool set_new(json_t *obj, const char *key, json_t *value)
{
    return value && json_object_set_new(obj, key, value) == 0;
}

static json_t *time_or_null(int64_t ns)
{
    char text[TIMES_TEXT_MAX];

    if (!ns)
        return json_null();
    times_format_ms(ns, text);
    return json_string(text);
}

json_t *alert_to_json(const struct alert *a)
{
    json_t *o = json_object();
    bool ok;

    if (!o)
        return NULL;
    ok = set_new(o, "id", json_string(a->id)) && set_new(o, "rule", json_string(a->rule)) &&
         set_new(o, "severity", json_string(severity_name(a->severity))) &&
         set_new(o, "state", json_string(alert_state_name(a->state))) &&
         set_new(o, "municipality", json_string(a->municipality)) &&
         set_new(o, "type", json_string(a->type)) &&
         set_new(o, "subject", json_string(a->subject)) &&
         set_new(o, "value", value_to_json(&a->value)) &&
         set_new(o, "threshold", value_to_json(&a->threshold)) &&
         set_new(o, "message", json_string(a->message)) &&
         set_new(o, "event_id", json_string(a->event_id)) &&
         set_new(o, "event_time", json_string(a->event_time)) &&
         set_new(o, "raised_at", time_or_null(a->raised_ns)) &&
         set_new(o, "updated_at", time_or_null(a->updated_ns)) &&
         set_new(o, "acked_by", a->acked_by[0] ? json_string(a->acked_by) : json_null()) &&
         set_new(o, "cleared_at", time_or_null(a->cleared_ns));
    if (!ok) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *alert_dumps(const struct alert *a, size_t *len)
{
    json_t *o = alert_to_json(a);
    char *text;

    if (!o)
        return NULL;
    text = json_dumps(o, JSON_FLAGS);
    json_decref(o);
    if (text && len)
        *len = strlen(text);
    return text;
}

static int get_str(const json_t *j, const char *key, char *dst, size_t size, bool nullable,
                   char *why, size_t why_size)
{
    const json_t *v = json_object_get(j, key);

    if (nullable && json_is_null(v)) {
        dst[0] = '\0';
        return 0;
    }
    if (!json_is_string(v) || json_string_length(v) >= size) {
        snprintf(why, why_size, "%s is not a string of at most %zu bytes", key, size - 1);
        return -EINVAL;
    }
    memcpy(dst, json_string_value(v), json_string_length(v) + 1);
    return 0;
}

static int get_time(const json_t *j, const char *key, int64_t *ns, bool nullable, char *why,
                    size_t why_size)
{
    const json_t *v = json_object_get(j, key);

    if (nullable && json_is_null(v)) {
        *ns = 0;
        return 0;
    }
    if (!json_is_string(v) || times_parse(json_string_value(v), json_string_length(v), ns) < 0) {
        snprintf(why, why_size, "%s is not an RFC 3339 time", key);
        return -EINVAL;
    }
    return 0;
}

int alert_from_json(const json_t *j, struct alert *a, char *why, size_t why_size)
{
    char sev[16], state[16];
    int r = 0;

    memset(a, 0, sizeof(*a));
    if (!json_is_object(j)) {
        snprintf(why, why_size, "not an object");
        return -EINVAL;
    }
    if ((r = get_str(j, "id", a->id, sizeof(a->id), false, why, why_size)) < 0 ||
        (r = get_str(j, "rule", a->rule, sizeof(a->rule), false, why, why_size)) < 0 ||
        (r = get_str(j, "severity", sev, sizeof(sev), false, why, why_size)) < 0 ||
        (r = get_str(j, "state", state, sizeof(state), false, why, why_size)) < 0 ||
        (r = get_str(j, "municipality", a->municipality, sizeof(a->municipality), false, why,
                     why_size)) < 0 ||
        (r = get_str(j, "type", a->type, sizeof(a->type), false, why, why_size)) < 0 ||
        (r = get_str(j, "subject", a->subject, sizeof(a->subject), false, why, why_size)) < 0 ||
        (r = get_str(j, "message", a->message, sizeof(a->message), false, why, why_size)) < 0 ||
        (r = get_str(j, "event_id", a->event_id, sizeof(a->event_id), false, why, why_size)) < 0 ||
        (r = get_str(j, "event_time", a->event_time, sizeof(a->event_time), false, why,
                     why_size)) < 0 ||
        (r = get_str(j, "acked_by", a->acked_by, sizeof(a->acked_by), true, why, why_size)) < 0 ||
        (r = get_time(j, "raised_at", &a->raised_ns, false, why, why_size)) < 0 ||
        (r = get_time(j, "updated_at", &a->updated_ns, false, why, why_size)) < 0 ||
        (r = get_time(j, "cleared_at", &a->cleared_ns, true, why, why_size)) < 0)
        return r;
    if (severity_parse(sev, &a->severity) < 0) {
        snprintf(why, why_size, "unknown severity %s", sev);
        return -EINVAL;
    }
    for (r = 0; r < ALERT_STATE_COUNT && strcmp(state, state_names[r]) != 0; r++)
        ;
    if (r == ALERT_STATE_COUNT) {
        snprintf(why, why_size, "unknown state %s", state);
        return -EINVAL;
    }
    a->state = (enum alert_state)r;
    if (value_from_json(json_object_get(j, "value"), &a->value) < 0 ||
        value_from_json(json_object_get(j, "threshold"), &a->threshold) < 0) {
        snprintf(why, why_size, "value or threshold is not a scalar");
        return -EINVAL;
    }
    return 0;
}

void alert_change_id(const char *alert_id, uint64_t seq, char out[ALERT_CHANGE_ID_HEX + 1])
{
    XXH3_state_t state;
    XXH128_hash_t h;
    char seq_text[24];

    snprintf(seq_text, sizeof(seq_text), "%" PRIu64, seq);
    XXH3_INITSTATE(&state);
    XXH3_128bits_reset(&state);
    XXH3_128bits_update(&state, ALERT_EVENT_TYPE, sizeof(ALERT_EVENT_TYPE)); /* with its NUL */
    XXH3_128bits_update(&state, alert_id, strlen(alert_id) + 1);
    XXH3_128bits_update(&state, seq_text, strlen(seq_text));
    h = XXH3_128bits_digest(&state);
    snprintf(out, ALERT_CHANGE_ID_HEX + 1, "%016" PRIx64 "%016" PRIx64, h.high64, h.low64);
}

int alert_envelope(const struct alert *a, uint64_t seq, int64_t now_ns, msgpack_sbuffer *buf,
                   char change_id[ALERT_CHANGE_ID_HEX + 1])
{
    char subject[RULE_NAME_MAX + TOPIC_SUBJECT_MAX + 2], updated[TIMES_TEXT_MAX];
    json_t *data = alert_to_json(a);
    struct envelope env;
    int r;

    if (!data)
        return -ENOMEM;
    alert_change_id(a->id, seq, change_id);
    snprintf(subject, sizeof(subject), "%s/%s", a->rule, a->subject);
    times_format_ms(a->updated_ns, updated);
    env = (struct envelope){
        .id = change_id,
        .source = ALERT_SOURCE,
        .type = ALERT_EVENT_TYPE,
        .subject = subject,
        .time = updated,
        .municipality = a->municipality,
        .category = ALERT_CATEGORY,
        .receivedtime_ns = (uint64_t)now_ns,
        .data = data,
    };
    r = envelope_encode(&env, buf);
    json_decref(data);
    return r;
}
