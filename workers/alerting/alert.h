// SPDX-License-Identifier: MIT
/*
 * One alert (DESIGN.md, "Alert JSON"; schemas/alert.schema.json): its fields, its JSON
 * as published on <m>/alerts/<rule>/<subject>, its id, and the envelope of one state
 * change as written to the stream <prefix>events:rheinhub.alert, where the storage
 * worker keeps the history.
 */
#ifndef RHEINHUB_ALERTING_ALERT_H
#define RHEINHUB_ALERTING_ALERT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <msgpack.h>

#include "envelope.h"
#include "rules.h"
#include "template.h"
#include "topic.h"
#include "value.h"

#define ALERT_STATE_MAP(X)                                                                         \
    X(ACTIVE, "active")                                                                            \
    X(ACKNOWLEDGED, "acknowledged")                                                                \
    X(CLEARED, "cleared")

enum alert_state {
#define X(name, text) ALERT_##name,
    ALERT_STATE_MAP(X)
#undef X
        ALERT_STATE_COUNT
};

#define ALERT_ID_MAX 129            /* the schema's 128 characters and a NUL */
#define ALERT_BY_CHARS 128          /* acked_by, in characters */
#define ALERT_BY_MAX (4 * ALERT_BY_CHARS + 1)
#define ALERT_CHANGE_ID_HEX 32      /* envelope id of one state change: 128-bit hash, hex */
#define ALERT_TOPIC_MAX 384
#define ALERT_SOURCE "rheinhub-alerting"
#define ALERT_EVENT_TYPE "rheinhub.alert"
#define ALERT_CATEGORY "alert"

struct alert {
    char id[ALERT_ID_MAX];
    char rule[RULE_NAME_MAX];
    enum severity severity;
    enum alert_state state;
    char municipality[TOPIC_MUNICIPALITY_MAX + 1];
    char type[TOPIC_EVENT_TYPE_MAX + 1];
    char subject[TOPIC_SUBJECT_MAX + 1];
    struct value value;
    struct value threshold;
    char message[TEMPLATE_MESSAGE_MAX];
    char event_id[EVENT_ID_MAX + 1];
    char event_time[EVENT_TIME_MAX + 1];
    int64_t raised_ns;              /* worker clock, ns since the epoch */
    int64_t updated_ns;
    int64_t cleared_ns;             /* 0: not cleared (null) */
    char acked_by[ALERT_BY_MAX];    /* "": not acknowledged (null) */
};

const char *alert_state_name(enum alert_state s);

/*
 * Sets a->id from municipality, rule, subject and raised_ns:
 * "<municipality>:<rule>:<subject>:<raised, ms since the epoch>", or with the subject
 * replaced by a 64-bit hash (hex) when that would exceed 128 characters.
 */
void alert_make_id(struct alert *a);

/* Whether the n bytes at s are an alert's id as schemas/alert.schema.json has it:
 * [A-Za-z0-9._:-]{1,128} (an acknowledgement names the alert it is meant for). */
bool alert_id_valid(const char *s, size_t n);

/* "<municipality>/alerts/<rule>/<subject>". */
void alert_topic(const struct alert *a, char out[ALERT_TOPIC_MAX]);

/* The alert as a new JSON object, fields in the schema's order; NULL without memory. */
json_t *alert_to_json(const struct alert *a);

/* The alert as compact JSON text (malloc'd, the caller frees), or NULL without memory. */
char *alert_dumps(const struct alert *a, size_t *len);

/*
 * Reads an alert back from its JSON (as alert_to_json wrote it). Returns 0, or -EINVAL
 * with the reason in why.
 */
int alert_from_json(const json_t *j, struct alert *a, char *why, size_t why_size);

/*
 * The envelope id of one state change of an alert: a 128-bit XXH3 hash of the alert id
 * and the change's sequence number, as 32 lower-case hex digits. The same change
 * written twice (after a crash) has the same id, so storage keeps it once.
 */
void alert_change_id(const char *alert_id, uint64_t seq, char out[ALERT_CHANGE_ID_HEX + 1]);

/*
 * Appends the msgpack envelope of one state change to buf: specversion 1.0, id (the
 * change id, also written to change_id), source "rheinhub-alerting", type
 * "rheinhub.alert", subject "<rule>/<subject>", time = updated_at, municipality,
 * category "alert", receivedtime = now_ns, data = the alert JSON.
 * Returns 0, or -ENOMEM.
 */
int alert_envelope(const struct alert *a, uint64_t seq, int64_t now_ns, msgpack_sbuffer *buf,
                   char change_id[ALERT_CHANGE_ID_HEX + 1]);

#endif
