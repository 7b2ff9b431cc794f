// SPDX-License-Identifier: MIT
/*
 * The texts of a track's last event (event_text.h): inline when they fit, else in a
 * heap buffer that only grows.
 */
#include "event_text.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void event_text_init(struct event_text *x)
{
    x->heap = NULL;
    x->heap_size = 0;
    x->inline_buf[0] = '\0';
    x->event_id = x->event_time = x->type = x->inline_buf;
}

/* strlen(s), at most max. */
static size_t cut(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);

    return n > max ? max : n;
}

/* Copies n bytes of s and a NUL to p; returns the text. */
static const char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

int event_text_set(struct event_text *x, const char *event_id, const char *event_time,
                   const char *type)
{
    size_t ni = cut(event_id, EVENT_ID_MAX), nt = cut(event_time, EVENT_TIME_MAX),
           ny = cut(type, TOPIC_EVENT_TYPE_MAX), need = ni + nt + ny + 3;
    char *p = x->inline_buf;

    if (need > sizeof(x->inline_buf)) {
        if (need > x->heap_size) {
            char *h = malloc(need);
            if (!h)
                return -ENOMEM;
            free(x->heap);
            x->heap = h;
            x->heap_size = (uint32_t)need;
        }
        p = x->heap;
    }
    x->event_id = put(p, event_id, ni);
    x->event_time = put(p + ni + 1, event_time, nt);
    x->type = put(p + ni + nt + 2, type, ny);
    return 0;
}

void event_text_close(struct event_text *x)
{
    if (!x)
        return;
    free(x->heap);
    event_text_init(x);
}
