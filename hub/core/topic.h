// SPDX-License-Identifier: MIT
/*
 * Inbound topics: <municipality>/<category>/<type>/<subject> (DESIGN.md, "Topics").
 * Parsing copies each level into bounded fields, so that the result outlives the
 * MQTT message it came from.
 */
#ifndef RHEINHUB_TOPIC_H
#define RHEINHUB_TOPIC_H

#include <stdbool.h>

#define EVENT_CATEGORY_MAP(X)                                                                      \
    X(SENSOR, "sensor")                                                                            \
    X(SERVICE, "service")                                                                          \
    X(CITIZEN, "citizen")

enum event_category {
#define X(name, text) EVENT_CATEGORY_##name,
    EVENT_CATEGORY_MAP(X)
#undef X
        EVENT_CATEGORY_COUNT
};

#define TOPIC_MUNICIPALITY_MAX 63
#define TOPIC_TYPE_MAX 63
#define TOPIC_SUBJECT_MAX 128
/* "<category>.<type>", e.g. "sensor.waterlevel". */
#define TOPIC_EVENT_TYPE_MAX (7 + 1 + TOPIC_TYPE_MAX)

struct topic {
    enum event_category category;
    char municipality[TOPIC_MUNICIPALITY_MAX + 1];
    char type[TOPIC_TYPE_MAX + 1];
    char subject[TOPIC_SUBJECT_MAX + 1];
    char event_type[TOPIC_EVENT_TYPE_MAX + 1];
};

/*
 * Parses an inbound topic into *out. Returns 0, or -EINVAL with *why set to a static
 * sentence naming the level that is wrong.
 */
int topic_parse(const char *topic, struct topic *out, const char **why);

const char *event_category_name(enum event_category category);

/*
 * Whether s is an MQTT topic filter a broker takes: not empty, '+' and '#' alone in
 * their level, '#' only in the last one. (libmosquitto refuses a SUBSCRIBE with any
 * other, every filter of it.)
 */
bool topic_filter_ok(const char *s);

#endif
