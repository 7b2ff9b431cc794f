// SPDX-License-Identifier: MIT
/*
 * Message templates of the alert rules: text with {field} placeholders, e.g.
 * "{subject}: water level {value} cm ≥ {threshold} cm". "{{" and "}}" stand for literal
 * braces. The fields are listed in TEMPLATE_FIELD_MAP, plus {data.<path>} for any
 * scalar of the triggering event's data (empty when it is missing).
 */
#ifndef RHEINHUB_ALERTING_TEMPLATE_H
#define RHEINHUB_ALERTING_TEMPLATE_H

#include <stddef.h>

#include <msgpack.h>

#include "value.h"

/* Longest rendered message: the alert schema's maxLength, in characters. */
#define TEMPLATE_MESSAGE_CHARS 1000
/* Its size in bytes with the NUL (up to four bytes per character). */
#define TEMPLATE_MESSAGE_MAX (4 * TEMPLATE_MESSAGE_CHARS + 1)

#define TEMPLATE_FIELD_MAP(X)                                                                      \
    X(RULE, "rule")                                                                                \
    X(MUNICIPALITY, "municipality")                                                                \
    X(TYPE, "type")                                                                                \
    X(SUBJECT, "subject")                                                                          \
    X(FIELD, "field")                                                                              \
    X(VALUE, "value")                                                                              \
    X(THRESHOLD, "threshold")                                                                      \
    X(SEVERITY, "severity")                                                                        \
    X(DURATION, "duration")                                                                        \
    X(EVENT_ID, "event_id")                                                                        \
    X(EVENT_TIME, "event_time")

enum template_field {
#define X(name, text) TEMPLATE_FIELD_##name,
    TEMPLATE_FIELD_MAP(X)
#undef X
        TEMPLATE_FIELD_COUNT
};

/* What a template is rendered with. Strings may be NULL (rendered empty). */
struct template_values {
    const char *text[TEMPLATE_FIELD_COUNT]; /* by enum template_field; VALUE, THRESHOLD unused */
    const struct value *value;
    const struct value *threshold;
    const msgpack_object *data;             /* the event's data map, or NULL */
};

/*
 * Checks a template: balanced braces and known fields. Returns 0, or -EINVAL with a
 * sentence in why.
 */
int template_check(const char *tmpl, char *why, size_t why_size);

/*
 * Renders tmpl (checked) into out (TEMPLATE_MESSAGE_MAX bytes), cut at
 * TEMPLATE_MESSAGE_CHARS characters on a character boundary.
 */
void template_render(const char *tmpl, const struct template_values *v,
                     char out[TEMPLATE_MESSAGE_MAX]);

#endif
