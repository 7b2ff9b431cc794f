// SPDX-License-Identifier: MIT
/*
 * CloudEvents 1.0 structured JSON events (a payload with "specversion"): reading
 * their attributes and refusing an event that says two different things about
 * itself, once in its topic and once in an attribute (schemas/envelope.md,
 * "CloudEvents").
 */
#ifndef RHEINHUB_CLOUDEVENT_H
#define RHEINHUB_CLOUDEVENT_H

#include <stddef.h>

#include <jansson.h>

#include "topic.h"

/* The attributes the envelope keeps; strings borrowed from the JSON they came from. */
struct cloudevent {
    const char *id;
    const char *source;
    /* The event's time: the "time" attribute when there is one, else data's "time"
     * member; NULL when the one that counts is not a string of 1..63 bytes. */
    const char *time;
    const json_t *data; /* a JSON object */
};

/*
 * Reads the structured CloudEvent root (a JSON object with "specversion"), published
 * on topic, into *out. Returns 0, or a reject reason (enum reject_reason:
 * REJECT_BAD_CLOUDEVENT, REJECT_TYPE_MISMATCH, REJECT_SUBJECT_MISMATCH,
 * REJECT_TIME_MISMATCH) with a sentence naming the attribute and both values written
 * to detail (detail_size bytes).
 */
int cloudevent_read(const json_t *root, const struct topic *topic, struct cloudevent *out,
                    char *detail, size_t detail_size);

#endif
