// SPDX-License-Identifier: MIT
/* The events our broker has not taken yet, oldest first (outbox.h). */
#include "outbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define OUTBOX_FIRST_CAP 64u

void outbox_init(struct outbox *o)
{
    memset(o, 0, sizeof(*o));
}

void outbox_close(struct outbox *o)
{
    for (size_t i = 0; i < o->count; i++)
        free(outbox_at(o, i)->topic);
    free(o->slots);
    memset(o, 0, sizeof(*o));
}

struct outbox_entry *outbox_at(struct outbox *o, size_t i)
{
    return &o->slots[(o->head + i) & (o->cap - 1)];
}

/* Doubles the ring, moving the entries to the front in order. */
static int grow(struct outbox *o)
{
    size_t cap = o->cap ? o->cap * 2 : OUTBOX_FIRST_CAP;
    struct outbox_entry *slots = malloc(cap * sizeof(*slots));

    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < o->count; i++)
        slots[i] = *outbox_at(o, i);
    free(o->slots);
    o->slots = slots;
    o->cap = cap;
    o->head = 0;
    return 0;
}

long outbox_add(struct outbox *o, const char *topic, const char *payload, size_t len)
{
    size_t tlen = strlen(topic);
    struct outbox_entry *e;
    char *copy;
    int r;

    if (o->count >= OUTBOX_MAX)
        return -ENOBUFS;
    if (o->count == o->cap && (r = grow(o)) < 0)
        return r;
    if (!(copy = malloc(tlen + 1 + len + 1)))
        return -ENOMEM;
    memcpy(copy, topic, tlen + 1);
    memcpy(copy + tlen + 1, payload, len);
    copy[tlen + 1 + len] = '\0';
    e = outbox_at(o, o->count);
    *e = (struct outbox_entry){.topic = copy, .payload = copy + tlen + 1, .len = len,
                               .state = OUTBOX_SENT};
    return (long)o->count++;
}

void outbox_drop_newest(struct outbox *o)
{
    struct outbox_entry *e = outbox_at(o, o->count - 1);

    if (e->state == OUTBOX_REFUSED)
        o->refused--;
    free(e->topic);
    o->count--;
}

long outbox_find_sent(const struct outbox *o, int mid)
{
    /* PUBACKs come in the order of the sends, so the match is near the oldest. */
    for (size_t i = 0; i < o->count; i++) {
        const struct outbox_entry *e = &o->slots[(o->head + i) & (o->cap - 1)];
        if (e->state == OUTBOX_SENT && e->mid == mid)
            return (long)i;
    }
    return -1;
}

void outbox_refuse(struct outbox *o, size_t i)
{
    struct outbox_entry *e = outbox_at(o, i);

    if (e->state != OUTBOX_REFUSED)
        o->refused++;
    e->state = OUTBOX_REFUSED;
    e->was_refused = true;
    e->mid = 0;
}

void outbox_resent(struct outbox *o, size_t i, int mid)
{
    struct outbox_entry *e = outbox_at(o, i);

    if (e->state == OUTBOX_REFUSED)
        o->refused--;
    e->state = OUTBOX_SENT;
    e->mid = mid;
}

void outbox_take(struct outbox *o, size_t i)
{
    struct outbox_entry *e = outbox_at(o, i);

    if (e->state == OUTBOX_REFUSED)
        o->refused--;
    free(e->topic);
    e->topic = NULL;
    e->state = OUTBOX_DONE;
    while (o->count > 0 && outbox_at(o, 0)->state == OUTBOX_DONE) {
        o->head = (o->head + 1) & (o->cap - 1);
        o->count--;
    }
}
