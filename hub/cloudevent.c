// SPDX-License-Identifier: MIT
/*
 * CloudEvents 1.0 structured JSON: the required attributes (specversion, id, source,
 * type) and data, and every attribute that could contradict the topic or the data.
 * The topic decides where an event goes and which schema checks it; an event whose
 * attributes say otherwise is refused rather than guessed at:
 *
 *   type            must name the topic's type: its last dot-separated segment is the
 *                   topic's type ("waterlevel"), and the segment before it, when it is
 *                   a category, the topic's category. "sensor.waterlevel",
 *                   "de.kaiserslautern.waterlevel" and "waterlevel" fit
 *                   linz/sensor/waterlevel/x; "citizen.report" and
 *                   "service.waterlevel" do not (type_mismatch).
 *   subject         when present, the topic's subject exactly (subject_mismatch).
 *   time            when data also has a time, the same instant (time_mismatch);
 *                   the attribute's text is the one kept.
 *   dataschema      when it names one of the catalog's schemas, the topic type's
 *                   (type_mismatch); another URI is the publisher's own name for
 *                   its schema and contradicts nothing: data is checked against the
 *                   topic type's schema in any case.
 *   datacontenttype when present, JSON (application/json or a "+json" type), since
 *                   data is a JSON object (bad_cloudevent).
 *   specversion, id, source have no counterpart in the topic; extension attributes
 *                   are ignored.
 */
#include "cloudevent.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "catalog.h"
#include "envelope.h"
#include "json_member.h"
#include "reject.h"
#include "rfc3339.h"

/* Longest attribute value quoted in a detail. */
#define QUOTED_MAX 96

static bool is_category(const char *s, size_t n)
{
    for (int c = 0; c < EVENT_CATEGORY_COUNT; c++) {
        const char *name = event_category_name((enum event_category)c);

        if (strlen(name) == n && memcmp(name, s, n) == 0)
            return true;
    }
    return false;
}

/* Whether the CloudEvents type names the topic's event type (see the top). */
static bool type_fits(const char *type, const struct topic *topic)
{
    const char *last = strrchr(type, '.'), *prev;
    const char *category = event_category_name(topic->category);
    size_t n;

    last = last ? last + 1 : type;
    if (strcmp(last, topic->type) != 0)
        return false;
    if (last == type)
        return true;
    /* The segment before the type: [prev, last - 1). */
    for (prev = last - 1; prev > type && prev[-1] != '.'; prev--)
        ;
    n = (size_t)(last - 1 - prev);
    return !is_category(prev, n) || (strlen(category) == n && memcmp(prev, category, n) == 0);
}

/* Whether the media type (parameters after ';' ignored) is JSON. */
static bool media_type_is_json(const char *s)
{
    size_t n = strcspn(s, ";");

    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        n--;
    return (n == 16 && strncasecmp(s, "application/json", 16) == 0) ||
           (n > 5 && strncasecmp(s + n - 5, "+json", 5) == 0);
}

/*
 * Whether the dataschema URI names a catalog schema other than the topic type's:
 * CATALOG_ID_PREFIX "<category>/<type>.schema.json", with or without "#".
 */
static bool dataschema_contradicts(const char *uri, const struct topic *topic)
{
    char own[sizeof(CATALOG_ID_PREFIX) + TOPIC_EVENT_TYPE_MAX + 16];
    size_t prefix = strlen(CATALOG_ID_PREFIX), n = strlen(uri);

    if (strncmp(uri, CATALOG_ID_PREFIX, prefix) != 0)
        return false;
    if (n > 0 && uri[n - 1] == '#')
        n--;
    snprintf(own, sizeof(own), "%s%s/%s.schema.json", CATALOG_ID_PREFIX,
             event_category_name(topic->category), topic->type);
    return strlen(own) != n || strncmp(own, uri, n) != 0;
}

/* Whether two valid RFC 3339 date-times name different instants. */
static bool instants_differ(const char *a, const char *b)
{
    int64_t sa, fa, sb, fb;

    if (rfc3339_split(a, strlen(a), &sa, &fa) < 0 || rfc3339_split(b, strlen(b), &sb, &fb) < 0)
        return false; /* not comparable: the invalid one is refused on its own */
    return sa != sb || fa != fb;
}

