// SPDX-License-Identifier: MIT
/*
 * Alerts at the size of their texts (alert_pack.h).
 */
#include "alert_pack.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Copies s with its NUL to *p, which moves past it; returns the copy. */
static const char *append(char **p, const char *s, size_t n)
{
    char *at = *p;

    memcpy(at, s, n + 1);
    *p += n + 1;
    return at;
}

struct alert_pack *alert_pack_new(const struct alert *a)
{
    const char *texts[] = {a->id, a->rule, a->municipality, a->subject, a->message, a->acked_by};
    size_t lens[sizeof(texts) / sizeof(texts[0])], total = 0;
    struct alert_pack *p;
    char *at;

    /* The fixed fields bound every text (alert.h): strnlen guards a missing NUL. */
    lens[0] = strnlen(a->id, sizeof(a->id) - 1);
    lens[1] = strnlen(a->rule, sizeof(a->rule) - 1);
    lens[2] = strnlen(a->municipality, sizeof(a->municipality) - 1);
    lens[3] = strnlen(a->subject, sizeof(a->subject) - 1);
    lens[4] = strnlen(a->message, sizeof(a->message) - 1);
    lens[5] = strnlen(a->acked_by, sizeof(a->acked_by) - 1);
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++)
        total += lens[i] + 1;
    if (!(p = malloc(sizeof(*p) + total))) {
        errno = ENOMEM;
        return NULL;
    }
    at = p->text;
    p->id = append(&at, texts[0], lens[0]);
    p->rule = append(&at, texts[1], lens[1]);
    p->municipality = append(&at, texts[2], lens[2]);
    p->subject = append(&at, texts[3], lens[3]);
    p->message = append(&at, texts[4], lens[4]);
    p->acked_by = append(&at, texts[5], lens[5]);
    p->severity = a->severity;
    p->state = a->state;
    p->raised_ns = a->raised_ns;
    p->updated_ns = a->updated_ns;
    p->cleared_ns = a->cleared_ns;
    event_text_init(&p->ev);
    value_kept_init(&p->value);
    value_kept_init(&p->threshold);
    if (event_text_set(&p->ev, a->event_id, a->event_time, a->type) < 0 ||
        value_keep(&p->value, &a->value) < 0 || value_keep(&p->threshold, &a->threshold) < 0) {
        alert_pack_free(p);
        errno = ENOMEM;
        return NULL;
    }
    return p;
}

void alert_pack_free(struct alert_pack *p)
{
    if (!p)
        return;
    event_text_close(&p->ev);
    value_kept_close(&p->value);
    value_kept_close(&p->threshold);
    free(p);
}

/* Copies s (at most size - 1 bytes, which the pack's texts never exceed) into dst. */
static void copy(char *dst, size_t size, const char *s)
{
    size_t n = strnlen(s, size - 1);

    memcpy(dst, s, n);
    dst[n] = '\0';
}

void alert_pack_unpack(const struct alert_pack *p, struct alert *out)
{
    copy(out->id, sizeof(out->id), p->id);
    copy(out->rule, sizeof(out->rule), p->rule);
    out->severity = p->severity;
    out->state = p->state;
    copy(out->municipality, sizeof(out->municipality), p->municipality);
    copy(out->type, sizeof(out->type), p->ev.type);
    copy(out->subject, sizeof(out->subject), p->subject);
    value_kept_get(&p->value, &out->value);
    value_kept_get(&p->threshold, &out->threshold);
    copy(out->message, sizeof(out->message), p->message);
    copy(out->event_id, sizeof(out->event_id), p->ev.event_id);
    copy(out->event_time, sizeof(out->event_time), p->ev.event_time);
    out->raised_ns = p->raised_ns;
    out->updated_ns = p->updated_ns;
    out->cleared_ns = p->cleared_ns;
    copy(out->acked_by, sizeof(out->acked_by), p->acked_by);
}
