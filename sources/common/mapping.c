// SPDX-License-Identifier: MIT
/*
 * Applies a device rule (mapping.h) to one decoded payload. Everything about the
 * payload is untrusted: each field is checked for presence and JSON type, and each
 * failure names the field and what was found.
 */
#include "mapping.h"

#include <errno.h>
#include <fnmatch.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "topic.h"
#include "utf8.h"

const struct device_rule *mapping_find(const struct source_file *sf, const char *device,
                                       const char *dev_eui)
{
    for (int i = 0; i < sf->n_rules; i++) {
        const char *glob = sf->rules[i].device;
        if (device && fnmatch(glob, device, 0) == 0)
            return &sf->rules[i];
        if (dev_eui && fnmatch(glob, dev_eui, FNM_CASEFOLD) == 0)
            return &sf->rules[i];
    }
    return NULL;
}

static bool subject_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

int mapping_subject(const struct device_rule *r, const char *device, const char *dev_eui,
                    char *out, size_t size)
{
    size_t n = 0;

    for (const char *p = r->subject; *p;) {
        const char *insert = NULL;
        if (strncmp(p, "{device}", 8) == 0) {
            insert = device ? device : "";
            p += 8;
        } else if (strncmp(p, "{dev_eui}", 9) == 0) {
            insert = dev_eui ? dev_eui : "";
            p += 9;
        }
        if (insert) {
            for (; *insert; insert++) {
                if (n + 1 >= size)
                    return -EINVAL;
                out[n++] = *insert;
            }
            continue;
        }
        if (n + 1 >= size)
            return -EINVAL;
        out[n++] = *p++;
    }
    out[n] = '\0';
    if (n == 0 || n > TOPIC_SUBJECT_MAX)
        return -EINVAL;
    for (size_t i = 0; i < n; i++)
        if (!subject_char(out[i]))
            return -EINVAL;
    return 0;
}

json_t *mapping_lookup(const json_t *v, const char *path)
{
    char part[128];
    const char *p = path;

    while (v && *p) {
        size_t n = strcspn(p, ".");
        if (n == 0 || n >= sizeof(part))
            return NULL;
        memcpy(part, p, n);
        part[n] = '\0';
        p += n + (p[n] == '.');
        if (json_is_object(v)) {
            v = json_object_get(v, part);
        } else if (json_is_array(v)) {
            char *end;
            unsigned long i = strtoul(part, &end, 10);
            v = *end ? NULL : json_array_get(v, i);
        } else {
            return NULL;
        }
    }
    return (json_t *)v;
}