int cloudevent_read(const json_t *root, const struct topic *topic, struct cloudevent *out,
                    char *detail, size_t detail_size)
{
    const json_t *specversion = json_object_get(root, "specversion");
    const json_t *subject = json_object_get(root, "subject");
    const json_t *dct = json_object_get(root, "datacontenttype");
    const json_t *dataschema = json_object_get(root, "dataschema");
    const char *type, *data_time;

    out->data = json_object_get(root, "data");
    if (!json_is_string(specversion) || strcmp(json_string_value(specversion), "1.0") != 0) {
        snprintf(detail, detail_size, "specversion must be \"1.0\"");
        return REJECT_BAD_CLOUDEVENT;
    }
    if (!(out->id = json_string_member(root, "id", EVENT_ID_MAX - 1))) {
        snprintf(detail, detail_size, "id must be a non-empty string of at most 255 bytes");
        return REJECT_BAD_CLOUDEVENT;
    }
    if (!(out->source = json_string_member(root, "source", 255))) {
        snprintf(detail, detail_size, "source must be a non-empty string of at most 255 bytes");
        return REJECT_BAD_CLOUDEVENT;
    }
    if (!(type = json_string_member(root, "type", 255))) {
        snprintf(detail, detail_size, "type must be a non-empty string of at most 255 bytes");
        return REJECT_BAD_CLOUDEVENT;
    }
    if (!json_is_object(out->data)) {
        snprintf(detail, detail_size, "data must be a JSON object");
        return REJECT_BAD_CLOUDEVENT;
    }
    if (subject && !json_string_member(root, "subject", SIZE_MAX)) {
        snprintf(detail, detail_size, "subject must be a non-empty string");
        return REJECT_BAD_CLOUDEVENT;
    }
    if (dct && (!json_is_string(dct) || !media_type_is_json(json_string_value(dct)))) {
        snprintf(detail, detail_size,
                 "datacontenttype %.*s is not JSON; data is a JSON object, so it must be "
                 "application/json or a +json type",
                 QUOTED_MAX, json_is_string(dct) ? json_string_value(dct) : "(not a string)");
        return REJECT_BAD_CLOUDEVENT;
    }
    if (dataschema && !json_is_string(dataschema)) {
        snprintf(detail, detail_size, "dataschema must be a string (a URI)");
        return REJECT_BAD_CLOUDEVENT;
    }

    if (!type_fits(type, topic)) {
        snprintf(detail, detail_size,
                 "the topic says type %s, the CloudEvent says type \"%.*s\"", topic->event_type,
                 QUOTED_MAX, type);
        return REJECT_TYPE_MISMATCH;
    }
    if (dataschema && dataschema_contradicts(json_string_value(dataschema), topic)) {
        snprintf(detail, detail_size,
                 "the topic says type %s, the CloudEvent's dataschema is \"%.*s\"",
                 topic->event_type, QUOTED_MAX, json_string_value(dataschema));
        return REJECT_TYPE_MISMATCH;
    }
    if (subject && strcmp(json_string_value(subject), topic->subject) != 0) {
        snprintf(detail, detail_size,
                 "the topic says subject %s, the CloudEvent says subject \"%.*s\"",
                 topic->subject, QUOTED_MAX, json_string_value(subject));
        return REJECT_SUBJECT_MISMATCH;
    }

    data_time = json_string_member(out->data, "time", EVENT_TIME_MAX - 1);
    if (!json_object_get(root, "time")) {
        out->time = data_time;
        return 0;
    }
    out->time = json_string_member(root, "time", EVENT_TIME_MAX - 1);
    if (out->time && data_time && instants_differ(out->time, data_time)) {
        snprintf(detail, detail_size,
                 "the CloudEvent says time %s, its data says time %s: not the same instant",
                 out->time, data_time);
        return REJECT_TIME_MISMATCH;
    }
    return 0;
}
