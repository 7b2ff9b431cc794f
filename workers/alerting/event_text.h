// SPDX-License-Identifier: MIT
/*
 * The texts of the last event a track (or its alert) keeps: the event's id, time and
 * type, each NUL-terminated and cut as the fixed fields before them were (EVENT_ID_MAX,
 * EVENT_TIME_MAX and TOPIC_EVENT_TYPE_MAX bytes). They are set on every event applied,
 * so they live in a small inline buffer when they fit (a UUID, an RFC 3339 time and a
 * usual type do), else in a heap buffer that only grows: setting them allocates only
 * when a track sees a longer event than it saw before.
 */
#ifndef RHEINHUB_ALERTING_EVENT_TEXT_H
#define RHEINHUB_ALERTING_EVENT_TEXT_H

#include <stdint.h>

#include "envelope.h"
#include "topic.h"

/* Bytes of the inline buffer: a 36-character id, a 32-character time, a 28-character
 * type and their three NULs. */
#define EVENT_TEXT_INLINE 100

struct event_text {
    const char *event_id;         /* "" before the first event */
    const char *event_time;
    const char *type;
    char *heap;                   /* owned: when the three do not fit inline; or NULL */
    uint32_t heap_size;           /* bytes */
    char inline_buf[EVENT_TEXT_INLINE];
};

/* Three empty texts. */
void event_text_init(struct event_text *x);

/*
 * Sets the three texts (copied; none may point into x). Returns 0, or -ENOMEM with x
 * unchanged.
 */
int event_text_set(struct event_text *x, const char *event_id, const char *event_time,
                   const char *type);

/* Frees the heap buffer, if any (x may be NULL); x is empty again. */
void event_text_close(struct event_text *x);

#endif