static const char *json_kind(const json_t *v)
{
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "an object";
    case JSON_ARRAY: return "an array";
    case JSON_STRING: return "a string";
    case JSON_INTEGER: return "an integer";
    case JSON_REAL: return "a number";
    case JSON_TRUE:
    case JSON_FALSE: return "a boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

/* A scalar as the text a value map is keyed by; false for objects and arrays. */
static bool key_text(const json_t *v, char *out, size_t size)
{
    switch (json_typeof(v)) {
    case JSON_STRING:
        snprintf(out, size, "%s", json_string_value(v));
        return true;
    case JSON_INTEGER:
        snprintf(out, size, "%lld", (long long)json_integer_value(v));
        return true;
    case JSON_REAL:
        /* The shortest text that reads back as the same double, as it was written in the
         * payload and the map ("0.1", not "0.10000000000000001"); 17 digits always do. */
        for (int digits = 1; digits <= 17; digits++) {
            snprintf(out, size, "%.*g", digits, json_real_value(v));
            if (strtod(out, NULL) == json_real_value(v))
                break;
        }
        return true;
    case JSON_TRUE:
        snprintf(out, size, "true");
        return true;
    case JSON_FALSE:
        snprintf(out, size, "false");
        return true;
    default:
        return false;
    }
}

/* A number that is whole stays an integer (702, not 702.0). */
static json_t *number(double x)
{
    if (x == floor(x) && fabs(x) < 9007199254740992.0)
        return json_integer((json_int_t)x);
    return json_real(x);
}

/* v as it is, or when jansson could not make it (NULL), reason SCHEMA with errno
 * ENOMEM, as mapping_apply reports memory running out. */
static json_t *made(json_t *v, enum source_reason *reason, char *detail)
{
    if (!v) {
        *reason = SOURCE_REASON_SCHEMA;
        snprintf(detail, MAPPING_DETAIL_MAX, "out of memory");
        errno = ENOMEM;
    }
    return v;
}

/* One field's value (new reference), or NULL with *reason and detail set: absent and
 * optional is NULL with *reason = SOURCE_REASON_COUNT. */
static json_t *field_value(const struct field_map *f, const json_t *decoded,
                           enum source_reason *reason, char *detail)
{
    const json_t *v;
    char text[sizeof(f->enums[0].from) + 1]; /* a value longer than any key matches none */
    double x;

    if (f->constant)
        return json_incref(f->constant);
    v = mapping_lookup(decoded, f->from);
    if (!v || json_is_null(v)) {
        if (f->optional) {
            *reason = SOURCE_REASON_COUNT;
            return NULL;
        }
        *reason = SOURCE_REASON_MISSING_FIELD;
        snprintf(detail, MAPPING_DETAIL_MAX, "%s: the payload has no %s", f->name, f->from);
        return NULL;
    }
    if (f->scaled) {
        if (!json_is_number(v)) {
            *reason = SOURCE_REASON_BAD_FIELD_TYPE;
            snprintf(detail, MAPPING_DETAIL_MAX, "%s: %s is %s, not a number", f->name, f->from,
                     json_kind(v));
            return NULL;
        }
        /* JSON has no infinity: a result beyond a double's range has no value. */
        x = json_number_value(v) * f->scale + f->offset;
        if (!isfinite(x)) {
            *reason = SOURCE_REASON_SCHEMA;
            snprintf(detail, MAPPING_DETAIL_MAX, "%s: %s is %g, which scale %g and offset %g "
                     "take beyond the range of a number", f->name, f->from,
                     json_number_value(v), f->scale, f->offset);
            return NULL;
        }
        return made(number(x), reason, detail);
    }
    if (f->n_enums) {
        if (!key_text(v, text, sizeof(text))) {
            *reason = SOURCE_REASON_BAD_FIELD_TYPE;
            snprintf(detail, MAPPING_DETAIL_MAX, "%s: %s is %s, not a value of its map",
                     f->name, f->from, json_kind(v));
            return NULL;
        }
        for (int i = 0; i < f->n_enums; i++)
            if (strcmp(f->enums[i].from, text) == 0)
                return json_incref(f->enums[i].to);
        *reason = SOURCE_REASON_UNMAPPED_VALUE;
        snprintf(detail, MAPPING_DETAIL_MAX, "%s: %s is \"%.*s\", which its map does not list",
                 f->name, f->from, (int)utf8_cut(text, strnlen(text, 60)), text);
        return NULL;
    }
    if (json_is_object(v) || json_is_array(v)) {
        *reason = SOURCE_REASON_BAD_FIELD_TYPE;
        snprintf(detail, MAPPING_DETAIL_MAX, "%s: %s is %s, not a single value", f->name,
                 f->from, json_kind(v));
        return NULL;
    }
    return made(json_deep_copy(v), reason, detail);
}

json_t *mapping_apply(const struct device_rule *r, const json_t *decoded, const char *time,
                      const struct radio *radio, enum source_reason *reason, char *detail)
{
    json_t *data = json_object();

    if (!data || json_object_set_new(data, "time", json_string(time)) < 0)
        goto nomem;
    for (int i = 0; i < r->n_fields; i++) {
        const struct field_map *f = &r->fields[i];
        json_t *v = field_value(f, decoded, reason, detail);
        if (!v) {
            if (*reason == SOURCE_REASON_COUNT)
                continue;
            json_decref(data);
            return NULL;
        }
        if (json_object_set_new(data, f->name, v) < 0)
            goto nomem;
    }
    if (r->radio && radio && radio->have) {
        if (!json_object_get(data, "rssi") && json_object_set_new(data, "rssi",
                                                                  number(radio->rssi)) < 0)
            goto nomem;
        if (radio->have_snr && !json_object_get(data, "snr") &&
            json_object_set_new(data, "snr", number(radio->snr)) < 0)
            goto nomem;
    }
    return data;
nomem:
    json_decref(data);
    *reason = SOURCE_REASON_SCHEMA;
    snprintf(detail, MAPPING_DETAIL_MAX, "out of memory");
    errno = ENOMEM;
    return NULL;
}
