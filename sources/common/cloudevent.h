// SPDX-License-Identifier: MIT
/*
 * The text a source publishes for one event: a CloudEvents 1.0 structured JSON event,
 * compact, its members in one order (specversion, id, source, type, subject, time,
 * datacontenttype, data), byte for byte what jansson's json_dumps makes of the object
 * cloudevent_new builds (JSON_COMPACT | JSON_PRESERVE_ORDER).
 */
#ifndef RHEINHUB_CLOUDEVENT_H
#define RHEINHUB_CLOUDEVENT_H

#include <stddef.h>

#include <jansson.h>

#include "source.h"

/* Bytes of the source member; a longer source is cut there, at a whole character. */
#define CLOUDEVENT_SOURCE_MAX 255
#define CLOUDEVENT_DUMP_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER)

/* The event as a JSON object (a new reference; data is shared), or NULL when a string
 * is not valid UTF-8 or memory is short. */
json_t *cloudevent_new(const struct source_event *ev);

/*
 * Writes the event's text into buf[size] (no NUL). Returns its length; a length above
 * size means buf was too small and holds nothing usable; 0 when a string is not valid
 * UTF-8 or memory is short. The members that cannot need escaping (id, type, subject
 * and time of printable ASCII without quote or backslash, the constants) are copied;
 * source and data are encoded by jansson, and an event with any other member is
 * encoded whole by jansson.
 */
size_t cloudevent_format(const struct source_event *ev, char *buf, size_t size);

#endif
